"""What the web page and the HTTP API share, free of any UI: where the weights are and how to
label them, loading either kind of model, reading an uploaded photo, colorizing (or, with paired
weights, translating) it with timing, PNG and zip files; the page's short films (colorize_film).

`colorizer/page/` (streamlit_app.py) only lays these out; `colorizer.serving.api` serves them over HTTP.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from PIL import Image

from .averaged import STAGE as AVERAGED_STAGE
from .card import WeightsCard
from .checkpoint import PAIRED, WeightsError, ranked_weights, read_meta
from .images import PhotoError, PhotoTooLarge, is_grayscale, open_photo
from .infer import WEIGHTS_ENV, gray_baseline, resolve_weights, weights_folder
from .limits import (DEFAULT_TEMPORAL, MAX_PAGE_VIDEO_BYTES, MAX_PAGE_VIDEO_PIXELS, MAX_PAGE_VIDEO_SECONDS, MAX_PIXELS,
                     MAX_RENDER_SIZE, MAX_UPLOAD_BYTES, MIN_RENDER_SIZE, VIDEO_EXTENSIONS, result_name,
                     video_result_name)
from .paired.translate import is_paired, load_model
from .paired.translate import result_name as translated_name

RENDER_SIZES = (128, 192, 256, 384, 512)
PREVIEW_SIDE = 1600  # long side of the images shown on the page (downloads keep full size)
GRAYED_NOTE = "already in color: turned gray first"
STAGE_NAMES = {"pretrain": "stage 1 · L1 only", "gan": "stage 2 · GAN",
               AVERAGED_STAGE: "colorizer · {n} networks together"}
CLASSES_STAGE_NAMES = {"pretrain": "stage 1 · classes", "gan": "stage 2 · GAN · classes"}  # head "classes"
PAIRED_STAGE_NAMES = {"pretrain": "paired · L1 only", "gan": "paired · pix2pix GAN"}  # task "paired"
# Page and API: torch, bf16 where the device has it. They load once, so the command line's reason for
# onnxruntime (no 5-6 s fastai import at each start) does not hold, and per photo torch with bf16
# weights is faster on this CPU (45 against 82 ms at render 128; README, Speed).
BACKEND = "torch"


# ---- weights ------------------------------------------------------------------------------

def folder_signature(folder: str | Path) -> tuple:
    """(name, size, mtime) of every *.pt in folder, and of $COLORIZER_WEIGHTS when set: changes
    whenever a weights file the page may use does."""
    out = []
    files = sorted(Path(folder).glob("*.pt"))
    if os.environ.get(WEIGHTS_ENV):
        files.append(Path(os.environ[WEIGHTS_ENV]))
    for p in files:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _count(n) -> str:
    n = int(n)
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return str(n)


def describe_weights(path: str | Path, meta: dict) -> str:
    """One line naming a weights file by what its card says it is, e.g.
    'stage 2 · GAN — resnet18, 256 px, 120k photos seen, epoch 20, 2025-01-31 (generator_gan.pt)';
    weights that predict ab bins say so: 'stage 1 · classes — ...'; paired translation weights name
    their generator and direction: 'paired · pix2pix GAN — unet 32 filters, AtoB, 128 px, ...'."""
    card, epoch = WeightsCard.from_meta(meta, path), meta.get("epoch")  # the epoch training kept (not on the card)
    parts = []
    if card.task == PAIRED:
        unet = meta.get("generator") == "unet"  # its body is "unet N filters"; the ResNet U-Net's, its ResNet's
        parts += [str(card.body) if unet else f"resnet-unet {card.body}", str(card.direction)]
    elif card.body:
        parts.append(str(card.body))
    if card.size:
        parts.append(f"{card.size} px")
    if card.images_seen:
        parts.append(f"{_count(card.images_seen)} photos seen")
    if epoch is not None:
        parts.append(f"epoch {epoch}")
    if card.date:
        parts.append(str(card.date).split(" ")[0])
    stage = card.stage
    if card.task == PAIRED:
        head = PAIRED_STAGE_NAMES.get(stage, f"paired · {stage}")
    else:
        head = STAGE_NAMES.get(stage, f"other ({stage})" if stage else "other").format(n=len(card.members))
        if card.head == "classes":
            head = CLASSES_STAGE_NAMES.get(stage, f"{head} · classes")
    return f"{head} — {', '.join(parts)} ({card.name})" if parts else f"{head} ({card.name})"


@dataclass(eq=False)
class WeightsInfo:
    path: Path
    meta: dict
    label: str

    @property
    def card(self) -> WeightsCard:
        """What the file is (card.py), from the metadata already read."""
        return WeightsCard.from_meta(self.meta, self.path)


def list_weights(folder: str | Path) -> list[WeightsInfo]:
    """Usable weights in folder, best first (checkpoint.ranked_weights: colorizers, then paired
    translation weights), each with its label. Files that are not weights of ours are left out."""
    return [WeightsInfo(p, meta, describe_weights(p, meta)) for p, meta in ranked_weights(folder)]


def weights_choices(weights_dir: str | Path | None = None) -> list[WeightsInfo]:
    """What the page offers: the file registry.resolve picks (as the CLI and the API would)
    first, then the other usable weights in the folder, best first. [] when there are none;
    WeightsError when $COLORIZER_WEIGHTS names a file that is missing or not weights."""
    listed = list_weights(weights_folder(weights_dir))
    try:
        chosen = resolve_weights(None, weights_dir, ranked=[w.path for w in listed])
    except WeightsError:
        if os.environ.get(WEIGHTS_ENV) or listed:  # a file named by hand, or a manifest naming a missing one
            raise
        return []  # no weights at all: the page says what to run
    first = [w for w in listed if w.path.resolve() == chosen.resolve()]
    if not first:
        meta = read_meta(chosen)
        first = [WeightsInfo(chosen, meta, describe_weights(chosen, meta))]
    default = WeightsInfo(first[0].path, first[0].meta, f"default · {first[0].label}")
    return [default] + [w for w in listed if w is not first[0]]


def load(path: str | Path, device: str = "auto", weights_dir: str | Path | None = None):
    """The model the page and the API run: a Colorizer (torch, BACKEND) or, for paired weights, a
    translate.Translator (torch), as the weights' metadata says."""
    return load_model(path, device=device, weights_dir=weights_dir, backend=BACKEND)


