"""precision "auto" for training on a CPU is measured, not assumed (issue 46: bf16 autocast was reported
28x slower than fp32 on one CPU of the family where it is 1.4-1.9x faster on ours)."""
from __future__ import annotations

import time

import torch
from torch import nn

from colorizer.device import fastest_precision
from colorizer.training import Trainer, TrainConfig


class SlowIn(nn.Module):
    """A small network that stalls in one precision, as the classic U-Net did in bf16 on that CPU."""

    def __init__(self, slow: str):
        super().__init__()
        self.conv, self.slow = nn.Conv2d(1, 2, 3, padding=1), slow

    def forward(self, x):
        if (self.slow == "bf16") == torch.is_autocast_enabled("cpu"):
            time.sleep(0.05)
        return self.conv(x)


def test_the_faster_precision_is_chosen_and_the_model_is_left_as_it_was():
    x, cpu = torch.randn(2, 1, 16, 16), torch.device("cpu")
    for slow, want in (("bf16", "fp32"), ("fp32", "bf16")):
        model, lines = SlowIn(slow), []
        before = {k: v.clone() for k, v in model.state_dict().items()}
        assert fastest_precision(model, x, cpu, log=lines.append) == want
        assert f"on this CPU: {want}" in lines[0]
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        assert all(p.grad is None for p in model.parameters())  # the passes ran on a copy


def test_training_with_auto_says_what_it_measured(tmp_path, photo_dir):
    lines = []
    cfg = TrainConfig(stage="pretrain", data=str(photo_dir), val_fraction=0.25, out=tmp_path / "g.pt",
                      run_dir=tmp_path / "runs", size=64, epochs=1, batch_size=4, workers=0,
                      backbone="efficientnet_lite0", backbone_weights="none", precision="auto")
    t = Trainer(cfg, progress=False, log=lines.append)
    said = [line for line in lines if line.startswith("precision auto:")]
    assert len(said) == 1 and t.precision in ("bf16", "fp32") and said[0].endswith(f"{t.precision} (--precision to choose)")
    fixed = Trainer(TrainConfig(**{**cfg.__dict__, "precision": "fp32"}), progress=False, log=lines.append)
    assert fixed.precision == "fp32" and len([line for line in lines if line.startswith("precision auto:")]) == 1
