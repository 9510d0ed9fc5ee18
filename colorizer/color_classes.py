"""Colors as classes: the ab plane cut into bins, a classification loss over them, and the
annealed mean that turns the predicted distribution back into one color (Zhang, Isola and Efros,
"Colorful Image Colorization", ECCV 2016).

An L1 or L2 regression averages the colors a gray patch could have, and an average of
plausible colors is brown: the sepia of stage 1. Predicting a distribution over colors and
decoding it with a temperature T keeps the vivid color where the model is sure (the distribution
is peaked) and falls back towards the mean where it is not: T = 1 is the mean, T -> 0 the mode.

Everything here works on ab in CIELAB units (not the networks' ab / AB_SCALE).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb

from .color import AB_SCALE

BIN = 10.0            # width of a bin in CIELAB units (as Zhang et al.; our gamut test keeps 213 bins, theirs 313)
SIGMA = 5.0           # soft encoding: Gaussian of this width over the nearest bins
NEIGHBOURS = 5
TEMPERATURE = 0.38    # Zhang et al.'s annealed-mean temperature
PIXELS_PER_STEP = 4096  # the loss looks at this many random pixels per image (it is a per-pixel mean)


def bin_centers(bin_size: float = BIN) -> torch.Tensor:
    """(Q, 2) ab centers of the bins that hold a displayable color at some lightness."""
    r = torch.arange(-110.0, 110.0 + 1e-6, bin_size)
    a, b = torch.meshgrid(r, r, indexing="ij")
    ab = torch.stack([a.flatten(), b.flatten()], 1)                  # (G, 2)
    L = torch.arange(5.0, 100.0, 5.0)
    lab = torch.cat([L.repeat_interleave(len(ab))[:, None], ab.repeat(len(L), 1)], 1)  # (len(L) * G, 3)
    rgb = lab_to_rgb(lab.T[None, :, :, None], clip=False)[0, :, :, 0].T  # (len(L) * G, 3)
    inside = ((rgb >= -1e-3) & (rgb <= 1 + 1e-3)).all(1).view(len(L), len(ab)).any(0)
    return ab[inside]


def soft_encode(ab: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ab (N, 2) -> (soft targets (N, Q) over the NEIGHBOURS nearest bins, index (N,) of the nearest)."""
    dist2 = torch.cdist(ab, centers).pow(2)
    d2, idx = dist2.topk(NEIGHBOURS, dim=1, largest=False)
    w = torch.softmax(-d2 / (2 * SIGMA**2), dim=1)
    target = torch.zeros_like(dist2).scatter_(1, idx, w)
    return target, idx[:, 0]


def class_weights(prior: torch.Tensor, rebalance: float) -> torch.Tensor:
    """Per-bin loss weights from the bins' frequency in the training photos (Zhang et al. eq. 4):
    w ~ 1 / ((1 - lam) * prior + lam / Q), scaled so that the expected weight is 1. lam = 1: all
    weights 1 (no rebalancing); smaller lam favours rare (saturated) colors more."""
    q = len(prior)
    w = 1.0 / ((1.0 - rebalance) * prior + rebalance / q)
    return w / (prior * w).sum()


def prior_from(ab_batches, centers: torch.Tensor, smooth: float = 1e-3) -> torch.Tensor:
    """Frequency of each bin (nearest bin) over batches of ab (B, 2, H, W), with a small floor."""
    counts = torch.zeros(len(centers))
    for ab in ab_batches:
        flat = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
        idx = torch.cdist(flat, centers).argmin(1)
        counts += torch.bincount(idx, minlength=len(centers)).float()
    p = counts / counts.sum().clamp_min(1)
    p = p + smooth / len(p)
    return p / p.sum()


def classification_loss(logits: torch.Tensor, ab: torch.Tensor, centers: torch.Tensor,
                        weights: torch.Tensor | None = None, pixels: int = PIXELS_PER_STEP) -> torch.Tensor:
    """Rebalanced cross-entropy of logits (B, Q, H, W) against soft-encoded ab (B, 2, H, W, CIELAB units),
    on `pixels` random pixels per image (the same positions in every image of the batch)."""
    b, q, h, w = logits.shape
    n = h * w
    pick = torch.randperm(n, device=logits.device)[: min(pixels, n)]
    lg = logits.flatten(2)[:, :, pick].permute(0, 2, 1).reshape(-1, q).float()
    tg = ab.flatten(2)[:, :, pick].permute(0, 2, 1).reshape(-1, 2).float()
    target, nearest = soft_encode(tg, centers)
    ce = -(target * F.log_softmax(lg, dim=1)).sum(1)
    if weights is not None:
        ce = ce * weights[nearest]
    return ce.mean()


def annealed_mean(logits: torch.Tensor, centers: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """logits (B, Q, H, W) -> ab (B, 2, H, W) in CIELAB units: the mean of softmax(logits / T)."""
    p = torch.softmax(logits.float() / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", p, centers.to(p.device, p.dtype))


def decode(logits: torch.Tensor, centers: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """A classes head's output -> normalised ab (ab / AB_SCALE), as an ab head gives it: what training's
    samples, inference and distillation's teachers all show of it."""
    return annealed_mean(logits, centers, temperature) / AB_SCALE