def render_size_options(meta: dict | None = None) -> list[int]:
    """Render sizes offered: the usual ones plus the size the weights were trained at."""
    sizes = set(RENDER_SIZES)
    trained = (meta or {}).get("size")
    if isinstance(trained, int) and MIN_RENDER_SIZE <= trained <= MAX_RENDER_SIZE:
        sizes.add(trained)
    return sorted(sizes)


def render_size_label(size: int, meta: dict | None = None) -> str:
    options = render_size_options(meta)
    note = ""
    if size == (meta or {}).get("size"):
        note = " (trained size)"
    elif size == options[0]:
        note = " (fastest)"
    elif size == options[-1]:
        note = " (slowest, most detail)"
    return f"{size} px{note}"


# ---- photos -------------------------------------------------------------------------------

def safe_name(name: str | None, default: str = "photo") -> str:
    """A plain file name from whatever a browser or client sent (no folders, no odd characters)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .") or default
    return base[:120]


def read_photo(data: bytes, name: str, max_pixels: int = MAX_PIXELS,
               max_bytes: int = MAX_UPLOAD_BYTES) -> Image.Image:
    """Uploaded bytes -> RGB PIL image; PhotoTooLarge above the caps (open_photo reads the pixel
    count from the header, before decoding), PhotoError when unreadable."""
    if not data:
        raise PhotoError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise PhotoTooLarge(f"{name}: {len(data) / 2**20:.0f} MB is above the {max_bytes / 2**20:.0f} MB upload limit")
    return open_photo(data, max_pixels=max_pixels, name=name)


def png_bytes(image: Image.Image, compress_level: int = 3) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def result_filename(name: str) -> str:
    """'old photo.jpg' -> 'old photo_color.png' (limits.result_name, on a safe name)."""
    return result_name(safe_name(name))


def preview(image: Image.Image, max_side: int = PREVIEW_SIDE) -> Image.Image:
    """A copy no longer than max_side on its long side, same aspect ratio (for showing only)."""
    if max(image.size) <= max_side:
        return image
    small = image.copy()
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return small


@dataclass(eq=False)
class PhotoResult:
    """One colorized (or translated) photo: what the model was given, what it made, and how long it took."""

    name: str
    gray: Image.Image  # the input as the model saw it (color photos turned gray for a colorizer)
    output: Image.Image
    seconds: float
    was_color: bool
    render_size: int
    _png: bytes | None = field(default=None, repr=False)
    paired: bool = False  # made by paired translation weights (translate.Translator)

    @property
    def width(self) -> int:
        return self.output.width

    @property
    def height(self) -> int:
        return self.output.height

    @property
    def png(self) -> bytes:
        if self._png is None:
            self._png = png_bytes(self.output)
        return self._png

    @property
    def filename(self) -> str:
        return translated_name(safe_name(self.name)) if self.paired else result_filename(self.name)

    def summary(self) -> str:
        """'1024×768 px · 0.42 s · render size 256'."""
        return f"{self.width}×{self.height} px · {self.seconds:.2f} s · render size {self.render_size}"


def colorize_photo(model, data: bytes, name: str, render_size: int | None = None, saturation: float = 1.0,
                   max_pixels: int = MAX_PIXELS, hints=None) -> PhotoResult:
    """Uploaded bytes -> PhotoResult (timed: colorization only). Raises PhotoError / PhotoTooLarge;
    hints (hints.UserHint list, hints weights only): hints.HintError when one lies off the photo."""
    image = read_photo(data, name, max_pixels=max_pixels)
    was_color = not is_grayscale(image)
    gray = gray_baseline(image) if was_color else image
    t0 = time.perf_counter()
    out = model.colorize(gray, render_size=render_size, saturation=saturation, hints=hints)
    seconds = time.perf_counter() - t0
    return PhotoResult(name=name, gray=gray, output=out, seconds=seconds, was_color=was_color,
                       render_size=int(render_size or model.render_size))


def translate_photo(model, data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> PhotoResult:
    """Uploaded bytes -> PhotoResult of a translate.Translator (timed: the translation only), the input
    as uploaded beside its output, same size. Raises PhotoError / PhotoTooLarge."""
    image = read_photo(data, name, max_pixels=max_pixels)
    t0 = time.perf_counter()
    out = model.translate(image)
    seconds = time.perf_counter() - t0
    return PhotoResult(name=name, gray=image, output=out, seconds=seconds, was_color=False,
                       render_size=model.render_size, paired=True)


def process_photo(model, data: bytes, name: str, render_size: int | None = None, saturation: float = 1.0,
                  max_pixels: int = MAX_PIXELS, hints=None) -> PhotoResult:
    """What one upload gets from whichever model runs: colorize_photo, or translate_photo for paired
    weights (render_size and saturation are the colorizer's; the translator runs at its trained size)."""
    if is_paired(model):
        return translate_photo(model, data, name, max_pixels=max_pixels)
    return colorize_photo(model, data, name, render_size, saturation, max_pixels=max_pixels, hints=hints)


# ---- films -------------------------------------------------------------------------------

def is_video_name(name: str) -> bool:
    """An upload colorized as a film (limits.VIDEO_EXTENSIONS), by its name."""
    return Path(safe_name(name)).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(eq=False)
class FilmResult:
    """One colorized short film from the page: its MP4 (H.264, the sound kept) and what was done."""

    name: str
    data: bytes
    width: int
    height: int
    frames: int
    rate: float
    seconds: float
    audio: list[str]
    render_size: int

    @property
    def filename(self) -> str:
        return video_result_name(safe_name(self.name))

    def summary(self) -> str:
        """'640×480 px · 75 frames at 25 fps · 9.1 s (8.2 frames/s) · sound kept · render size 128'."""
        sound = "sound kept" if self.audio else "no sound"
        fps = self.frames / self.seconds if self.seconds else 0.0
        return (f"{self.width}×{self.height} px · {self.frames} frames at {self.rate:g} fps · {self.seconds:.1f} s "
                f"({fps:.1f} frames/s) · {sound} · render size {self.render_size}")


def colorize_film(model, data: bytes, name: str, render_size: int | None = None, saturation: float = 1.0,
                  temporal: float = DEFAULT_TEMPORAL, progress=None, max_seconds: float = MAX_PAGE_VIDEO_SECONDS,
                  max_bytes: int = MAX_PAGE_VIDEO_BYTES, max_pixels: int = MAX_PAGE_VIDEO_PIXELS) -> FilmResult:
    """An uploaded short film -> FilmResult (an MP4, the frame rate, size and sound kept; colors smoothed
    over time at temporal). progress(done, total) after each frame. Raises video.VideoError, naming the
    upload, when it is not a video, has no video stream, cannot be decoded, or is above the page's caps
    (limits.py: length, file size, frame size); paired translation weights do not take films."""
    from .video import VideoError, colorize_video, probe

    if is_paired(model):
        raise VideoError(f"{name}: films are colorized with colorizer weights; these translate images")
    if not data:
        raise VideoError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise VideoError(f"{name}: {len(data) / 2**20:.0f} MB is above the {max_bytes / 2**20:.0f} MB limit for films")
    safe = safe_name(name, default="film.mp4")
    with tempfile.TemporaryDirectory(prefix="colorizer-film-") as folder:
        src, dest = Path(folder) / safe, Path(folder) / "result.mp4"
        src.write_bytes(data)
        try:
            info = probe(src, max_pixels=max_pixels)
        except VideoError as err:
            raise VideoError(str(err).replace(str(src), name, 1)) from None
        if info.duration and info.duration > max_seconds:
            raise VideoError(f"{name}: {info.duration:.1f} s is above the {max_seconds:g} s limit for films on "
                             f"this page (the command line takes any length)")
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], info.frames or done[0])

        try:
            result = colorize_video(model, src, dest, temporal=temporal, saturation=saturation, progress=step,
                                    render_size=render_size)
        except VideoError as err:
            raise VideoError(str(err).replace(str(src), name).replace(str(dest), "the result")) from None
        return FilmResult(name, dest.read_bytes(), info.width, info.height, result.frames, float(result.rate),
                          result.seconds, result.audio, int(render_size or model.render_size))


def unique_names(names: Iterable[str]) -> list[str]:
    """Make file names distinct for a zip: 'a.png', 'a.png' -> 'a.png', 'a (2).png'."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        key = n.lower()
        if key in seen:
            seen[key] += 1
            stem, suffix = Path(n).stem, Path(n).suffix
            n = f"{stem} ({seen[key]}){suffix}"
            while n.lower() in seen:
                seen[key] += 1
                n = f"{stem} ({seen[key]}){suffix}"
            seen[n.lower()] = 1
        else:
            seen[key] = 1
        out.append(n)
    return out


def build_zip(files: Iterable[tuple[str, bytes]]) -> bytes:
    """(file name, data) pairs -> zip bytes; names made unique, PNGs stored (already compressed)."""
    files = list(files)
    names = unique_names(n for n, _ in files)
    stamp = datetime.now(timezone.utc).timetuple()[:6]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, (_, data) in zip(names, files):
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
    return buf.getvalue()


def zip_results(results: Iterable[PhotoResult]) -> bytes:
    return build_zip((r.filename, r.png) for r in results)
