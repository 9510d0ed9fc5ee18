"""Scoring weights on a folder of color photos: `python -m colorizer evaluate --data DIR --weights A.pt [B.pt ...]`.

Each photo is colorized from its own lightness (the model sees it gray) and compared with the
original at full size (colorizer.metrics): PSNR and SSIM on RGB, Hasler-Suesstrunk colorfulness,
and the false-color rate (pixels saturated and wrong). The gray baseline (ab = 0) is scored
alongside, since a colorizer that cannot beat it has learned nothing. Several weights files are
scored on the same photos in one run, and so are several color strengths of stage-2 weights
(infer.Colorizer.load: stage 2 blended with its stage-1 start), one row each. FID against the
originals is added when torchvision's Inception weights can be had.

Outputs in out_dir: per_image.csv (a row per photo and weights), summary.json and grid.png
(truth | gray | each weights, for the first photos).
"""
from __future__ import annotations

import csv
import json
import socket
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import metrics
from .images import PhotoError, is_grayscale, list_photos, open_photo, to_tensor
from .infer import Colorizer, gray_baseline
from .metrics import colorfulness  # noqa: F401 - kept importable from here
from .sheets import make_grid, thumb

CSV_FIELDS = ["file", "width", "height", "weights", "psnr", "ssim", "colorfulness_pred", "false_color",
              "neutral_kept", "right_hue", "colorfulness_true", "psnr_gray", "ssim_gray", "colorfulness_gray",
              "false_color_gray", "color_strength", "temperature", "saturation"]
GRID_ROWS = 8
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
    batch = torch.cat([to_tensor(im.resize((299, 299), Image.BILINEAR)) for im in images])
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


# ---- scoring ------------------------------------------------------------------------------

def score(pred: Image.Image, truth: Image.Image, truth_ab: np.ndarray | None = None) -> dict:
    """PSNR (dB), SSIM, colorfulness and false-color rate of pred against truth (RGB, truth's size).
    truth_ab: the truth's CIELAB ab (metrics.lab_ab), when already at hand."""
    a = np.asarray(pred.convert("RGB"), dtype=np.uint8)
    b = np.asarray(truth.convert("RGB"), dtype=np.uint8)
    if a.shape != b.shape:
        raise ValueError(f"prediction {a.shape} and truth {b.shape} differ in size")
    truth_ab = metrics.lab_ab(b) if truth_ab is None else truth_ab
    pred_ab = metrics.lab_ab(a)
    return {"psnr": metrics.psnr(a, b), "ssim": metrics.ssim(a, b), "colorfulness": metrics.colorfulness(a),
            "false_color": metrics.false_color_rate(pred_ab, truth_ab),
            "neutral_kept": metrics.neutral_kept(pred_ab, truth_ab), "right_hue": metrics.right_hue(pred_ab, truth_ab)}


def weights_labels(paths: list[str], strengths: list[float] | None = None,
                   saturations: list[float] | None = None) -> list[str]:
    """Short names for the table and grid: file names, or the paths when file names repeat; with
    ' s=0.5' after each where a color strength below 1 is used or several strengths are scored, and
    ' x1.2' where a saturation other than 1 is used or several are scored."""
    names = [Path(p).name for p in paths]
    if len(set(names)) < len(set(paths)):
        names = [str(p) for p in paths]
    strengths = strengths or [1.0] * len(paths)
    if len(set(strengths)) > 1 or min(strengths) < 1:
        names = [f"{n} s={s:g}" for n, s in zip(names, strengths)]
    saturations = saturations or [1.0] * len(paths)
    if set(saturations) != {1.0}:
        names = [f"{n} x{x:g}" for n, x in zip(names, saturations)]
    return names


def _mean(rows: list[dict], key: str) -> float:
    return float(np.nanmean([r[key] for r in rows]))  # NaN: a photo with no pixels of that kind


