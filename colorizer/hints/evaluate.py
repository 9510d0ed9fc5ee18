"""The hints curve: `python -m colorizer evaluate --data DIR --hints 0 1 2 5 10 20`.

Each color photo is turned gray and colorized by hints weights given that many hints drawn from its
own colors (hints.truth_hint_map: seeded by the photo's place in the folder, so every run and every
weights file sees the same hints), then scored against the original as `evaluate` scores
(evaluate.score: PSNR, colorfulness, false color). One row per hint count; a plot of PSNR gain over
the gray photo against the number of hints. With 0 hints it is the model colorizing on its own.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..evaluate import score
from . import truth_hint_map
from ..images import PhotoError, is_grayscale, list_photos, open_photo
from ..infer import Colorizer, gray_baseline
from ..metrics import colorfulness


def hints_curve(data, counts: list[int], weights=None, out_dir="eval_hints", weights_dir=None,
                device: str = "auto", precision: str = "auto", limit: int | None = None,
                seed: int = 0, render_size: int | None = None) -> dict:
    """Score hints weights on every color photo under data at each hint count; write curve.csv,
    summary.json and curve.png to out_dir, print a table, return the summary."""
    from tqdm.auto import tqdm

    counts = sorted({int(c) for c in counts})
    if not counts or counts[0] < 0:
        raise ValueError(f"hint counts are 0 or more, not {counts}")
    # weights None: the best hints weights in the folder; weights without hint input: a WeightsError
    model = Colorizer.load(weights, device=device, precision=precision, weights_dir=weights_dir,
                           render_size=render_size, hints=True)
    photos = list_photos(data)[:limit]
    if not photos:
        raise ValueError(f"no photos found in {data}")
    sums = {c: {"psnr": 0.0, "colorfulness": 0.0, "false_color": 0.0} for c in counts}
    gray_psnr = true_cf = 0.0
    n = 0
    for i, path in enumerate(tqdm(photos, unit="photo", desc="hints")):
        try:
            truth = open_photo(path)
        except PhotoError as err:
            tqdm.write(f"skipped: {err}")
            continue
        if is_grayscale(truth):
            continue
        L_full, L_small = model.prepare(truth)
        shape = L_small.shape[-2:]
        gray_psnr += score(gray_baseline(truth), truth)["psnr"]
        true_cf += colorfulness(np.asarray(truth))
        for c in counts:
            hint_map = truth_hint_map(truth, shape, c, seed + i)
            s = score(model.finish(L_full, model.predict_ab(L_small, hint_map)), truth)
            for k in sums[c]:
                sums[c][k] += s[k]
        n += 1
    if not n:
        raise ValueError(f"no usable color photos in {data}")
    rows = [{"hints": c, "psnr": v["psnr"] / n, "psnr_vs_gray": (v["psnr"] - gray_psnr) / n,
             "colorfulness_ratio": v["colorfulness"] / max(true_cf, 1e-9), "false_color": v["false_color"] / n}
            for c, v in sums.items()]
    summary = {"data": str(data), "images": n, "weights": model.meta["path"], "render_size": model.render_size,
               "seed": seed, "gray_psnr": gray_psnr / n, "rows": rows}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "curve.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_curve(rows, out / "curve.png", f"{Path(model.meta['path']).name} on {Path(str(data)).name} ({n} photos)")
    print(f"\n{n} photo(s) in {data}, {model.meta['path']}, render size {model.render_size}")
    print(f"{'hints':>6}{'PSNR':>8}{'vs gray':>9}{'% truth':>9}{'false color':>13}")
    for r in rows:
        print(f"{r['hints']:>6}{r['psnr']:8.2f}{r['psnr_vs_gray']:+9.2f}{r['colorfulness_ratio']:9.0%}"
              f"{r['false_color']:13.1%}")
    print(f"Wrote {out / 'curve.csv'}, {out / 'summary.json'} and {out / 'curve.png'}")
    return summary


def plot_curve(rows: list[dict], dest: Path, title: str) -> None:
    """PSNR gain over gray against the number of hints (a symlog axis, so 0 has its place)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=110)
    ax.plot([r["hints"] for r in rows], [r["psnr_vs_gray"] for r in rows], "o-")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xticks([r["hints"] for r in rows], [str(r["hints"]) for r in rows])
    ax.set_xlabel("hints per photo")
    ax.set_ylabel("PSNR gain over gray (dB)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(dest)
    plt.close(fig)

