"""Make clean training lightness look like what users bring: scanned old prints.

Real inputs are faded, contrasty, grainy, soft and JPEG-compressed; the photos we train on are
clean. `old_print` damages the model's input L only (the target colors stay the truth), on the
batch, on the device, each photo differently: contrast and gamma jitter, blur, JPEG, grain.
"""
from __future__ import annotations

import torch
from kornia.enhance import jpeg_codec_differentiable
from kornia.filters import gaussian_blur2d


def _rand(b: int, lo: float, hi: float, like: torch.Tensor) -> torch.Tensor:
    return torch.empty(b, 1, 1, 1, device=like.device, dtype=like.dtype).uniform_(lo, hi)


@torch.no_grad()
def old_print(L: torch.Tensor, p: float = 0.8) -> torch.Tensor:
    """Normalised L (B, 1, H, W) in [-1, 1] -> the same photos as faded, grainy scans (a share p of
    them; the rest unchanged)."""
    b = L.shape[0]
    x = (L.float() + 1) / 2                                       # [0, 1]
    mean = x.mean((2, 3), keepdim=True)
    x = (x - mean) * _rand(b, 0.6, 1.4, x) + mean                 # contrast: faded or harsh
    x = x.clamp(0, 1) ** _rand(b, 0.7, 1.4, x)                    # gamma: dark or washed-out prints
    sigma = float(torch.empty(1).uniform_(0.3, 1.5))
    soft = gaussian_blur2d(x, (5, 5), (sigma, sigma))
    x = torch.where(torch.rand(b, 1, 1, 1, device=x.device) < 0.5, soft, x)  # half of them out of focus
    if x.shape[-1] % 16 == 0 and x.shape[-2] % 16 == 0:           # JPEG at quality 30-90
        q = torch.empty(b, device=x.device).uniform_(30, 90)
        x = jpeg_codec_differentiable(x.expand(-1, 3, -1, -1).contiguous(), q)[:, :1]
    x = x + torch.randn_like(x) * _rand(b, 0.0, 0.04, x)          # film grain
    out = x.clamp(0, 1) * 2 - 1
    keep = torch.rand(b, 1, 1, 1, device=L.device) >= p
    return torch.where(keep, L.float(), out).to(L.dtype).contiguous(memory_format=torch.channels_last)
