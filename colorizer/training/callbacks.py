"""Side concerns of training, kept out of the loop: progress bar, CSV log, sample grids,
checkpoints, loss curve. Each is a small object with the hooks it needs."""
from __future__ import annotations

import csv
import math
from pathlib import Path

from tqdm.auto import tqdm

from .. import checkpoint as ckpt
from ..images import to_pil
from ..sheets import make_grid
from .runs import TrainingError


class Callback:
    def on_train_begin(self, trainer) -> None: ...
    def on_epoch_begin(self, trainer, epoch: int, steps: int) -> None: ...
    def on_step_end(self, trainer, losses: dict) -> None: ...
    def on_epoch_end(self, trainer, row: dict) -> None: ...
    def on_train_end(self, trainer) -> None: ...
    def on_interrupt(self, trainer, completed_epoch: int) -> None: ...


class ProgressBar(Callback):
    """One tqdm bar per epoch with the running losses."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar, self.running = enabled, None, {}

    def on_epoch_begin(self, trainer, epoch, steps):
        self.running = {}
        self.bar = tqdm(total=steps, desc=f"{trainer.cfg.stage} epoch {epoch}/{trainer.cfg.epochs}",
                        unit="batch", disable=not self.enabled, dynamic_ncols=True, leave=True)

    def on_step_end(self, trainer, losses):
        for k, v in losses.items():
            self.running[k] = v if k not in self.running else 0.9 * self.running[k] + 0.1 * v
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in self.running.items()}, refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, trainer, row):
        if self.bar is not None:
            self.bar.close()
        shown = {k: v for k, v in row.items() if k.startswith(("val_", "train_")) and isinstance(v, float)}
        trainer.log(f"epoch {row['epoch']}: " + "  ".join(f"{k}={v:.4f}" for k, v in shown.items())
                    + f"  ({row['seconds']:.0f}s, {row['images_per_s']:.1f} img/s)")


class CSVLogger(Callback):
    """runs/NAME/log.csv: one row of losses and validation numbers per epoch (appends on resume)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_epoch_end(self, trainer, row):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)


