"""Stable colors over time: the predicted chroma smoothed from frame to frame, at render size.

Colorizing frame by frame flickers: grain, a pan or a small change of exposure moves the network's
input a little, and its colors jump (the same coat red, then brown, then red). TemporalSmoother keeps
an exponential moving average of ab at render size, before the chroma is laid onto each frame's
full-size L:

    ab_out = w * ab_out(previous frame) + (1 - w) * ab_predicted,   per pixel,
    w = strength * exp(-(dL / motion)^2),

where dL is the change of the render-size lightness since the previous frame (3 x 3 box-averaged, in
CIELAB L units): where something moved, the past drops out and the new prediction is used as it is,
so moving things are not smeared. A scene cut (the mean |dL| above `cut`) starts the average again.
strength 0 is per-frame colorizing (the predictions returned untouched). Following camera pans (the
past shifted by the whole-frame translation phase correlation finds) was tried and left out: it
changed neither flicker nor PSNR on the test clips (docs/video.md).
"""
from __future__ import annotations

import numpy as np

from ..limits import DEFAULT_TEMPORAL, MAX_TEMPORAL, MIN_TEMPORAL

L_UNITS = 50.0          # normalised L (L / 50 - 1) -> CIELAB L units
MOTION_L = 8.0          # dL (L units) at which the past keeps exp(-1) = 37% of its weight
CUT_L = 18.0            # a mean |dL| above this between two frames is a scene cut (pans: up to ~15)


def check_temporal(strength: float) -> float:
    if not MIN_TEMPORAL <= strength <= MAX_TEMPORAL:
        raise ValueError(f"temporal smoothing {strength:g} is outside {MIN_TEMPORAL:g}..{MAX_TEMPORAL:g}")
    return float(strength)


def _box3(x: np.ndarray) -> np.ndarray:
    """3 x 3 box average with edges repeated, same shape."""
    p = np.pad(x, 1, mode="edge")
    rows = p[:-2] + p[1:-1] + p[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9.0


class TemporalSmoother:
    """Feed each frame's render-size L and predicted ab in order; get the ab to lay onto it (see the module).

    strength: the weight of the past, in [0, MAX_TEMPORAL] (limits.py); 0 returns every prediction as it
    is. `cuts` counts the scene cuts the average restarted at.
    """

    def __init__(self, strength: float = DEFAULT_TEMPORAL, motion: float = MOTION_L, cut: float = CUT_L):
        self.strength = check_temporal(strength)
        self.motion, self.cut = motion, cut
        self.cuts = 0
        self.reset()

    def reset(self) -> None:
        self._L: np.ndarray | None = None
        self._ab: np.ndarray | None = None

    def __call__(self, L: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """L: normalised lightness at render size ((1, 1,) h, w); ab: normalised prediction ((1,) 2, h, w)
        -> the ab to use for this frame (2, h, w), float32."""
        ab = np.asarray(ab, np.float32).reshape(ab.shape[-3:])
        if self.strength == 0:
            return ab
        L = np.asarray(L, np.float32).reshape(L.shape[-2:]) * L_UNITS
        prev_L, prev_ab = self._L, self._ab
        self._L = L
        if prev_L is None or prev_L.shape != L.shape:
            self._ab = ab
            return ab
        change = np.abs(L - prev_L)
        if change.mean() > self.cut:
            self.cuts += 1
            self._ab = ab
            return ab
        weight = self.strength * np.exp(-np.square(_box3(change) / self.motion))
        out = (weight * prev_ab + (1.0 - weight) * ab).astype(np.float32)
        self._ab = out
        return out
