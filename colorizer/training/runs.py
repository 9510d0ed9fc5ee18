"""Small helpers around a run: its folder and files, its budget of steps and minutes, the
learning-rate schedule and the number of loader workers."""
from __future__ import annotations

import math
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import torch

from .. import checkpoint as ckpt


class TrainingError(RuntimeError):
    """Training cannot start or go on; the message says what is missing and what to do."""


def default_workers(device: torch.device) -> int:
    cpus = os.cpu_count() or 1
    if device.type == "cuda":
        return min(16, cpus)
    return 0 if cpus <= 2 else min(4, cpus // 2)


def start_weights(cfg) -> tuple[dict | None, dict]:
    """(generator state, its metadata) the run starts from: cfg.init, required for the GAN stage."""
    if cfg.init is None:
        return None, {}
    if not Path(cfg.init).is_file():
        command = f"python pretrain.py --data {cfg.data} --out {cfg.init}" if cfg.stage == "gan" else "--init PATH"
        raise TrainingError(f"{'Stage 2 starts from stage-1 weights, and ' if cfg.stage == 'gan' else ''}"
                            f"{cfg.init} does not exist. Make it with:\n    {command}")
    return ckpt.load_weights(cfg.init)


def load_start(generator: torch.nn.Module, state: dict, log=print) -> None:
    """Load start weights into the generator. When only the output layer differs in shape (an L1
    model continued as a classifier over ab bins, say), the rest is loaded and that layer starts new."""
    own = generator.state_dict()
    differ = [k for k in own if k in state and state[k].shape != own[k].shape]
    head = {k.rsplit(".", 1)[0] for k in differ}
    if differ and len(head) == 1:
        generator.load_state_dict({k: v for k, v in state.items() if k not in differ}, strict=False)
        log(f"Started from the given weights with a new output layer ({head.pop()}: "
            f"{tuple(state[differ[0]].shape)} -> {tuple(own[differ[0]].shape)})")
        return
    try:
        generator.load_state_dict(state)
    except RuntimeError as err:
        raise TrainingError(f"The start weights do not fit this generator: {str(err).splitlines()[0]}") from None


def keep_previous(path: Path, log=print) -> Path | None:
    """Nothing already trained is lost: an existing weights file, or the folder of an earlier run
    (its last.pt, log and samples), is moved aside with the date in its name, not overwritten.
    Returns where it went (None when there was nothing to keep)."""
    path = Path(path)
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return None
    stamp, n = f"{datetime.now():%Y%m%d-%H%M%S}", 1
    kept = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.stem}.{stamp}-{n}{path.suffix}")
    shutil.move(str(path), kept)
    log(f"{path} existed: kept it as {kept}")
    return kept


class Budget:
    """How far a run is, by steps or minutes, whichever is further; when to stop."""

    def __init__(self, total_steps: int, max_steps: int | None = None, minutes: float | None = None):
        self.total_steps = max(1, max_steps or total_steps)
        self.max_steps, self.minutes = max_steps, minutes
        self.started = time.time()

    def elapsed_minutes(self) -> float:
        return (time.time() - self.started) / 60

    def progress(self, steps: int) -> float:
        """Share of the run done, in [0, 1]."""
        done = steps / self.total_steps
        if self.minutes:
            done = max(done, self.elapsed_minutes() / self.minutes)
        return min(1.0, done)

    def spent(self, steps: int) -> bool:
        if self.max_steps is not None and steps >= self.max_steps:
            return True
        return self.minutes is not None and self.elapsed_minutes() >= self.minutes


def lr_factor(schedule: str, progress: float) -> float:
    """Multiplier of the base learning rate: 1 (constant), or cosine from 1 down to 2% (not zero)."""
    if schedule != "cosine":
        return 1.0
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))


def restore(last: Path, parts: dict, log=print) -> tuple[list[dict], int, int]:
    """Load a run's last.pt into its parts (networks, optimizers) ->
    (history, first epoch still to train, photos seen over all stages)."""
    if not Path(last).is_file():
        raise TrainingError(f"--resume: no checkpoint at {last}; start without --resume")
    state = ckpt.load_checkpoint(last)
    for name, part in parts.items():
        part.load_state_dict(state[name])
    log(f"Resumed from {last} after epoch {state['epoch']}")
    return list(state["history"]), int(state["epoch"]) + 1, int(state["meta"].get("images_seen", 0))
