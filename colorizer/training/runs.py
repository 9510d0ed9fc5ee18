"""Small helpers around a run: its folder and files (checked writable and with room before the
first step, leftovers of interrupted saves removed), its budget of steps and minutes, the
learning-rate schedule and the number of loader workers."""
from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

import torch

from .. import checkpoint as ckpt
from ..averaged import is_averaged


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
        command = f"python pretrain.py --data {' '.join(cfg.several(cfg.data))} --out {cfg.init}" if cfg.stage == "gan" else "--init PATH"
        raise TrainingError(f"{'Stage 2 starts from stage-1 weights, and ' if cfg.stage == 'gan' else ''}"
                            f"{cfg.init} does not exist. Make it with:\n    {command}")
    state, meta = ckpt.load_weights(cfg.init)
    if is_averaged(meta):
        names = ", ".join(str(m.get("file")) for m in meta.get("members") or [])
        raise TrainingError(f"{cfg.init}: averaged weights have no network of their own to train; start from "
                            f"one of their members ({names}), or teach one network their colors with "
                            f"--teachers {cfg.init}")
    return state, meta


def widen_inputs(state: dict, own: dict) -> tuple[dict, list[str]]:
    """A start whose first layer takes fewer input channels than the generator's (a colorizer started
    as a hints model: L -> L + hint map) gets them appended as zeros, there and wherever the U-Net
    carries its input along (fastai's last cross connection: its last block's channels grow by as
    many, in and out), so the new inputs change nothing until training moves them. Returns (state,
    names of the widened tensors); nothing is widened when the first layer's input did not grow."""
    first = next((k for k, v in state.items() if v.dim() == 4), None)
    if first is None or first not in own or own[first].dim() != 4:
        return state, []
    grow = own[first].shape[1] - state[first].shape[1]
    if grow <= 0:
        return state, []
    state, widened = dict(state), []
    for k, v in state.items():
        mine = own.get(k)
        if mine is None or mine.shape == v.shape or mine.dim() != v.dim():
            continue
        more = [m - n for m, n in zip(mine.shape, v.shape)]
        if any(d not in (0, grow) for d in more[:2]) or any(more[2:]):
            continue  # not an input that grew (e.g. a new output layer): load_start handles it
        wide = v.new_zeros(mine.shape)
        wide[tuple(slice(0, n) for n in v.shape)] = v
        state[k] = wide
        widened.append(k)
    return state, widened


def load_start(generator: torch.nn.Module, state: dict, log=print) -> None:
    """Load start weights into the generator. Layers whose input the generator widens (hints.py's
    map beside L) get zeros for the new channels (widen_inputs). When only the output layer differs
    in shape (an L1 model continued as a classifier over ab bins, say), the rest is loaded and that
    layer starts new."""
    own = generator.state_dict()
    state, widened = widen_inputs(state, own)
    if widened:
        log(f"Started from the given weights with {len(widened)} layer(s) taking new input channels, at zero "
            f"({', '.join(widened)})")
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


def remove_stale_temps(files: list[Path], log=print) -> list[Path]:
    """Remove the temp files that an interrupted save of these files left (a kill -9 while
    last.pt was written leaves a hidden `.last.pt.XXXX.tmp` as large as the checkpoint)."""
    removed = []
    for path in files:
        for tmp in ckpt.temp_files(path):
            try:
                size = tmp.stat().st_size
                tmp.unlink()
            except OSError:
                continue
            log(f"Removed {tmp} ({size / 1e6:.0f} MB), left by an interrupted save")
            removed.append(tmp)
    return removed


def check_writable(folders: list[Path]) -> None:
    """Each folder exists or can be made, and a file can be written in it: else TrainingError
    naming it, before any training (not after hours, when the weights are to be written)."""
    for folder in dict.fromkeys(Path(f) for f in folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except (FileExistsError, NotADirectoryError):
            raise TrainingError(f"Cannot write to {folder}: a file stands where that folder should be") from None
        except OSError as err:
            raise TrainingError(f"Cannot write to {folder} ({err.strerror or err}); choose another "
                                f"--out or --run-name") from None


def checkpoint_bytes(parts: dict) -> int:
    """About how large last.pt of these parts (networks and optimizers) is on disk. An optimizer
    that has not stepped yet counts as Adam's two moments per parameter."""
    total = 0
    for part in parts.values():
        if isinstance(part, torch.optim.Optimizer):
            if part.state:
                total += sum(v.numel() * v.element_size() for st in part.state.values()
                             for v in st.values() if torch.is_tensor(v))
            else:
                total += sum(2 * p.numel() * 4 for g in part.param_groups for p in g["params"])
        else:
            total += sum(v.numel() * v.element_size() for v in part.state_dict().values())
    return total


LOG_BYTES = 50_000_000  # room kept for log.csv, the sample grids and the loss curve


def room_needed(run_dir: Path, out: Path, parts: dict, weights: dict, half: bool, resume: bool) -> dict[Path, int]:
    """folder -> bytes a run writes there at most at once: last.pt twice in the run folder (the
    old one stays until its replacement is whole; on --resume the old one is on disk already),
    the weights file twice beside --out (the same), and room for logs and samples."""
    ckpt_size = checkpoint_bytes(parts)
    last = Path(run_dir) / "last.pt"
    have = last.stat().st_size if resume and last.is_file() else 0
    weights_size = sum(v.numel() * (2 if half and v.is_floating_point() else v.element_size())
                       for v in weights.values())
    needs: dict[Path, int] = {}
    for folder, size in ((Path(run_dir), max(0, 2 * ckpt_size - have) + LOG_BYTES),
                         (Path(out).parent, 2 * weights_size)):
        needs[folder] = needs.get(folder, 0) + size
    return needs


def check_room(needs: dict[Path, int]) -> None:
    """needs: folder -> bytes it must be able to take. Folders on the same disk add up; a disk
    with less free space than they need together is a TrainingError, before any training."""
    by_disk: dict[int, list[Path]] = {}
    for folder in needs:
        by_disk.setdefault(os.stat(ckpt.nearest_existing(folder)).st_dev, []).append(folder)
    for folders in by_disk.values():
        want = sum(needs[f] for f in folders)
        free = ckpt.free_space(folders[0])
        if free < want:
            parts = ", ".join(f"{needs[f] / 1e9:.2f} GB in {f}" for f in folders)
            raise TrainingError(f"Not enough disk space: training's files need about {want / 1e9:.2f} GB "
                                f"({parts}) and their disk has {free / 1e9:.2f} GB free; free some space or "
                                f"choose --out / --run-name on another disk")


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