def _print_table(summary: dict) -> None:
    def fmt(v, spec):
        width = int(spec.split(".")[0].lstrip("+") or 0)
        return f"{'-':>{width}}" if v is None else format(v, spec)

    models, g, t = summary["models"], summary["gray_baseline"], summary["ground_truth"]
    names = [m["name"] for m in models]
    w = max(len(n) for n in names + ["gray baseline"]) + 2
    print(f"\n{summary['images']} photo(s) in {summary['data']}, {summary['device']} {summary['precision']}")
    for m in models:
        seen = f"{m['images_seen']:,} photos seen" if m["images_seen"] is not None else "photos seen unknown"
        extra = "".join([f", color strength {m['color_strength']:g} with {m['base_weights']}"
                         if m["color_strength"] < 1 else "",
                         f", saturation x{m['saturation']:g}" if m["saturation"] != 1 else "",
                         f", classes head at temperature {m['temperature']:g}" if m["temperature"] else ""])
        print(f"  {m['name']}: {m['weights']} (stage {m['stage']}, {m['backbone']}, {seen}, "
              f"render size {m['render_size']}{extra})")
    print(f"{'':{w}}{'PSNR':>8}{'vs gray':>9}{'SSIM':>8}{'colorful':>10}{'% truth':>9}{'false color':>13}"
          f"{'neutral kept':>14}{'right hue':>11}{'FID':>8}")
    truth = dict(t, colorfulness_ratio=1.0)
    for name, r in [("gray baseline", g)] + list(zip(names, models)) + [("ground truth", truth)]:
        print(f"{name:{w}}{fmt(r.get('psnr'), '8.2f')}{fmt(r.get('psnr_vs_gray'), '+9.2f')}"
              f"{fmt(r.get('ssim'), '8.3f')}{fmt(r.get('colorfulness'), '10.1f')}"
              f"{fmt(r.get('colorfulness_ratio'), '9.0%')}{fmt(r.get('false_color'), '13.1%')}"
              f"{fmt(r.get('neutral_kept'), '14.0%')}{fmt(r.get('right_hue'), '11.0%')}{fmt(r.get('fid'), '8.2f')}")


# ---- the command --------------------------------------------------------------------------

