"""The two training stages, which differ by their networks, optimizers and step function.

Stage 1 (`L1Stage`): the generator alone, the task's reconstruction loss.
Stage 2 (`GANStage`): pix2pix. A PatchGAN sees (input, output) pairs; generator loss =
GAN + l1_weight * reconstruction. Both stages run the generator through `generate`, the one
place a forward pass is written (autocast included).

Fast path: Adam fused into one kernel where torch has it (CUDA, CPU); the networks in channels_last
(device.prepare); on CUDA, torch.compile of the modules the steps run (cfg.compile; the generator
returns plain tensors, which compile needs). Checkpoints always hold the plain modules.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..device import autocast, prepare
from ..models import PatchDiscriminator, body_of


def generate(generator: torch.nn.Module, x: torch.Tensor, device: torch.device, precision: str) -> torch.Tensor:
    with autocast(device, precision):
        return generator(x)


def adam(params, lr: float, betas, device: torch.device) -> torch.optim.Optimizer:
    """Adam, fused into one kernel per step where torch has it for the device."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True if device.type in ("cuda", "cpu") else None)


def param_groups(generator: torch.nn.Module, body_share: float) -> list[dict]:
    """The generator's parameters for Adam: its pretrained body (models.body_of) with an `lr_scale`
    of body_share, the rest at 1. The schedule multiplies each group's rate by its scale. A frozen
    body (share 0) keeps no gradients; its BatchNorm statistics still follow the data."""
    body = body_of(generator) if body_share != 1.0 else None
    if body is None:
        return [{"params": list(generator.parameters()), "lr_scale": 1.0}]
    inside = {id(p) for p in body.parameters()}
    if body_share == 0.0:
        body.requires_grad_(False)
    rest = [p for p in generator.parameters() if id(p) not in inside]
    groups = [{"params": rest, "lr_scale": 1.0}]
    return groups + ([{"params": list(body.parameters()), "lr_scale": body_share}] if body_share > 0 else [])


def warmed_ema(decay: float):
    """AveragedModel's multi_avg_fn: torch's EMA with TensorFlow's warm-up. Update n uses
    min(decay, (1 + n) / (10 + n)), so the starting weights (a new, random output layer, say) fade
    within the first hundred steps instead of keeping decay**n of the average (37% after 1,000
    steps at 0.999)."""
    @torch.no_grad()
    def update(ema_params, params, n_averaged) -> None:
        n = float(n_averaged)
        get_ema_multi_avg_fn(min(decay, (1 + n) / (10 + n)))(ema_params, params, n_averaged)
    return update


def compiled(module: torch.nn.Module, cfg, device: torch.device) -> torch.nn.Module:
    """module under torch.compile when cfg.compile says so (None: on CUDA only), else as it is."""
    use = cfg.compile if cfg.compile is not None else device.type == "cuda"
    return torch.compile(module) if use else module


def gan_loss(logits: torch.Tensor, real: bool, mode: str) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    if mode == "lsgan":
        return F.mse_loss(logits, target)
    return F.binary_cross_entropy_with_logits(logits, target)


class L1Stage:
    """The generator alone. `wrap` puts a module in DDP when distributed (identity otherwise);
    the steps run the wrapped modules, checkpoints hold the plain ones. With cfg.ema, a moving
    average of the generator follows each step; `model` (what is validated and saved) is then it."""

    name = "pretrain"

    def __init__(self, cfg, task, generator, device, precision, wrap):
        self.cfg, self.task, self.device, self.precision = cfg, task, device, precision
        self.generator = generator
        groups = param_groups(generator, cfg.body_lr)  # before DDP sees which parameters need gradients
        self.g_train = compiled(wrap(generator), cfg, device)
        self.opt_g = adam(groups, cfg.lr, cfg.betas, device)
        self.ema = (AveragedModel(generator, multi_avg_fn=warmed_ema(cfg.ema), use_buffers=True)
                    if cfg.ema else None)

    @property
    def model(self) -> torch.nn.Module:
        """The generator to validate and save: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.generator

    # what checkpoints hold: name -> object with state_dict / load_state_dict
    def parts(self) -> dict:
        parts = {"generator": self.generator, "opt_g": self.opt_g}
        return dict(parts, ema=self.ema) if self.ema is not None else parts

    def _step_g(self, loss: torch.Tensor) -> None:
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update_parameters(self.generator)

    def optimizers(self) -> list[tuple[torch.optim.Optimizer, float]]:
        """(optimizer, its base learning rate), for the schedule."""
        return [(self.opt_g, self.cfg.lr)]

    def train(self) -> None:
        for part in self.parts().values():
            if isinstance(part, torch.nn.Module):
                part.train()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return generate(self.g_train, x, self.device, self.precision)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        loss = self.task.reconstruction_loss(self.forward(x), y)
        self._step_g(loss)
        return {f"train_{self.cfg.loss}": loss.item()}


class GANStage(L1Stage):
    """pix2pix: a PatchGAN conditioned on the input judges (input, output) pairs."""

    name = "gan"

    def __init__(self, cfg, task, generator, device, precision, wrap):
        super().__init__(cfg, task, generator, device, precision, wrap)
        self.discriminator = prepare(PatchDiscriminator(task.in_channels + task.out_channels,
                                                        spectral_norm=cfg.d_spectral_norm), device)
        self.d_train = compiled(wrap(self.discriminator), cfg, device)
        self.opt_d = adam(self.discriminator.parameters(), cfg.lr_d, cfg.betas, device)

    def parts(self) -> dict:
        return {**super().parts(), "discriminator": self.discriminator, "opt_d": self.opt_d}

    def optimizers(self):
        return super().optimizers() + [(self.opt_d, self.cfg.lr_d)]

    def _judge(self, x, y) -> torch.Tensor:
        with autocast(self.device, self.precision):
            return self.d_train(x, y).float()

    def step(self, x, y) -> dict:
        cfg, D = self.cfg, self.d_train
        fake = self.forward(x)
        # discriminator: real pairs -> 1, generated pairs -> 0
        fake_y = self.task.decode(fake)  # what the critic sees is target-like (ab), whatever G outputs
        D.requires_grad_(True)
        loss_d = 0.5 * (gan_loss(self._judge(x, y), True, cfg.gan_mode)
                        + gan_loss(self._judge(x, fake_y.detach()), False, cfg.gan_mode))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # generator: fool D, stay close to the truth
        D.requires_grad_(False)
        loss_gan = gan_loss(self._judge(x, fake_y), True, cfg.gan_mode)
        loss_rec = self.task.reconstruction_loss(fake, y)
        self._step_g(loss_gan + cfg.l1_weight * loss_rec)
        return {"train_d": loss_d.item(), "train_g_gan": loss_gan.item(), f"train_{cfg.loss}": loss_rec.item()}


STAGES = {"pretrain": L1Stage, "gan": GANStage}
