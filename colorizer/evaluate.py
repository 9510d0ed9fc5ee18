"""Scoring weights on a folder of color photos: `python -m colorizer evaluate --data DIR`.

Each photo is colorized from its own lightness (the model sees it gray) and compared with the
original at full size: PSNR and SSIM on RGB, and Hasler-Suesstrunk colorfulness. The gray
baseline (ab = 0) is scored alongside, since a colorizer that cannot beat it has learned nothing.
FID against the originals is added when torchvision's Inception weights can be had.

Outputs in out_dir: per_image.csv, summary.json and grid.png (gray input | prediction | truth).
"""
from __future__ import annotations

import csv
import json
import socket
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .images import PhotoError, is_grayscale, list_photos, open_photo
from .infer import Colorizer, gray_baseline

CSV_FIELDS = ["file", "width", "height", "psnr", "ssim", "colorfulness_pred", "colorfulness_true",
              "psnr_gray", "ssim_gray", "colorfulness_gray"]
GRID_ROWS = 8
THUMB_HEIGHT = 192
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ---- metrics ------------------------------------------------------------------------------

def colorfulness(rgb) -> float:
    """Hasler & Suesstrunk (2003) colorfulness of an RGB image (uint8 array or PIL); 0 for gray."""
    arr = np.asarray(rgb, dtype=np.float64)
    rg = arr[..., 0] - arr[..., 1]
    yb = 0.5 * (arr[..., 0] + arr[..., 1]) - arr[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def score(pred: Image.Image, truth: Image.Image) -> dict:
    """PSNR (dB) and SSIM of pred against truth, on uint8 RGB at truth's size."""
    a = np.asarray(pred.convert("RGB"), dtype=np.uint8)
    b = np.asarray(truth.convert("RGB"), dtype=np.uint8)
    if a.shape != b.shape:
        raise ValueError(f"prediction {a.shape} and truth {b.shape} differ in size")
    with np.errstate(divide="ignore"):  # identical images: PSNR is inf
        psnr = peak_signal_noise_ratio(b, a, data_range=255)
    short = min(b.shape[:2])
    win = min(7, short if short % 2 else short - 1)  # skimage's default 7, smaller for tiny photos
    ssim = structural_similarity(b, a, channel_axis=-1, data_range=255, win_size=win)
    return {"psnr": float(psnr), "ssim": float(ssim)}


# ---- FID ----------------------------------------------------------------------------------

def load_inception(device: torch.device | str = "cpu", timeout: float = 10.0) -> torch.nn.Module | None:
    """torchvision's Inception v3 with the 2048-d pool features as output, or None (with one
    printed line) when its weights can be neither found in the torch hub cache nor downloaded."""
    from torchvision.models import Inception_V3_Weights, inception_v3

    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # a silent network fails in seconds, not minutes
    try:
        model = inception_v3(weights=Inception_V3_Weights.DEFAULT, progress=False)
    except Exception as err:  # noqa: BLE001 - URLError, timeout, hash mismatch, damaged cache...
        print(f"FID skipped: Inception weights could not be had ({err.__class__.__name__}: {err})")
        return None
    finally:
        socket.setdefaulttimeout(old_timeout)
    model.fc = torch.nn.Identity()
    return model.to(device).eval()


@torch.inference_mode()
def inception_features(model: torch.nn.Module, images: list[Image.Image]) -> np.ndarray:
    """PIL images -> (N, 2048) pool features (each image resized to 299 x 299)."""
    device = next(model.parameters()).device
    batch = torch.stack([torch.from_numpy(np.array(im.convert("RGB"))).permute(2, 0, 1) for im in
                         [im.resize((299, 299), Image.BILINEAR) for im in images]]).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return model(((batch - mean) / std).to(device)).float().cpu().numpy().astype(np.float64)


def frechet_distance(real: np.ndarray, fake: np.ndarray, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N, D), N >= 2 each."""
    from scipy.linalg import LinAlgWarning, sqrtm

    if len(real) < 2 or len(fake) < 2:
        raise ValueError("the Frechet distance needs at least 2 images on each side")
    mu1, mu2 = real.mean(0), fake.mean(0)
    s1, s2 = np.atleast_2d(np.cov(real, rowvar=False)), np.atleast_2d(np.cov(fake, rowvar=False))
    with warnings.catch_warnings():  # fewer images than dimensions: singular, as FID always is then
        warnings.simplefilter("ignore", LinAlgWarning)
        covmean = sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():  # nudge the diagonals, as pytorch-fid does
            offset = np.eye(len(s1)) * eps
            covmean = sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean), 0.0))


def fid(real_images: list[Image.Image], fake_images: list[Image.Image], device: str = "cpu") -> float | None:
    """FID of fake_images against real_images, or None when Inception weights cannot be had."""
    model = load_inception(device)
    if model is None:
        return None
    return frechet_distance(inception_features(model, real_images), inception_features(model, fake_images))


# ---- outputs ------------------------------------------------------------------------------

def _thumb(image: Image.Image, height: int = THUMB_HEIGHT) -> Image.Image:
    width = max(1, min(3 * height, round(image.width * height / image.height)))
    return image.resize((width, height), Image.LANCZOS)


def make_grid(rows: list[tuple[Image.Image, ...]], labels=("gray input", "prediction", "ground truth"),
              pad: int = 6, header: int = 18) -> Image.Image:
    """Rows of equally tall thumbnails -> one white sheet, columns aligned, a label above each."""
    col_w = [max(row[i].width for row in rows) for i in range(len(labels))]
    height = rows[0][0].height
    sheet = Image.new("RGB", (sum(col_w) + pad * (len(col_w) + 1), header + len(rows) * (height + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    x = pad
    for label, w in zip(labels, col_w):
        draw.text((x + (w - draw.textlength(label)) // 2, 3), label, fill="black")
        for r, row in enumerate(rows):
            thumb = row[labels.index(label)]
            sheet.paste(thumb, (x + (w - thumb.width) // 2, header + r * (height + pad)))
        x += w + pad
    return sheet


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def _print_table(summary: dict) -> None:
    m, g, t = summary["model"], summary["gray_baseline"], summary["ground_truth"]
    def fmt(v, spec):
        width = int(spec.split(".")[0] or 0)
        return f"{'-':>{width}}" if v is None else format(v, spec)

    print(f"\n{summary['images']} photo(s), weights {summary['weights']} (stage {summary['stage']})")
    print(f"{'':15}{'PSNR':>9}{'SSIM':>9}{'colorful':>10}{'FID':>9}")
    for name, r in (("model", m), ("gray baseline", g), ("ground truth", t)):
        print(f"{name:15}{fmt(r.get('psnr'), '9.2f')}{fmt(r.get('ssim'), '9.4f')}"
              f"{fmt(r.get('colorfulness'), '10.2f')}{fmt(r.get('fid'), '9.2f')}")
    print(f"colorfulness pred/true: {fmt(summary['colorfulness_ratio'], '.3f')}")


# ---- the command --------------------------------------------------------------------------

def run_evaluation(data, weights=None, out_dir="eval", render_size: int | None = None, device: str = "auto",
                   precision: str = "auto", limit: int | None = None, weights_dir="weights",
                   fid: bool = True) -> dict:
    """Score weights on every color photo under data; write per_image.csv, summary.json, grid.png.

    fid=False skips the FID (and the Inception download attempt); inside, `fid` is that flag.

    Returns the summary dict (means for the model, the gray baseline and the ground truth).
    Raises FileNotFoundError for a missing folder, ValueError when it has no usable color photo.
    """
    from tqdm.auto import tqdm

    photos = list_photos(data)[:limit]
    if not photos:
        raise ValueError(f"no photos found in {data}")
    model = Colorizer.load(weights, device=device, precision=precision, render_size=render_size,
                           weights_dir=weights_dir)
    inception = load_inception(model.device) if fid else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rows, grid, skipped = [], [], []
    feats = {"true": [], "pred": [], "gray": []}
    for path in tqdm(photos, unit="photo", desc="evaluate"):
        try:
            truth = open_photo(path)
        except PhotoError as err:
            tqdm.write(f"skipped: {err}")
            skipped.append(str(path))
            continue
        if is_grayscale(truth):
            tqdm.write(f"skipped: {path}: grayscale photo, no color to compare with")
            skipped.append(str(path))
            continue
        pred, gray = model.colorize(truth), gray_baseline(truth)
        s_pred, s_gray = score(pred, truth), score(gray, truth)
        rows.append({"file": str(path.relative_to(data)), "width": truth.width, "height": truth.height,
                     "psnr": s_pred["psnr"], "ssim": s_pred["ssim"],
                     "colorfulness_pred": colorfulness(pred), "colorfulness_true": colorfulness(truth),
                     "psnr_gray": s_gray["psnr"], "ssim_gray": s_gray["ssim"],
                     "colorfulness_gray": colorfulness(gray)})
        if len(grid) < GRID_ROWS:
            grid.append((_thumb(gray), _thumb(pred), _thumb(truth)))
        if inception is not None:
            f = inception_features(inception, [truth, pred, gray])
            for key, row in zip(("true", "pred", "gray"), f):
                feats[key].append(row)
    if not rows:
        raise ValueError(f"no usable color photos in {data} ({len(skipped)} skipped)")

    fid_pred = fid_gray = None
    if inception is not None:
        if len(rows) < 2:
            print("FID skipped: it needs at least 2 photos")
        else:
            real = np.stack(feats["true"])
            fid_pred = frechet_distance(real, np.stack(feats["pred"]))
            fid_gray = frechet_distance(real, np.stack(feats["gray"]))
            if len(rows) < 2048:
                print(f"note: FID on {len(rows)} photos is biased upward; compare only runs on the same photos")

    true_cf = _mean(rows, "colorfulness_true")
    summary = {
        "data": str(data), "images": len(rows), "skipped": skipped,
        "weights": model.meta["path"], "stage": model.meta.get("stage"), "backbone": model.meta.get("backbone"),
        "images_seen": model.meta.get("images_seen"), "render_size": model.render_size,
        "device": str(model.device), "precision": model.precision,
        "model": {"psnr": _mean(rows, "psnr"), "ssim": _mean(rows, "ssim"),
                  "colorfulness": _mean(rows, "colorfulness_pred"), "fid": fid_pred},
        "gray_baseline": {"psnr": _mean(rows, "psnr_gray"), "ssim": _mean(rows, "ssim_gray"),
                          "colorfulness": _mean(rows, "colorfulness_gray"), "fid": fid_gray},
        "ground_truth": {"colorfulness": true_cf},
        "colorfulness_ratio": _mean(rows, "colorfulness_pred") / true_cf if true_cf > 0 else None,
    }

    with open(out / "per_image.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    make_grid(grid).save(out / "grid.png")
    _print_table(summary)
    print(f"Wrote {out / 'per_image.csv'}, {out / 'summary.json'} and {out / 'grid.png'}")
    return summary
