"""Opening user photos safely: formats, EXIF orientation, modes, size caps, clear errors.

For colorizing, what a photo holds beyond its RGB pixels is kept, so a front end can carry it
over or say it was left out (`read_photo`, `Photo`):

    photo = read_photo("logo.png")                # Photo: RGB image, alpha band, frame count
    result = model.colorize(photo.image)           # transparent areas are colorized as white
    photo.with_alpha(result, out).save(out)        # RGBA again where out's format keeps alpha
    for note in photo.notes(out): print(note)      # animated: first frame; alpha dropped (JPEG)

and a folder's files that are not opened are named with a reason (`list_folder`).
"""
from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .limits import MAX_PIXELS, PHOTO_EXTENSIONS

try:  # HEIC/HEIF (phones' photos) through pillow-heif, when it is installed (requirements.txt)
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - then those files are listed as unsupported
    pass
else:
    register_heif_opener()

# Photo types beyond limits.PHOTO_EXTENSIONS that are read when this Pillow has a plugin for them,
# and what it takes when it has not. Animated ones give their first frame.
PLUGIN_FORMATS = {".gif": "Pillow's GIF plugin", ".avif": "a Pillow built with AVIF (11.2 or later)",
                  ".heic": "pillow-heif", ".heif": "pillow-heif"}
KEEPS_ALPHA = (".png", ".webp", ".tif", ".tiff")  # output formats that can hold transparency

# warnings.catch_warnings swaps the process-wide filter list and puts it back on exit: two
# threads inside it at once can leave each other's filters behind. Ours take turns.
_WARNINGS_LOCK = threading.Lock()


class PhotoError(ValueError):
    """A photo could not be used; the message names the file and the reason."""


class PhotoTooLarge(PhotoError):
    """The photo is above the size cap (the HTTP API answers 413)."""


# What Pillow's decoders raise on a damaged or hostile file, beyond OSError: a compressed PNG chunk
# (zTXt, compressed iTXt, iCCP) that inflates past PngImagePlugin.MAX_TEXT_CHUNK is a ValueError
# ("Decompressed data too large"), a truncated header a SyntaxError, struct.error or EOFError.
DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error, zlib.error)


def _reason(err: BaseException) -> str:
    """Pillow's error in words for a person: its kind and (short) message."""
    text = str(err).strip().replace("\n", " ")
    if "Decompressed data too large" in text:
        return "a compressed metadata chunk inflates past Pillow's limit"
    return f"{err.__class__.__name__}: {text[:160]}" if text else err.__class__.__name__


def readable_extensions() -> tuple[str, ...]:
    """The photo extensions opened here: limits.PHOTO_EXTENSIONS, and those of PLUGIN_FORMATS
    that this Pillow can read."""
    known = Image.registered_extensions()
    return PHOTO_EXTENSIONS + tuple(ext for ext in PLUGIN_FORMATS if ext in known and ext not in PHOTO_EXTENSIONS)


class FolderListing(NamedTuple):
    photos: list[Path]                # files to open, sorted
    skipped: list[tuple[Path, str]]   # (file, why it is not opened), sorted


def list_folder(folder: str | Path) -> FolderListing:
    """Every file under folder (recursive): the photos to open, and the others, each with the
    reason it is skipped (a photo type this installation cannot read, or not a photo type at all).
    Hidden files that are not photos (.DS_Store and the like) are left out of both."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Photo folder not found: {folder}")
    readable = readable_extensions()
    photos, skipped = [], []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            why = skip_reason(p.name, readable)
            if why is None:
                photos.append(p)
            elif why:
                skipped.append((p, why))
    return FolderListing(photos, skipped)


def skip_reason(name: str, readable: tuple[str, ...]) -> str | None:
    """Why a file of this name is not opened as a photo: None for a photo (its extension is in
    readable: readable_extensions()), "" for a hidden file that is not one (.DS_Store and the like:
    left out silently), else the reason a person reads."""
    ext = Path(name).suffix.lower()
    if ext in readable:
        return None
    if name.startswith("."):
        return ""
    if ext in PLUGIN_FORMATS:
        return f"unsupported: {ext} photos need {PLUGIN_FORMATS[ext]}"
    return f"not a photo type that is read here ({ext or 'no extension'})"


def list_photos(folder: str | Path) -> list[Path]:
    """All files under folder (recursive) that are opened as photos, sorted for reproducibility."""
    return list_folder(folder).photos


def _name(source) -> str:
    """How messages name a photo: a path as given (not only its last part, which two folders can
    share), a file object or an upload by its name."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", None) or source)


