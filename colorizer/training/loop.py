"""The training loop, the same for both stages and every task.

What is learned comes from the task (tasks.py), how a step trains from the stage (stages.py);
side concerns (progress bar, CSV, samples, checkpoints, curve) live in callbacks.py, the run's
folder, budget and schedule in runs.py, several processes in distributed.py.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from ..device import fastest_precision, prepare, resolve_precision
from . import distributed
from .callbacks import Checkpointer, CSVLogger, GANBalance, LossCurve, ProgressBar, SampleGrid
from .config import TrainConfig
from .runs import (Budget, TrainingError, check_room, check_writable, default_workers, keep_previous, load_start,
                   lr_factor, remove_stale_temps, restore, room_needed, start_weights)
from .stages import STAGES, generate
from .tasks import make_task
from .teachers import photos_seen


class Trainer:
    """One training run. Under torchrun, one Trainer per process: rank 0 alone validates, logs and
    writes files (see distributed.py)."""

    def __init__(self, cfg: TrainConfig, log=print, progress: bool = True):
        self.cfg, self.task = cfg, make_task(cfg)
        self.dist, self.device = distributed.init(cfg.device)
        self.log = log if self.dist.main else (lambda *a, **k: None)
        self.precision = resolve_precision(cfg.precision, self.device)
        self.history: list[dict] = []
        self.start_epoch, self.steps, self.images_seen = 1, 0, 0
        self.run_dir = Path(cfg.run_dir)
        # where the weights are (set by the Checkpointer): --out, or beside last.pt when --out failed
        self.saved_epoch: int | None = None
        self.weights_at, self.weights_error = Path(cfg.out), None
        if self.dist.main:  # before anything slow: a run that cannot write its results does not start
            remove_stale_temps([Path(cfg.out), self.run_dir / "last.pt"], self.log)
            check_writable([Path(cfg.out).parent, self.run_dir.parent, self.run_dir])
        torch.manual_seed(cfg.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

        init_state, self.init_meta = start_weights(cfg)
        # photos behind the start: the start's own, or the most any teacher saw (a student ranks with them)
        self.base_images_seen = max(int(self.init_meta.get("images_seen", 0)), photos_seen(cfg.teachers))
        self.backbone = self.init_meta.get("backbone", cfg.backbone)
        workers = default_workers(self.device) if cfg.workers < 0 else cfg.workers
        self.data = self.task.loaders(cfg, workers, self.device.type == "cuda", self.dist.rank, self.dist.world,
                                      self.log)
        where = f"{self.dist.world} processes on {self.device.type}" if self.dist.enabled else str(self.device)
        self.log(f"{cfg.stage}: {self.data.n_train} training and {self.data.n_val} validation photos from "
                 f"{self.data.source}, {cfg.size}px, batch {cfg.batch_size}{' per process' if self.dist.enabled else ''}"
                 f", on {where} ({self.precision}), {workers} loader workers")

        generator = self.task.build_generator(self.backbone, "none" if init_state else cfg.backbone_weights, cfg.size)
        if init_state is not None:
            load_start(generator, init_state, self.log)
        self.generator = prepare(generator, self.device)
        if cfg.precision == "auto" and self.device.type == "cpu" and not self.dist.enabled:
            self.precision = self._fastest_precision()
        self.stage = STAGES[cfg.stage](cfg, self.task, self.generator, self.device, self.precision,
                                       lambda m: distributed.wrap(m, self.dist, self.device))
        if cfg.resume:
            self.history, self.start_epoch, seen = restore(self.run_dir / "last.pt", self.stage.parts(), self.log)
            self.steps = int(self.history[-1].get("steps", 0)) if self.history else 0
            self.images_seen = seen - self.base_images_seen
            self.saved_epoch = self.start_epoch - 1
        if self.dist.main:
            check_room(room_needed(self.run_dir, Path(cfg.out), self.stage.parts(), self.stage.model.state_dict(),
                                   cfg.half, cfg.resume))
            if not cfg.resume:
                keep_previous(Path(cfg.out), self.log)
                keep_previous(self.run_dir, self.log)
        self.fixed_val = next(iter(self.data.val), None)
        self.callbacks = [ProgressBar(progress), CSVLogger(self.run_dir / "log.csv"),
                          SampleGrid(self.run_dir / "samples"), Checkpointer(cfg.save_every, cfg.keep),
                          LossCurve(self.run_dir / "loss_curve.png"), GANBalance()] if self.dist.main else []

    def _fastest_precision(self) -> str:
        """auto on a CPU: whichever of bf16 and fp32 runs the generator's passes faster on a real batch
        (device.fastest_precision); the rule's bf16 when there is no batch to time."""
        batch = next(iter(self.data.val), None)
        if batch is None:
            return self.precision
        x, _ = self.task.split(batch[: self.cfg.batch_size], self.device)
        return fastest_precision(self.generator, x, self.device, log=self.log)

    # ---- what the callbacks and the stages see ---------------------------------------------
    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The generator that is saved (the moving average with --ema), in eval mode, on a batch."""
        model = self.stage.model.eval()
        try:
            return generate(model, x, self.device, self.precision).float()
        finally:
            model.train()

    def validate(self) -> dict:
        """The task's validation metrics as val_* columns. With several validation folders, each is
        also logged as val_NAME_*, and val_* (the score that --keep best reads included) is their mean,
        so that a large folder does not outvote a small one."""
        if not self.data.val_sets:
            return {f"val_{k}": v for k, v in self._validate(self.data.val).items()}
        rows = {name: row for name, loader in self.data.val_sets if (row := self._validate(loader))}
        mean = {f"val_{k}": sum(row[k] for row in rows.values()) / len(rows) for k in next(iter(rows.values()), {})}
        return dict(mean, **{f"val_{name}_{k}": v for name, row in rows.items() for k, v in row.items()})

    def _validate(self, loader) -> dict:
        """The task's validation summary on one loader (up to --val-batches), or {} when it is empty."""
        totals, n = {}, 0
        for i, batch in enumerate(loader):
            if self.cfg.val_batches is not None and i >= self.cfg.val_batches:
                break
            x, y = self.task.split(batch, self.device)
            for k, v in self.task.val_metrics(x, self.predict(x), y).items():
                totals[k] = totals.get(k, 0.0) + v
            n += x.shape[0]
        return self.task.val_summary({k: v / n for k, v in totals.items()}) if n else {}

    def sample_images(self):
        """(input, prediction, truth) RGB batches of the fixed validation photos, or None."""
        if self.fixed_val is None:
            return None
        x, y = self.task.split(self.fixed_val[: self.cfg.samples], self.device)
        t = self.task
        pred = t.decode(self.predict(x))
        return t.input_image(x).cpu(), t.output_image(x, pred).cpu(), t.output_image(x, y).cpu()

    def finite(self) -> bool:
        """Every parameter of every network finite (checked once an epoch, before anything is saved)."""
        return all(torch.isfinite(p).all() for part in self.stage.parts().values()
                   if isinstance(part, torch.nn.Module) for p in part.parameters())

    def diverged(self, what: str) -> str:
        """The message when training has gone to NaN or inf: it stops, nothing more is saved."""
        advice = "lower --lr or use --precision fp32"
        if self.saved_epoch is None:
            return f"Training stopped: {what}; nothing had been saved yet. Start again: {advice}"
        weights = f", and the weights in {self.weights_at}" if self.weights_at.is_file() else ""
        return (f"Training stopped: {what}; the last good checkpoint, {self.run_dir / 'last.pt'} (epoch "
                f"{self.saved_epoch}), is kept{weights}. Continue with --resume, or start again: {advice}")

    # ---- the loop ------------------------------------------------------------------------------
    def _event(self, name: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(self, *args)

    def _clock(self, budget: Budget) -> tuple[bool, float]:
        """(stop now?, share of the run done) by rank 0's clock, so that all processes stop together."""
        stop, progress = distributed.rank0_values([float(budget.spent(self.steps)), budget.progress(self.steps)],
                                                  self.dist, self.device)
        return stop > 0, progress

    def run_epoch(self, epoch: int, budget: Budget) -> tuple[dict, bool]:
        """Train one epoch (or until the budget is spent) -> (its log row, stop now?)."""
        self.stage.train()
        if hasattr(self.data.train.sampler, "set_epoch"):  # DDP, or several --data parts drawn by share
            self.data.train.sampler.set_epoch(epoch)
        self._event("on_epoch_begin", epoch, len(self.data.train))
        started, sums, n_steps, n_images = budget.elapsed_minutes(), {}, 0, 0
        stop, progress = self._clock(budget)
        for batch in self.data.train:
            for opt, base in self.stage.optimizers():
                for group in opt.param_groups:
                    group["lr"] = base * group.get("lr_scale", 1.0) * lr_factor(self.cfg.lr_schedule, progress)
            losses = self.stage.step(*self.task.split(batch, self.device, train=True))
            bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
            if bad:
                raise TrainingError(self.diverged(f"{', '.join(f'{k} became {v}' for k, v in bad.items())} "
                                                  f"in epoch {epoch}, step {self.steps + 1}"))
            n_steps, n_images = n_steps + 1, n_images + batch.shape[0] * self.dist.world
            self.steps += 1
            self.images_seen += batch.shape[0] * self.dist.world
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            self._event("on_step_end", losses)
            stop, progress = self._clock(budget)
            if stop:
                break
        if not self.finite():  # the loss of the last step was finite, the update after it was not
            raise TrainingError(self.diverged(f"the weights became NaN or inf in epoch {epoch}"))
        seconds = (budget.elapsed_minutes() - started) * 60
        row = {"epoch": epoch, **{k: v / max(1, n_steps) for k, v in sums.items()}}
        if self.dist.main:
            row.update(self.validate())
        row.update(lr=self.stage.opt_g.param_groups[0]["lr"], seconds=seconds,
                   images_per_s=n_images / max(seconds, 1e-9), steps=self.steps,
                   images_seen=self.base_images_seen + self.images_seen)
        return row, stop

    def fit(self) -> list[dict]:
        cfg = self.cfg
        budget = Budget(cfg.epochs * max(1, len(self.data.train)), cfg.max_steps, cfg.time_limit)
        self._event("on_train_begin")
        completed = self.start_epoch - 1
        try:
            for epoch in range(self.start_epoch, cfg.epochs + 1):
                row, stop = self.run_epoch(epoch, budget)
                self.history.append(row)
                self._event("on_epoch_end", row)
                distributed.barrier(self.dist)  # the others wait while rank 0 validates and saves
                completed = epoch
                if stop:
                    self.log(f"Stopping after epoch {epoch}: step or time budget reached")
                    break
        except KeyboardInterrupt:
            # the weights so far are kept; --resume repeats the unfinished epoch
            self._event("on_interrupt", completed)
            self.log(f"Interrupted in epoch {completed + 1}: weights kept in {self.run_dir / 'last.pt'}; "
                     f"continue with --resume")
            raise
        self._event("on_train_end")
        if self.weights_error:  # everything is kept, but not where it was asked for: say so, and fail
            raise TrainingError(f"{self.weights_error}; the weights were written to {self.weights_at} instead")
        self.log(f"Weights: {self.weights_at}   log, samples, curve: {self.run_dir}/")
        return self.history


def train(cfg: TrainConfig, log=print, progress: bool = True) -> list[dict]:
    trainer = Trainer(cfg, log=log, progress=progress)
    try:
        return trainer.fit()
    finally:
        distributed.close(trainer.dist)