def _listed(value, default=None) -> list:
    """One value or several (a list or tuple) -> a list; None -> [default]."""
    if value is None:
        return [default]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def run_evaluation(data, weights=None, out_dir="eval", render_size: int | None = None, device: str = "auto",
                   precision: str = "auto", limit: int | None = None, weights_dir=None,
                   fid: bool = True, color_strength: float | list[float] | None = None,
                   base_weights: str | Path | None = None, temperature: float | None = None,
                   saturation: float | list[float] | None = None) -> dict:
    """Score one or several weights files on every color photo under data, on the same photos;
    write per_image.csv, summary.json and grid.png to out_dir, print one table.

    weights: a path, a list of paths, or None (infer.resolve_weights: $COLORIZER_WEIGHTS, else the
    best in weights_dir, $COLORIZER_WEIGHTS_DIR or weights/). render_size None: each weights' own
    trained size. fid=False skips the FID (and the Inception download attempt). color_strength:
    one or several (each weights file is scored at each, one row per pair; None: infer's default);
    base_weights: the stage-1 file to blend with (default: found from the metadata). temperature:
    for classes-head weights (ignored for others, with a note). saturation: one or several factors on
    the predicted colors (as colorize --saturation; each its own row, the network run once per photo).

    Returns the summary: "models" (one entry per weights, in order), "gray_baseline" and
    "ground_truth" means; with one weights file also today's "model", "weights", "stage", ... keys.
    Raises FileNotFoundError for a missing folder, ValueError when it has no usable color photo.
    """
    from tqdm.auto import tqdm

    photos = list_photos(data)[:limit]
    if not photos:
        raise ValueError(f"no photos found in {data}")
    paths = _listed(weights)
    strengths = _listed(color_strength)
    saturations = _listed(saturation, default=1.0)
    if min(saturations) <= 0:
        raise ValueError(f"saturation is a factor > 0, not {min(saturations):g}")
    nets = [Colorizer.load(w, device=device, precision=precision, render_size=render_size,
                           weights_dir=weights_dir, color_strength=s, base_weights=base_weights,
                           temperature=temperature) for w in paths for s in strengths]
    for m in nets:
        if temperature is not None and m.temperature is None:
            print(f"note: temperature ignored for {m.meta['path']}: it predicts ab directly (no classes head)")
    models = [m for m in nets for _ in saturations]  # one row each: weights x strength x saturation
    sats = saturations * len(nets)
    names = weights_labels([m.meta["path"] for m in models], [m.color_strength for m in models], sats)
    inception = load_inception(models[0].device) if fid else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    rows, grid, skipped = [], [], []  # rows: one per photo and weights
    feats: dict = {"true": [], "gray": [], **{i: [] for i in range(len(models))}}
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
        truth_ab = metrics.lab_ab(np.asarray(truth))
        gray = gray_baseline(truth)
        s_gray = score(gray, truth, truth_ab)
        true_cf = metrics.colorfulness(np.asarray(truth))
        preds = []
        for m in nets:  # each network once; its colors at each saturation
            L_full, L_small = m.prepare(truth)
            ab = m.predict_ab(L_small)
            preds += [m.finish(L_full, ab, x) for x in saturations]
        for m, x, pred in zip(models, sats, preds):
            s = score(pred, truth, truth_ab)
            rows.append({"file": str(path.relative_to(data)), "width": truth.width, "height": truth.height,
                         "weights": m.meta["path"], "psnr": s["psnr"], "ssim": s["ssim"],
                         "colorfulness_pred": s["colorfulness"], "false_color": s["false_color"],
                         "neutral_kept": s["neutral_kept"], "right_hue": s["right_hue"], "colorfulness_true": true_cf,
                         "psnr_gray": s_gray["psnr"], "ssim_gray": s_gray["ssim"],
                         "colorfulness_gray": s_gray["colorfulness"], "false_color_gray": s_gray["false_color"],
                         "color_strength": m.color_strength, "temperature": m.temperature, "saturation": x})
        if len(grid) < GRID_ROWS:
            grid.append([thumb(truth), thumb(gray)] + [thumb(p) for p in preds])
        if inception is not None:
            f = inception_features(inception, [truth, gray] + preds)
            for key, row in zip(["true", "gray"] + list(range(len(models))), f):
                feats[key].append(row)
    if not rows:
        raise ValueError(f"no usable color photos in {data} ({len(skipped)} skipped)")
    n_images = len(rows) // len(models)

    fids: dict = {}
    if inception is not None:
        if n_images < 2:
            print("FID skipped: it needs at least 2 photos")
        else:
            real = np.stack(feats["true"])
            fids = {key: frechet_distance(real, np.stack(feats[key])) for key in feats if key != "true"}
            if n_images < 2048:
                print(f"note: FID on {n_images} photos is biased upward; compare only runs on the same photos")

    first = rows[::len(models)]  # the gray and truth columns are the same for every weights
    true_cf = _mean(first, "colorfulness_true")
    ratio = (lambda cf: cf / true_cf if true_cf > 0 else None)  # noqa: E731
    gray_summary = {"psnr": _mean(first, "psnr_gray"), "ssim": _mean(first, "ssim_gray"),
                    "colorfulness": _mean(first, "colorfulness_gray"),
                    "colorfulness_ratio": ratio(_mean(first, "colorfulness_gray")),
                    "false_color": _mean(first, "false_color_gray"), "fid": fids.get("gray")}
    model_summaries = []
    for i, (m, x, name) in enumerate(zip(models, sats, names)):
        mine = rows[i::len(models)]
        model_summaries.append({
            "weights": m.meta["path"], "name": name, "stage": m.meta.get("stage"),
            "backbone": m.meta.get("backbone"), "images_seen": m.meta.get("images_seen"),
            "render_size": m.render_size, "color_strength": m.color_strength, "saturation": x,
            "base_weights": m.meta.get("base_weights"), "head": m.head, "temperature": m.temperature,
            "psnr": _mean(mine, "psnr"),
            "psnr_vs_gray": _mean(mine, "psnr") - gray_summary["psnr"], "ssim": _mean(mine, "ssim"),
            "colorfulness": _mean(mine, "colorfulness_pred"),
            "colorfulness_ratio": ratio(_mean(mine, "colorfulness_pred")),
            "false_color": _mean(mine, "false_color"), "neutral_kept": _mean(mine, "neutral_kept"),
            "right_hue": _mean(mine, "right_hue"), "fid": fids.get(i)})
    summary = {"data": str(data), "images": n_images, "skipped": skipped, "device": str(models[0].device),
               "precision": models[0].precision, "models": model_summaries, "gray_baseline": gray_summary,
               "ground_truth": {"colorfulness": true_cf}}
    if len(models) == 1:  # one weights file: the keys this summary has always had
        only = model_summaries[0]
        summary.update({key: only[key] for key in ("weights", "stage", "backbone", "images_seen", "render_size")})
        summary["model"] = {key: only[key] for key in ("psnr", "psnr_vs_gray", "ssim", "colorfulness",
                                                        "false_color", "fid")}
        summary["colorfulness_ratio"] = only["colorfulness_ratio"]

    with open(out / "per_image.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    make_grid(grid, ["truth", "gray"] + names).save(out / "grid.png")
    _print_table(summary)
    print(f"Wrote {out / 'per_image.csv'}, {out / 'summary.json'} and {out / 'grid.png'}")
    return summary
