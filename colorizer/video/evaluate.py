"""Scoring a colorizer on films: flicker and PSNR, per-frame against temporal smoothing.

`python -m colorizer evaluate --video --data DIR` colorizes color films (or, for a folder of photos,
clips made from them: clips.camera_clip, two photos a clip) from their lightness alone, the network
once per frame, and scores each temporal smoothing asked for (default: 0, per-frame, and the default):

- PSNR: the mean over frames of each frame's RGB PSNR against its color truth (metrics.psnr);
- flicker: the mean frame-to-frame change of ab (CIELAB units, Euclidean) where L does not change:
  frames averaged in BLOCK x BLOCK blocks (grain averages out), a block is still where its L changed by
  less than STATIC_L between two frames; pairs across a scene cut (temporal.CUT_L) are left out. The
  truth's own flicker is shown beside it: what real colors do in those blocks.

Colors are scored as they leave the pipeline (before any video encoding), as `evaluate` scores photos.
Outputs in out_dir: video_per_clip.csv (a row per clip and smoothing) and video_summary.json.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from ..limits import DEFAULT_TEMPORAL, VIDEO_EXTENSIONS
from .temporal import CUT_L, TemporalSmoother, check_temporal

BLOCK = 4        # flicker is measured on BLOCK x BLOCK block means
STATIC_L = 1.0   # a block whose L changed less than this (L units) between two frames is still
CLIP_SIZE = (320, 240)
CLIP_SECONDS, CLIP_FPS = 4.0, 25


def blocks(x: np.ndarray, k: int = BLOCK) -> np.ndarray:
    """(H, W, ...) -> (H // k, W // k, ...): means of k x k blocks (the edges that do not fill one dropped)."""
    h, w = x.shape[0] // k * k, x.shape[1] // k * k
    x = x[:h, :w].astype(np.float64)
    return x.reshape(h // k, k, w // k, k, *x.shape[2:]).mean(axis=(1, 3))


def lab_blocks(rgb: np.ndarray, k: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """8-bit RGB (H, W, 3) -> its L (L units) and ab (CIELAB units, (..., 2)) as k x k block means."""
    from .. import metrics
    from ..color import photo_lightness

    L = (photo_lightness(rgb).astype(np.float64) + 1.0) * 50.0
    return blocks(L, k), blocks(metrics.lab_ab(rgb), k)


class Flicker:
    """Running flicker of one film (see the module): feed its frames' (L, ab) blocks in order."""

    def __init__(self, static: float = STATIC_L, cut: float = CUT_L):
        self.static, self.cut = static, cut
        self.total, self.count, self._prev = 0.0, 0, None

    def add(self, L: np.ndarray, ab: np.ndarray, L_moved: np.ndarray | None = None) -> None:
        """L and ab of the next frame; L_moved: the lightness that decides what is still (default L:
        the output's own; scoring a colorizer, the input's, which the output carries)."""
        L = L if L_moved is None else L_moved
        if self._prev is not None:
            prev_L, prev_ab = self._prev
            change = np.abs(L - prev_L)
            if change.mean() <= self.cut:
                still = change < self.static
                step = np.hypot(*(ab - prev_ab).transpose(2, 0, 1))
                self.total += float(step[still].sum())
                self.count += int(still.sum())
        self._prev = (L, ab)

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None


def _clips_from_photos(photos: list[Path], limit: int | None, size, seconds, fps) -> list[tuple[str, callable]]:
    """(name, frames()) of clips over two photos each, in order; limit: at most that many clips."""
    pairs = [photos[i:i + 2] for i in range(0, len(photos), 2)]
    pairs = pairs[:limit] if limit else pairs

    def make(pair, seed):
        def frames() -> Iterator[np.ndarray]:
            from .clips import camera_clip

            images = []
            for p in pair:
                with Image.open(p) as im:
                    images.append(im.convert("RGB"))
            return camera_clip(images, size, seconds, fps, seed=seed)
        return frames

    return [("+".join(p.name for p in pair), make(pair, i)) for i, pair in enumerate(pairs)]


def _clips_from_videos(videos: list[Path], limit: int | None) -> list[tuple[str, callable]]:
    def make(path):
        def frames() -> Iterator[np.ndarray]:
            from .io import open_input

            with open_input(path) as container:
                for frame in container.decode(container.streams.video[0]):
                    yield frame.to_ndarray(format="rgb24")
        return frames

    videos = videos[:limit] if limit else videos
    return [(str(v), make(v)) for v in videos]


def find_clips(data: str | Path, limit: int | None = None, size=CLIP_SIZE, seconds: float = CLIP_SECONDS,
               fps: float = CLIP_FPS) -> tuple[list[tuple[str, callable]], str]:
    """The films to score in data and what they are: a video file; a folder's videos (recursive); else
    clips made from the folder's photos, two a clip. FileNotFoundError / ValueError when there are none."""
    from ..images import list_photos

    data = Path(data)
    if not data.exists():
        raise FileNotFoundError(f"no such file or folder: {data}")
    if data.is_file():
        return _clips_from_videos([data], None), "video"
    videos = sorted(p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
    if videos:
        return _clips_from_videos(videos, limit), "videos"
    photos = list_photos(data)
    if len(photos) < 1:
        raise ValueError(f"no videos or photos found in {data}")
    return _clips_from_photos(photos, limit, size, seconds, fps), "clips made from photos"


def score_clip(model, frames: Iterator[np.ndarray], temporals: list[float], saturation: float = 1.0,
               batch_size: int = 8) -> dict:
    """One film's truth frames -> per temporal smoothing: mean PSNR and flicker; and the truth's flicker.
    The network runs once per frame; each smoothing gets its own TemporalSmoother."""
    from .. import metrics
    from ..images import is_grayscale

    smoothers = [TemporalSmoother(t) for t in temporals]
    flickers = [Flicker() for _ in temporals]
    psnrs: list[list[float]] = [[] for _ in temporals]
    truth_flicker = Flicker()
    state = {"frames": 0, "gray": None}

    def run(batch: list) -> None:
        ab = model.predict_ab(np.concatenate([item[2] for item in batch]))
        for (truth, L_full, L_small), one in zip(batch, ab):
            L_true, ab_true = lab_blocks(truth)
            truth_flicker.add(L_true, ab_true)
            for smoother, flicker, scores in zip(smoothers, flickers, psnrs):
                pred = np.asarray(model.finish(L_full, smoother(L_small, one), saturation))
                scores.append(metrics.psnr(pred, truth))
                L_pred, ab_pred = lab_blocks(pred)
                flicker.add(L_pred, ab_pred, L_moved=L_true)
            state["frames"] += 1

    batch = []
    for truth in frames:
        if state["gray"] is None:
            state["gray"] = is_grayscale(Image.fromarray(truth))
        batch.append((truth, *model.prepare(Image.fromarray(truth))))
        if len(batch) >= batch_size:
            run(batch)
            batch = []
    if batch:
        run(batch)
    finite = [[p for p in s if np.isfinite(p)] for s in psnrs]
    return {"frames": state["frames"], "gray": bool(state["gray"]), "truth_flicker": truth_flicker.value,
            "settings": [{"temporal": t, "psnr": None if state["gray"] or not f else float(np.mean(f)),
                          "flicker": fl.value, "cuts": sm.cuts}
                         for t, f, fl, sm in zip(temporals, finite, flickers, smoothers)]}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def run_video_evaluation(data, weights=None, out_dir="eval", temporal: float | list[float] | None = None,
                         render_size: int | None = None, device: str = "auto", precision: str = "auto",
                         limit: int | None = None, weights_dir=None, color_strength: float | None = None,
                         base_weights=None, temperature: float | None = None, saturation: float = 1.0,
                         batch_size: int = 8, size=CLIP_SIZE, seconds: float = CLIP_SECONDS,
                         fps: float = CLIP_FPS) -> dict:
    """Score one weights file (infer.Colorizer.load, as colorize chooses them) on the films in data
    (find_clips) at each temporal smoothing (default: 0 and limits.DEFAULT_TEMPORAL); print one table,
    write video_per_clip.csv and video_summary.json to out_dir; return the summary."""
    from tqdm.auto import tqdm

    from ..infer import Colorizer

    temporals = [0.0, DEFAULT_TEMPORAL] if temporal is None else (
        list(temporal) if isinstance(temporal, (list, tuple)) else [temporal])
    temporals = [check_temporal(t) for t in temporals]
    if 0.0 not in temporals:
        temporals = [0.0] + temporals  # the per-frame row everything is compared with
    clips, kind = find_clips(data, limit, size, seconds, fps)
    model = Colorizer.load(weights, device=device, precision=precision, render_size=render_size,
                           weights_dir=weights_dir, color_strength=color_strength, base_weights=base_weights,
                           temperature=temperature)
    rows, per_clip = [], []
    for name, frames in tqdm(clips, unit="clip", desc="evaluate --video"):
        scored = score_clip(model, frames(), temporals, saturation, batch_size)
        per_clip.append(dict(scored, name=name))
        for s in scored["settings"]:
            rows.append({"clip": name, "frames": scored["frames"], "temporal": s["temporal"], "psnr": s["psnr"],
                         "flicker": s["flicker"], "truth_flicker": scored["truth_flicker"], "cuts": s["cuts"]})
    settings = []
    for i, t in enumerate(temporals):
        mine = [c["settings"][i] for c in per_clip]
        settings.append({"temporal": t, "psnr": _mean(s["psnr"] for s in mine),
                         "flicker": _mean(s["flicker"] for s in mine)})
    base = settings[temporals.index(0.0)]
    for s in settings:
        s["psnr_vs_per_frame"] = None if s["psnr"] is None or base["psnr"] is None else s["psnr"] - base["psnr"]
        s["flicker_share"] = None if not base["flicker"] or s["flicker"] is None else s["flicker"] / base["flicker"]
    summary = {"data": str(data), "kind": kind, "clips": len(per_clip), "frames": sum(c["frames"] for c in per_clip),
               "weights": model.meta["path"], "render_size": model.render_size, "saturation": saturation,
               "device": str(model.device), "precision": model.precision,
               "truth_flicker": _mean(c["truth_flicker"] for c in per_clip if not c["gray"]),
               "settings": settings, "per_clip": per_clip}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "video_per_clip.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["clip"])
        writer.writeheader()
        writer.writerows({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows)
    (out / "video_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print_table(summary)
    print(f"Wrote {out / 'video_per_clip.csv'} and {out / 'video_summary.json'}")
    return summary


def print_table(summary: dict) -> None:
    def fmt(v, spec):
        return f"{'-':>{int(spec.lstrip('+').split('.')[0])}}" if v is None else format(v, spec)

    print(f"\n{summary['clips']} film(s), {summary['frames']} frames ({summary['kind']}: {summary['data']}); "
          f"{summary['weights']} at render size {summary['render_size']}, {summary['device']} {summary['precision']}")
    print(f"{'':22}{'PSNR':>8}{'vs per-frame':>14}{'flicker':>9}{'of per-frame':>14}")
    for s in summary["settings"]:
        name = "per-frame (0)" if s["temporal"] == 0 else f"temporal {s['temporal']:g}"
        print(f"{name:22}{fmt(s['psnr'], '8.2f')}{fmt(s['psnr_vs_per_frame'], '+14.2f')}"
              f"{fmt(s['flicker'], '9.3f')}{fmt(s['flicker_share'], '14.0%')}")
    print(f"{'ground truth':22}{'':8}{'':14}{fmt(summary['truth_flicker'], '9.3f')}")
