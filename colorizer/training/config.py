"""The one configuration object: command-line flags fill it, functions read it.

Every default lives here. Fields left as None take their stage's default in __post_init__
(`STAGE_DEFAULTS`), so `TrainConfig(stage="gan")` and `python train_gan.py` with no flags train
the same way; the parsers (parsers.py) read their defaults and help texts from this file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

EXAMPLES_COLOR = "examples/color"  # the photos shipped in the repo: the offline default
EXAMPLE_EPOCHS = 3                 # on those few photos a run is a smoke test of the whole path

STAGES = ("pretrain", "gan")
STAGE_DEFAULTS = {
    "pretrain": dict(lr=1e-4, betas=(0.9, 0.999), keep="last",
                     out=Path("weights/generator_pretrained.pt"), run_dir=Path("runs/pretrain")),
    "gan": dict(lr=2e-4, betas=(0.5, 0.999), keep="best", init=Path("weights/generator_pretrained.pt"),
                out=Path("weights/colorizer_gan.pt"), run_dir=Path("runs/gan")),
}


@dataclass
class TrainConfig:
    stage: str = "pretrain"              # "pretrain" (L1 only) or "gan"
    task: str = "colorize"               # what is learned (tasks.py): "colorize" is L -> ab
    data: str = EXAMPLES_COLOR           # folder of color photos, or "coco"
    val_data: str | None = None          # separate validation folder; else a fixed-seed split of data
    val_fraction: float = 0.05
    out: Path | None = None              # weights file written (stage default)
    init: Path | None = None             # generator weights to start from (gan default: the stage-1 weights)
    run_dir: Path | None = None          # log, samples, last.pt (stage default: runs/STAGE)
    backbone: str = "resnet18"
    backbone_weights: str = "imagenet"   # imagenet | none | PATH
    size: int = 256
    epochs: int | None = None            # stage default; EXAMPLE_EPOCHS on the example photos
    batch_size: int = 16
    lr: float | None = None              # generator Adam learning rate (stage default)
    lr_d: float = 2e-4                   # discriminator Adam learning rate (gan)
    lr_schedule: str = "constant"        # constant | cosine (decays over the epochs or the time limit)
    betas: tuple[float, float] | None = None  # Adam betas of both networks (stage default)
    loss: str = "l1"                     # l1: regress ab | classes: ab bins, rebalanced cross-entropy
    rebalance: float = 0.5               # classes: 1 = no rebalancing, smaller favours rare colors
    temperature: float = 0.38            # classes: annealed-mean temperature (1 = mean, -> 0 = mode)
    augment: str = "none"                # none | print: inputs made to look like old scanned prints
    l1_weight: float = 100.0             # gan: generator loss = GAN + l1_weight * reconstruction loss
    gan_mode: str = "bce"                # bce | lsgan
    d_spectral_norm: bool = False        # gan: spectral norm on the discriminator's convolutions
    ema: float = 0.0                     # decay of an exponential moving average of the generator
                                         # (0: off); validation and the saved weights use the average
    keep: str | None = None              # which weights --out holds: "last" epoch, or the "best" by
                                         # the task's validation score (stage default)
    device: str = "auto"
    precision: str = "auto"              # auto | bf16 | fp32
    compile: bool | None = None          # torch.compile generator and critic (None: on CUDA only)
    workers: int = -1                    # -1: pick from the machine
    seed: int = 42
    resume: bool = False
    time_limit: float | None = None      # minutes; stop cleanly when reached
    max_steps: int | None = None         # stop after this many optimizer steps (tests, smoke runs)
    val_batches: int | None = None       # cap validation batches per epoch
    samples: int = 8                     # photos in each epoch's sample grid
    save_every: int = 1                  # write checkpoint and weights every N epochs (and at the end)
    half: bool = False                   # save final weights as fp16
    data_note: str = ""                  # free text recorded in the metadata

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {self.stage!r}")
        for key, value in STAGE_DEFAULTS[self.stage].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        if self.epochs is None:
            self.epochs = EXAMPLE_EPOCHS if self.data == EXAMPLES_COLOR else 20
        for key in ("out", "init", "run_dir"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, Path):
                setattr(self, key, Path(value))
        self.betas = tuple(self.betas)
        if self.keep not in ("last", "best"):
            raise ValueError(f"keep must be 'last' or 'best', not {self.keep!r}")
        if self.loss not in ("l1", "classes") or self.augment not in ("none", "print"):
            raise ValueError(f"loss is l1 or classes ({self.loss!r}), augment none or print ({self.augment!r})")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema is a decay in [0, 1), not {self.ema}")

    def as_meta(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in d.items()}