class SampleGrid(Callback):
    """runs/NAME/samples/epoch_XXX.png: one row per fixed validation photo: input, prediction, truth."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def on_epoch_end(self, trainer, row):
        images = trainer.sample_images()
        if images is None:
            return
        rows = [[to_pil(t) for t in photo] for photo in zip(*images)]
        self.folder.mkdir(parents=True, exist_ok=True)
        make_grid(rows, ("input", "prediction", "truth")).save(self.folder / f"epoch_{row['epoch']:03d}.png")


class Checkpointer(Callback):
    """Every `every` epochs and at the end: the resumable checkpoint (runs/NAME/last.pt). The weights
    file (--out) at the same times (keep="last"), or whenever an epoch beats every earlier one on
    the validation score (keep="best"). On an interrupt: the checkpoint alone."""

    def __init__(self, every: int = 1, keep: str = "last"):
        self.every, self.keep, self.saved = max(1, every), keep, None

    def on_epoch_end(self, trainer, row):
        epoch = row["epoch"]
        due = epoch % self.every == 0 or epoch == trainer.cfg.epochs
        if self.keep == "best" and self._is_best(trainer.history, row):
            self.save(trainer, epoch, weights=True)
        elif due:
            self.save(trainer, epoch, weights=self.keep == "last")

    def on_train_end(self, trainer):
        if trainer.history and self.saved != trainer.history[-1]["epoch"]:
            self.save(trainer, trainer.history[-1]["epoch"], weights=self.keep == "last")

    def on_interrupt(self, trainer, completed_epoch):
        self.save(trainer, completed_epoch, weights=False)

    @staticmethod
    def _is_best(history: list[dict], row: dict) -> bool:
        score = row.get("val_score")
        if score is None:  # no validation photos: the last epoch is the best we know
            return True
        return all(score > r.get("val_score", float("-inf")) for r in history if r is not row)

    @staticmethod
    def meta(trainer, epoch: int) -> dict:
        cfg = trainer.cfg
        m = ckpt.make_meta(
            stage=cfg.stage, task=trainer.task.name, backbone=trainer.backbone, size=cfg.size, epoch=epoch,
            images_seen=trainer.base_images_seen + trainer.images_seen, data=trainer.data.source, data_mix=trainer.data.mix,
            data_note=cfg.data_note, precision=trainer.precision, device=str(trainer.device), config=cfg.as_meta(),
            **trainer.task.meta())
        if trainer.init_meta:
            m["init"] = {k: v for k, v in trainer.init_meta.items() if k != "config"}
        if trainer.history:
            m["val"] = {k: v for k, v in trainer.history[-1].items() if k.startswith("val_")}
        return m

    def save(self, trainer, epoch, weights: bool = True):
        """last.pt, then (when due) the weights. Weights that cannot be written to --out go beside
        last.pt, and training goes on (fit() says where at the end). A checkpoint that cannot be
        written stops training with a TrainingError saying what is kept."""
        model, parts = trainer.stage.model, trainer.stage.parts()
        meta = self.meta(trainer, epoch)
        last = trainer.run_dir / "last.pt"
        try:
            ckpt.save_checkpoint(last, meta=meta, epoch=epoch, history=trainer.history, parts=parts)
            failed = None
        except ckpt.SaveError as err:
            failed = err
        else:
            self.saved = trainer.saved_epoch = epoch
        if weights:
            meta["kept"] = f"{self.keep} epoch" + (" by validation score" if self.keep == "best" else "")
            self.save_weights(trainer, model.state_dict(), meta)
        if failed is not None:
            kept = (f"{last} still holds epoch {trainer.saved_epoch}; --resume continues from it"
                    if trainer.saved_epoch is not None else "no checkpoint was saved")
            raise TrainingError(f"Training stopped: {failed}; {kept}")

    @staticmethod
    def save_weights(trainer, state: dict, meta: dict) -> None:
        out, half = Path(trainer.cfg.out), trainer.cfg.half
        try:
            trainer.weights_at = ckpt.save_weights(out, state, meta, half=half)
            trainer.weights_error = None
            return
        except ckpt.SaveError as err:
            error = str(err)
        aside = trainer.run_dir / (out.name if out.name != "last.pt" else f"weights_{out.name}")
        try:
            trainer.weights_at = ckpt.save_weights(aside, state, meta, half=half)
        except ckpt.SaveError as err:
            raise TrainingError(f"Training stopped: {error}, nor {err}") from None
        trainer.weights_error = error
        trainer.log(f"{error}: the weights were written to {aside} instead")


class LossCurve(Callback):
    """runs/NAME/loss_curve.png at the end of training, from the whole history (resumes included)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def on_train_end(self, trainer):
        history = trainer.history
        if not history:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = [k for k in history[0] if k.startswith(("train_", "val_l1")) and isinstance(history[0][k], float)]
        fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
        epochs = [r["epoch"] for r in history]
        for ax, k in zip(axes[0], keys):
            ax.plot(epochs, [r.get(k, math.nan) for r in history], marker="o", ms=3)
            ax.set_title(k)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        fig.suptitle(f"{trainer.cfg.stage}: {trainer.backbone}, {trainer.cfg.size}px")
        fig.tight_layout()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.path, dpi=100)
        plt.close(fig)


class GANBalance(Callback):
    """Stage 2's losses as the pix2pix literature reads them: D's loss near log 2 = 0.69 (bce; 0.25 with
    lsgan) means it cannot tell real pairs from generated ones, the balance sought; towards 0 it wins
    and G learns little from it. A warning when D's loss stays under WINS (bce; scaled for lsgan) at
    every step of an epoch."""

    WINS = 0.1
    BALANCED = {"bce": math.log(2), "lsgan": 0.25}

    def __init__(self):
        self.highest, self.steps = 0.0, 0

    def _levels(self, trainer) -> tuple[float, float]:
        balanced = self.BALANCED.get(trainer.cfg.gan_mode, math.log(2))
        return balanced, self.WINS * balanced / math.log(2)

    def on_train_begin(self, trainer):
        if trainer.cfg.stage == "gan":
            balanced, wins = self._levels(trainer)
            trainer.log(f"GAN losses: train_d near {balanced:.2f} is balanced (D cannot tell real pairs from "
                        f"generated ones); under {wins:.2g} all epoch, D wins; train_g_gan is G's fooling loss and "
                        f"train_{trainer.cfg.loss} should fall")

    def on_epoch_begin(self, trainer, epoch, steps):
        self.highest, self.steps = 0.0, 0

    def on_step_end(self, trainer, losses):
        if "train_d" in losses:
            self.highest, self.steps = max(self.highest, losses["train_d"]), self.steps + 1

    def on_epoch_end(self, trainer, row):
        _, wins = self._levels(trainer)
        if self.steps and self.highest < wins:
            trainer.log(f"warning: epoch {row['epoch']}: the discriminator wins (its loss stayed under {wins:.2g}, "
                        f"at most {self.highest:.3f}): G's GAN signal is weak and samples may degrade; try a "
                        f"lower --lr-d, --gan-mode lsgan or --d-spectral-norm")
