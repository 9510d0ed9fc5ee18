"""Opening user photos safely: formats, EXIF orientation, modes, size caps, clear errors."""
from __future__ import annotations

import io
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .limits import MAX_PIXELS, PHOTO_EXTENSIONS

# warnings.catch_warnings swaps the process-wide filter list and puts it back on exit: two
# threads inside it at once can leave each other's filters behind. Ours take turns.
_WARNINGS_LOCK = threading.Lock()


class PhotoError(ValueError):
    """A photo could not be used; the message names the file and the reason."""


class PhotoTooLarge(PhotoError):
    """The photo is above the size cap (the HTTP API answers 413)."""


def list_photos(folder: str | Path) -> list[Path]:
    """All files under folder (recursive) with a photo extension, sorted for reproducibility."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Photo folder not found: {folder}")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_EXTENSIONS)


def _name(source) -> str:
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
    except (UnidentifiedImageError, OSError) as err:
        raise PhotoError(f"{label}: not a readable photo ({err.__class__.__name__})") from None
    w, h = img.size
    if w * h > max_pixels:
        img.close()
        raise PhotoTooLarge(
            f"{label}: {w}x{h} is {w * h / 1e6:.1f} megapixels, above the {max_pixels / 1e6:g} MP limit"
        )
    return img


def open_photo(source, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Open a path, bytes or file object as an RGB PIL image, EXIF orientation applied.

    Raises PhotoError naming the photo when it cannot be read or is larger than max_pixels.
    A corrupt EXIF block only loses the orientation, never the photo.
    """
    label = name or ("<upload>" if isinstance(source, (bytes, bytearray)) else _name(source))
    img = open_image(source, max_pixels, label)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as err:
        raise PhotoError(f"{label}: the photo data is damaged ({err})") from None
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - real photos carry broken EXIF ("not a TIFF file")
        pass
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is laid on white, 16-bit gray is scaled to 8 bits."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        return Image.fromarray((arr / top * 255).clip(0, 255).astype(np.uint8)).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    return img.convert("RGB")


def is_grayscale(img: Image.Image, tolerance: float = 2.0) -> bool:
    """True when an RGB image carries no color (all channels within `tolerance` on average)."""
    small = img.copy()
    small.thumbnail((64, 64))
    arr = np.asarray(small.convert("RGB"), dtype=np.int16)
    spread = arr.max(axis=2) - arr.min(axis=2)
    return float(spread.mean()) <= tolerance


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL image (any mode) -> RGB float tensor (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255.0


def to_pil(rgb: torch.Tensor) -> Image.Image:
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
