"""The two training stages.

Stage 1 ("pretrain"): the generator alone, L1 loss on ab.
Stage 2 ("gan"): pix2pix. The generator starts from stage 1 and is fine-tuned against a
PatchGAN that sees (L, ab) pairs; generator loss = GAN + l1_weight * L1.
Side concerns (progress bar, CSV, samples, checkpoints, curve) live in callbacks.py.
"""
from __future__ import annotations

import math
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from . import distributed
from .callbacks import Checkpointer, CSVLogger, LossCurve, ProgressBar, SampleGrid
from .color import gray_rgb, lab_norm_to_rgb, rgb_to_lab_norm
from .config import TrainConfig
from .data import make_loaders, resolve_data, scan_photos, split_files
from .device import autocast, prepare, resolve_precision, to_input
from .models import PatchDiscriminator, build_generator


class TrainingError(RuntimeError):
    """Training cannot start; the message says what is missing and how to make it."""


def default_workers(device: torch.device) -> int:
    cpus = os.cpu_count() or 1
    if device.type == "cuda":
        return min(16, cpus)
    return 0 if cpus <= 2 else min(4, cpus // 2)


def gan_loss(logits: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    if mode == "lsgan":
        return F.mse_loss(logits, target)
    return F.binary_cross_entropy_with_logits(logits, target)


class Trainer:
    """One training run of either stage. Under torchrun, one Trainer per process: rank 0 alone
    validates, logs and writes files (see distributed.py)."""

    def __init__(self, cfg: TrainConfig, log=print, progress: bool = True):
        self.cfg = cfg
        self.dist, self.device = distributed.init(cfg.device)
        self.log = log if self.dist.main else (lambda *a, **k: None)
        self.precision = resolve_precision(cfg.precision, self.device)
        self.history: list[dict] = []
        self.start_epoch = 1
        self.images_seen = 0
        self.base_images_seen = 0
        self.steps = 0
        self.discriminator = self.opt_d = None
        run = Path(cfg.run_dir)
        self.callbacks = [ProgressBar(progress), CSVLogger(run / "log.csv"), SampleGrid(run / "samples"),
                          Checkpointer(cfg.save_every), LossCurve(run / "loss_curve.png")] if self.dist.main else []
        torch.manual_seed(cfg.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self._setup()

    # ---- setup -------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg = self.cfg
        init_meta = {}
        if cfg.stage == "gan":
            init = Path(cfg.init) if cfg.init else None
            if init is None or not init.is_file():
                raise TrainingError(
                    f"Stage 2 starts from stage-1 weights, and {init} does not exist. Make it with:\n"
                    f"    python pretrain.py --data {cfg.data} --out {init}")
            init_state, init_meta = ckpt.load_weights(init)
            self.backbone = init_meta.get("backbone", cfg.backbone)
            self.base_images_seen = int(init_meta.get("images_seen", 0))
        else:
            self.backbone = cfg.backbone
        self.init_meta = init_meta

        folder = resolve_data(cfg.data)
        files = scan_photos(folder, log=self.log)
        if cfg.val_data:
            train_files, val_files = files, scan_photos(resolve_data(cfg.val_data), log=self.log)
        else:
            train_files, val_files = split_files(files, cfg.val_fraction, cfg.seed)
        self.data_path = folder
        workers = default_workers(self.device) if cfg.workers < 0 else cfg.workers
        self.train_dl, self.val_dl = make_loaders(train_files, val_files, cfg.size, cfg.batch_size, workers,
                                                  cfg.seed, pin_memory=self.device.type == "cuda",
                                                  rank=self.dist.rank, world=self.dist.world)
        where = f"{self.dist.world} processes on {self.device.type}" if self.dist.enabled else str(self.device)
        self.log(f"{cfg.stage}: {len(train_files)} training and {len(val_files)} validation photos from "
                 f"{folder}, {cfg.size}px, batch {cfg.batch_size}{' per process' if self.dist.enabled else ''}, "
                 f"on {where} ({self.precision}), {workers} loader workers")

        gen = build_generator(self.backbone, "none" if cfg.stage == "gan" else cfg.backbone_weights, cfg.size)
        if cfg.stage == "gan":
            gen.load_state_dict(init_state)
        self.generator = prepare(gen, self.device)
        betas = tuple(cfg.betas)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr, betas=betas)
        if cfg.stage == "gan":
            self.discriminator = prepare(PatchDiscriminator(), self.device)
            self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=betas)

        last = Path(cfg.run_dir) / "last.pt"
        if cfg.resume:
            if not last.is_file():
                raise TrainingError(f"--resume: no checkpoint at {last}; start without --resume")
            state = ckpt.load_checkpoint(last)
            self.generator.load_state_dict(state["generator"])
            self.opt_g.load_state_dict(state["opt_g"])
            if self.discriminator is not None:
                self.discriminator.load_state_dict(state["discriminator"])
                self.opt_d.load_state_dict(state["opt_d"])
            self.history = list(state["history"])
            self.steps = int(self.history[-1].get("steps", 0)) if self.history else 0
            self.start_epoch = int(state["epoch"]) + 1
            self.images_seen = int(state["meta"].get("images_seen", 0)) - self.base_images_seen
            self.log(f"Resumed from {last} after epoch {state['epoch']}")
        elif self.dist.main:
            self._protect_previous(Path(cfg.out))
            self._protect_previous(Path(cfg.run_dir))
        # what the steps run: DDP wrappers when distributed, the modules themselves otherwise
        self.g_train = distributed.wrap(self.generator, self.dist, self.device)
        self.d_train = (distributed.wrap(self.discriminator, self.dist, self.device)
                        if self.discriminator is not None else None)
        self.fixed_val = next(iter(self.val_dl), None)

    def _protect_previous(self, out: Path) -> None:
        """Nothing already trained is lost: an existing weights file, or the run folder of an earlier
        run (its last.pt, log and samples), is moved aside with the date in its name, not overwritten."""
        if out.exists() and (out.is_file() or any(out.iterdir())):
            stamp, n = f"{datetime.now():%Y%m%d-%H%M%S}", 1
            kept = out.with_name(f"{out.stem}.{stamp}{out.suffix}")
            while kept.exists():
                n += 1
                kept = out.with_name(f"{out.stem}.{stamp}-{n}{out.suffix}")
            shutil.move(str(out), kept)
            self.log(f"{out} existed: kept it as {kept}")

    # ---- steps -------------------------------------------------------------------------
    def _lab(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = batch.to(self.device, non_blocking=True).float().div_(255.0)
        L, ab = rgb_to_lab_norm(rgb)
        return to_input(L, self.device), to_input(ab, self.device)

    def pretrain_step(self, L, ab) -> dict:
        with autocast(self.device, self.precision):
            pred = self.g_train(L)
        loss = F.l1_loss(pred.float(), ab)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"train_l1": loss.item()}

    def gan_step(self, L, ab) -> dict:
        cfg, D, G = self.cfg, self.d_train, self.g_train
        with autocast(self.device, self.precision):
            fake = G(L)
        # discriminator: real pairs -> 1, generated pairs -> 0
        D.requires_grad_(True)
        with autocast(self.device, self.precision):
            real_logits = D(L, ab)
            fake_logits = D(L, fake.detach())
        loss_d = 0.5 * (gan_loss(real_logits.float(), True, cfg.gan_mode)
                        + gan_loss(fake_logits.float(), False, cfg.gan_mode))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # generator: fool D, stay close to the truth
        D.requires_grad_(False)
        with autocast(self.device, self.precision):
            logits = D(L, fake)
        loss_gan = gan_loss(logits.float(), True, cfg.gan_mode)
        loss_l1 = F.l1_loss(fake.float(), ab)
        loss_g = loss_gan + cfg.l1_weight * loss_l1
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        return {"train_d": loss_d.item(), "train_g_gan": loss_gan.item(), "train_l1": loss_l1.item()}

    # ---- validation --------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict:
        G = self.generator.eval()
        total = {"l1": 0.0, "psnr": 0.0, "chroma_pred": 0.0, "chroma_true": 0.0}
        n = 0
        for i, batch in enumerate(self.val_dl):
            if self.cfg.val_batches is not None and i >= self.cfg.val_batches:
                break
            L, ab = self._lab(batch)
            with autocast(self.device, self.precision):
                pred = G(L)
            pred = pred.float().clamp(-1, 1)
            b = L.shape[0]
            total["l1"] += F.l1_loss(pred, ab, reduction="sum").item() / (ab[0].numel())
            rgb_pred = lab_norm_to_rgb(L, pred)
            rgb_true = lab_norm_to_rgb(L, ab)
            mse = ((rgb_pred - rgb_true) ** 2).flatten(1).mean(1).clamp_min(1e-10)
            total["psnr"] += (10 * torch.log10(1.0 / mse)).sum().item()
            total["chroma_pred"] += (pred.float().norm(dim=1).mean((1, 2)) * 110).sum().item()
            total["chroma_true"] += (ab.norm(dim=1).mean((1, 2)) * 110).sum().item()
            n += b
        G.train()
        if n == 0:
            return {}
        return {f"val_{k}": v / n for k, v in total.items()}

    @torch.no_grad()
    def sample_images(self):
        if self.fixed_val is None:
            return None
        G = self.generator.eval()
        L, ab = self._lab(self.fixed_val[: self.cfg.samples])
        with autocast(self.device, self.precision):
            pred = G(L).float().clamp(-1, 1)
        G.train()
        return gray_rgb(L).cpu(), lab_norm_to_rgb(L, pred).cpu(), lab_norm_to_rgb(L, ab).cpu()

    # ---- saving ------------------------------------------------------------------------
    def meta(self, epoch: int) -> dict:
        m = ckpt.make_meta(
            stage=self.cfg.stage, backbone=self.backbone, size=self.cfg.size, epoch=epoch,
            images_seen=self.base_images_seen + self.images_seen, data=str(self.data_path),
            data_note=self.cfg.data_note, precision=self.precision, device=str(self.device),
            config=self.cfg.as_meta())
        if self.init_meta:
            m["init"] = {k: v for k, v in self.init_meta.items() if k != "config"}
        if self.history:
            m["val"] = {k: v for k, v in self.history[-1].items() if k.startswith("val_")}
        return m

    def save_checkpoint(self, epoch: int) -> Path:
        return ckpt.save_checkpoint(Path(self.cfg.run_dir) / "last.pt", meta=self.meta(epoch),
                                    generator=self.generator, opt_g=self.opt_g, epoch=epoch,
                                    history=self.history, discriminator=self.discriminator, opt_d=self.opt_d)

    def save_weights(self, epoch: int) -> Path:
        return ckpt.save_weights(self.cfg.out, self.generator.state_dict(), self.meta(epoch), half=self.cfg.half)

    # ---- the loop ----------------------------------------------------------------------
    def _progress(self, started: float) -> float:
        """Share of the run done, by steps or by the time limit, whichever is further."""
        cfg = self.cfg
        total = cfg.max_steps or cfg.epochs * max(1, len(self.train_dl))
        done = self.steps / total
        if cfg.time_limit:
            done = max(done, (time.time() - started) / 60 / cfg.time_limit)
        return min(1.0, done)

    def _clock(self, started: float) -> tuple[bool, float]:
        """(stop now?, share of the run done), as rank 0 sees them, so all processes agree."""
        stop, progress = distributed.rank0_values(
            [float(self._out_of_budget(started)), self._progress(started)], self.dist, self.device)
        return stop > 0, progress

    def _set_lr(self, progress: float) -> None:
        if self.cfg.lr_schedule != "cosine":
            return
        factor = 0.5 * (1 + math.cos(math.pi * progress))
        factor = 0.02 + 0.98 * factor  # end at 2% of the starting rate, not zero
        for opt, base in ((self.opt_g, self.cfg.lr), (self.opt_d, self.cfg.lr_d)):
            if opt is not None:
                for group in opt.param_groups:
                    group["lr"] = base * factor

    def _out_of_budget(self, started: float) -> bool:
        cfg = self.cfg
        if cfg.max_steps is not None and self.steps >= cfg.max_steps:
            return True
        return cfg.time_limit is not None and (time.time() - started) / 60 >= cfg.time_limit

    def fit(self) -> list[dict]:
        cfg = self.cfg
        step = self.pretrain_step if cfg.stage == "pretrain" else self.gan_step
        for cb in self.callbacks:
            cb.on_train_begin(self)
        started = time.time()
        completed = self.start_epoch - 1
        try:
            for epoch in range(self.start_epoch, cfg.epochs + 1):
                self.generator.train()
                if self.discriminator is not None:
                    self.discriminator.train()
                if self.dist.enabled:
                    self.train_dl.sampler.set_epoch(epoch)
                for cb in self.callbacks:
                    cb.on_epoch_begin(self, epoch, len(self.train_dl))
                t0, sums, n_steps, n_images = time.time(), {}, 0, 0
                stop, progress = self._clock(started)
                for batch in self.train_dl:
                    self._set_lr(progress)
                    L, ab = self._lab(batch)
                    losses = step(L, ab)
                    if not all(math.isfinite(v) for v in losses.values()):
                        raise TrainingError(f"Loss became {losses} at epoch {epoch}; lower --lr "
                                            f"or use --precision fp32. Last good weights: {cfg.out}")
                    n_steps += 1
                    n_images += batch.shape[0] * self.dist.world
                    self.steps += 1
                    self.images_seen += batch.shape[0] * self.dist.world
                    for k, v in losses.items():
                        sums[k] = sums.get(k, 0.0) + v
                    for cb in self.callbacks:
                        cb.on_step_end(self, losses)
                    stop, progress = self._clock(started)
                    if stop:
                        break
                seconds = time.time() - t0
                row = {"epoch": epoch, **{k: v / max(1, n_steps) for k, v in sums.items()}}
                if self.dist.main:
                    row.update(self.validate())
                row.update(lr=self.opt_g.param_groups[0]["lr"], seconds=seconds,
                           images_per_s=n_images / max(seconds, 1e-9),
                           steps=self.steps, images_seen=self.base_images_seen + self.images_seen)
                self.history.append(row)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, row)
                distributed.barrier(self.dist)  # the others wait while rank 0 validates and saves
                completed = epoch
                if stop:
                    self.log(f"Stopping after epoch {epoch}: step or time budget reached")
                    break
        except KeyboardInterrupt:
            # the weights so far are kept; --resume repeats the unfinished epoch
            if self.dist.main:
                self.save_checkpoint(completed)
            self.log(f"Interrupted in epoch {completed + 1}: weights kept in {Path(cfg.run_dir) / 'last.pt'}; "
                     f"continue with --resume")
            raise
        for cb in self.callbacks:
            cb.on_train_end(self)
        self.log(f"Weights: {cfg.out}   log, samples, curve: {cfg.run_dir}/")
        return self.history


def train(cfg: TrainConfig, log=print, progress: bool = True) -> list[dict]:
    trainer = Trainer(cfg, log=log, progress=progress)
    try:
        return trainer.fit()
    finally:
        distributed.close(trainer.dist)
