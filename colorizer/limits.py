"""The serving rules in one place: what photos are accepted, how large, at what render sizes,
and what the results are called. The CLI, the page, the API and training read them from here.
"""
from __future__ import annotations

from pathlib import Path

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")  # every Pillow reads these
# Read when this installation has the plugin (images.PLUGIN_FORMATS says which; else a clear error).
PLUGIN_EXTENSIONS = (".gif", ".avif", ".heic", ".heif")
UPLOAD_TYPES = tuple(ext.lstrip(".") for ext in PHOTO_EXTENSIONS + PLUGIN_EXTENSIONS)  # the page's uploader

# Refuse photos above 50 megapixels, from the header, before decoding. This stays below Pillow's
# own guard (Image.MAX_IMAGE_PIXELS, about 89 MP by default), which is left as it is.
MAX_PIXELS = 50_000_000
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # a 50 MP uncompressed 16-bit TIFF stays below this

MIN_RENDER_SIZE, MAX_RENDER_SIZE = 32, 1024  # short side the colors are predicted at
DEFAULT_RENDER_SIZE = 256  # when the weights do not say what size they were trained at

# Color strength: stage-2 (GAN) weights blended with the stage-1 weights they started from,
# (1 - s) * stage 1 + s * stage 2, parameter by parameter (infer.blend_states). 1 is stage 2 as
# trained, 0 is stage 1. The default applies to weights that have a stage-1 partner; weights
# without one are used as they are. 0.3, chosen on val/ with the shipped pair (README, Evaluation):
# the strongest tried that keeps false color within the bars (cbsd68 4.6% <= 5%, intel 2.6% <= 3%)
# and stays above the gray photo (+0.64 / +2.31 dB); 1 painted red-magenta blotches (11.1% false
# color on cbsd68, under gray there).
MIN_COLOR_STRENGTH, MAX_COLOR_STRENGTH = 0.0, 1.0
DEFAULT_COLOR_STRENGTH = 0.3

# Temperature of the annealed mean for weights with a classes head (color_classes.py): lower is
# more vivid (towards the most likely color), 1 is the plain mean. Default: the weights' own.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 10.0

ACCEPTED = f"jpg, png, webp, bmp, tiff, gif, avif or heic, up to {MAX_PIXELS / 1e6:.0f} megapixels"  # for people

RESULT_SUFFIX = "_color.png"  # 'old photo.jpg' -> 'old photo_color.png' (CLI, page and API)


def result_name(name: str | Path) -> str:
    """The file name a colorized photo is saved under: 'old.jpg' -> 'old_color.png'."""
    return f"{Path(name).stem}{RESULT_SUFFIX}"


# ---- color hints (hints.py): a person's known colors, for weights trained with --task hints -----
MAX_HINTS = 200  # per photo (CLI, page and API)


# ---- films (colorizer/video/) -----------------------------------------------------------------
# Video files colorized frame by frame, by suffix -> the FFmpeg container they are written as.
VIDEO_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
                    ".webm": "webm"}
VIDEO_EXTENSIONS = tuple(VIDEO_CONTAINERS)
DEFAULT_VIDEO_CODEC = "h264"  # libx264 at CRF 18 (video/io.py CRF_DEFAULTS); webm outputs: VP9
VIDEO_RESULT_SUFFIX = "_color.mp4"  # a folder's 'reel.avi' -> 'reel_color.mp4' (H.264 plays anywhere)
# Temporal smoothing of the predicted chroma (video/temporal.py): the weight of the past in a moving
# average of ab at render size, lowered where lightness changed, reset at scene cuts. 0 is per-frame.
# 0.8: chosen on clips made from val/ photos (docs/video.md): flicker cut to about a third, PSNR no
# lower than per-frame (0.9 cuts more, with a memory of ~10 frames; 0.6 only just halves it).
MIN_TEMPORAL, MAX_TEMPORAL = 0.0, 0.95
DEFAULT_TEMPORAL = 0.8
# The page's short films: length, file size and frame size caps (the command line has only MAX_PIXELS).
MAX_PAGE_VIDEO_SECONDS = 30
MAX_PAGE_VIDEO_BYTES = 100 * 1024 * 1024
MAX_PAGE_VIDEO_PIXELS = 1920 * 1080
VIDEO_UPLOAD_TYPES = tuple(ext.lstrip(".") for ext in VIDEO_EXTENSIONS)  # the page's uploader
ACCEPTED_VIDEO = (f"mp4, mov, mkv, avi or webm, up to {MAX_PAGE_VIDEO_SECONDS} s, "
                  f"{MAX_PAGE_VIDEO_BYTES // 2**20} MB and 1920x1080")


def video_result_name(name: str | Path) -> str:
    """The file name a colorized video is saved under in a folder: 'reel.avi' -> 'reel_color.mp4'."""
    return f"{Path(name).stem}{VIDEO_RESULT_SUFFIX}"