def open_image(source, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Image.open on a path, bytes or file object, its size read from the header and checked
    against max_pixels before anything is decoded. The image is returned lazy (not loaded).

    Raises PhotoTooLarge above max_pixels, PhotoError when the file is missing or not a photo;
    both name the file. Pillow's own guard (Image.MAX_IMAGE_PIXELS) is not touched: MAX_PIXELS
    is below it, so photos we accept never meet it; photos far above it (Pillow's
    DecompressionBombError, or its warning) are refused here with our message instead.
    """
    label = name or ("<upload>" if isinstance(source, (bytes, bytearray)) else _name(source))
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
    except Image.DecompressionBombError as err:
        found = re.search(r"\((\d+) pixels\)", str(err))
        size = f"{int(found[1]) / 1e6:.0f} megapixels" if found else "far too many pixels"
        raise PhotoTooLarge(f"{label}: {size}, above the {max_pixels / 1e6:g} MP limit") from None
    except FileNotFoundError:
        raise PhotoError(f"{label}: file not found") from None
    except UnidentifiedImageError as err:
        raise PhotoError(f"{label}: not a readable photo ({err.__class__.__name__})") from None
    except DECODER_ERRORS as err:  # a file Pillow knows, damaged or hostile before its pixels
        raise PhotoError(f"{label}: not a readable photo ({_reason(err)})") from None
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise PhotoTooLarge(
            f"{label}: {w}x{h} is {w * h / 1e6:.1f} megapixels, above the {max_pixels / 1e6:g} MP limit"
        )
    return img


@dataclass
class Photo:
    """A photo opened for colorizing, and what its RGB image leaves out."""

    image: Image.Image                   # RGB, EXIF orientation applied; transparency laid on white
    alpha: Image.Image | None = None     # its transparency (mode L, image's size); None when opaque
    frames: int = 1                      # frames or pages in the file; image is the first
    name: str = field(default="", repr=False)

    def with_alpha(self, result: Image.Image, out: str | Path | None = None) -> Image.Image:
        """result (the colorized image) with the photo's transparency put back (RGBA), unless the
        photo had none or out's format cannot keep it (then result as it is; see notes)."""
        if self.alpha is None or (out is not None and not keeps_alpha(out)):
            return result
        alpha = self.alpha if self.alpha.size == result.size else self.alpha.resize(result.size, Image.BILINEAR)
        rgba = result.convert("RGBA")
        rgba.putalpha(alpha)
        return rgba

    def notes(self, out: str | Path | None = None) -> list[str]:
        """One line per thing the result leaves out, for the user to read (empty when nothing is)."""
        notes = []
        if self.frames > 1:
            notes.append(f"{self.name}: {self.frames} frames (animated or multi-page): only the first is colorized")
        if self.alpha is not None and out is not None and not keeps_alpha(out):
            notes.append(f"{self.name}: transparency dropped ({Path(out).suffix or 'that format'} cannot keep it; "
                         f"transparent areas are white): write .png or .webp to keep it")
        return notes


def keeps_alpha(path: str | Path) -> bool:
    """True when a file of path's type can hold transparency (PNG, WebP, TIFF)."""
    return Path(path).suffix.lower() in KEEPS_ALPHA


def read_photo(source, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Photo:
    """Open a path, bytes or file object as a Photo: its RGB image with EXIF orientation applied,
    its alpha band (when any pixel is not opaque) and its number of frames.

    Raises PhotoError naming the photo when it cannot be read or is larger than max_pixels.
    A corrupt EXIF block only loses the orientation, never the photo.
    """
    label = name or ("<upload>" if isinstance(source, (bytes, bytearray)) else _name(source))
    img = open_image(source, max_pixels, label)
    try:
        frames = int(getattr(img, "n_frames", 1))
        img.load()  # the first frame
    except DECODER_ERRORS as err:
        raise PhotoError(f"{label}: the photo data is damaged ({_reason(err)})") from None
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ImageOps.exif_transpose(img, in_place=True)  # no second full-size copy when nothing turns
    except Exception:  # noqa: BLE001 - real photos carry broken EXIF ("not a TIFF file")
        pass
    return Photo(to_rgb(img), alpha_band(img), frames, label)


def open_photo(source, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Open a path, bytes or file object as an RGB PIL image, EXIF orientation applied
    (read_photo's image; transparency laid on white, the first frame of an animation).

    Raises PhotoError naming the photo when it cannot be read or is larger than max_pixels.
    """
    return read_photo(source, max_pixels, name).image


def alpha_band(img: Image.Image) -> Image.Image | None:
    """The image's transparency as a mode-L band, or None when it has none or is fully opaque."""
    if not _transparent_mode(img):
        return None
    alpha = img.getchannel("A") if "A" in img.getbands() else img.convert("RGBA").getchannel("A")
    return None if alpha.getextrema() == (255, 255) else alpha


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is laid on white, 16-bit gray is scaled to 8 bits."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray((arr / top * 255).clip(0, 255).astype(np.uint8)).convert("RGB")
    if _transparent_mode(img):
        rgba = img.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    return img.convert("RGB")


def _transparent_mode(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def is_grayscale(img: Image.Image, tolerance: float = 2.0) -> bool:
    """True when an RGB image carries no color (all channels within `tolerance` on average)."""
    factor = max(1, max(img.size) // 128)  # reduce first: no full-size copy (a 49 MP photo: 196 MB)
    small = img.reduce(factor) if img.mode in ("L", "LA", "RGB", "RGBA") else img.copy()
    small.thumbnail((64, 64))
    arr = np.asarray(small.convert("RGB"), dtype=np.int16)
    spread = arr.max(axis=2) - arr.min(axis=2)
    return float(spread.mean()) <= tolerance


def to_tensor(image: Image.Image) -> "torch.Tensor":
    """PIL image (any mode) -> RGB float tensor (1, 3, H, W) in [0, 1]."""
    import torch  # here, not at the top: colorizing photos needs no torch (infer.py)

    return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255.0


def to_pil(rgb: "torch.Tensor") -> Image.Image:
    """RGB tensor (1, 3, H, W) or (3, H, W) in [0, 1] -> 8-bit RGB PIL image (rounded, clipped)."""
    if rgb.dim() == 4:
        rgb = rgb[0]
    arr = (rgb.detach().float().cpu().permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def check_training_photo(path: Path, max_pixels: int = MAX_PIXELS) -> str | None:
    """None when path is a usable color photo, else the reason it is skipped."""
    try:
        with open_image(path, max_pixels) as img:
            if img.mode in ("L", "LA", "1", "I;16", "I"):
                return "grayscale"
            img.draft("RGB", (80, 80))  # JPEG: decode at 1/8 size, much faster
            img = to_rgb(img)
            img.load()
    except PhotoTooLarge as err:
        return f"too large: {str(err).split(': ', 1)[-1]}"
    except PhotoError as err:  # raised from None: the context is what Pillow raised
        return f"unreadable ({type(err.__context__).__name__})"
    except (OSError, SyntaxError, ValueError) as err:
        return f"unreadable ({err.__class__.__name__})"
    return "grayscale" if is_grayscale(img) else None
