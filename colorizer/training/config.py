"""The one configuration object: command-line flags fill it, functions read it.

Every default lives here. Fields left as None take their stage's and task's default in
__post_init__ (`defaults()`: `STAGE_DEFAULTS`, then `TASK_DEFAULTS` where a task differs), so
`TrainConfig(stage="gan")` and `python train_gan.py` with no flags train the same way; the parsers
(parsers.py) read their defaults and help texts from this file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..models import GENERATORS

EXAMPLES_COLOR = "examples/color"  # the photos shipped in the repo: the offline default
EXAMPLE_EPOCHS = 3                 # on those few photos a run is a smoke test of the whole path

STAGES = ("pretrain", "gan")
STAGE_DEFAULTS = {
    "pretrain": dict(lr=1e-4, betas=(0.9, 0.999), keep="last",
                     out=Path("weights/generator_pretrained.pt"), run_dir=Path("runs/pretrain")),
    "gan": dict(lr=2e-4, betas=(0.5, 0.999), keep="best", init=Path("weights/generator_pretrained.pt"),
                out=Path("weights/colorizer_gan.pt"), run_dir=Path("runs/gan")),
}

# Where a task trains differently from STAGE_DEFAULTS: key -> value for every stage, or
# stage name -> {key: value} for one stage. Paired translation (pix2pix) takes the paper's settings:
# the classic U-Net, Adam 2e-4 with beta1 0.5, trained from scratch with GAN + 100 x L1 (stage 2
# alone; stage 1 is optional), the last epoch kept; it has no example data (pairs come from --data).
TASK_DEFAULTS = {
    "colorize": dict(data=EXAMPLES_COLOR, generator="resnet-unet"),
    # color hints: a colorizer with a hint map beside L, started from trained colorizer weights (--init)
    "hints": dict(data=EXAMPLES_COLOR, generator="resnet-unet",
                  pretrain=dict(out=Path("weights/hints_pretrained.pt"), run_dir=Path("runs/hints")),
                  gan=dict(init=Path("weights/hints_pretrained.pt"), out=Path("weights/hints_gan.pt"),
                           run_dir=Path("runs/hints_gan"))),
    "paired": dict(generator="unet", lr=2e-4, betas=(0.5, 0.999), direction="AtoB",
                   pretrain=dict(out=Path("weights/paired_pretrained.pt"), run_dir=Path("runs/paired_pretrain")),
                   gan=dict(init=None, keep="last", out=Path("weights/paired_gan.pt"),
                            run_dir=Path("runs/paired_gan"))),
}
LOAD_SCALE = 286 / 256  # pix2pix: resize to 286, crop 256; --load-size defaults to --size times this


def defaults(stage: str, task: str) -> dict:
    """The defaults of a stage for a task: STAGE_DEFAULTS, then what the task changes."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    if task not in TASK_DEFAULTS:
        raise ValueError(f"task must be one of {', '.join(TASK_DEFAULTS)}, not {task!r}")
    own = TASK_DEFAULTS[task]
    return {**STAGE_DEFAULTS[stage], **{k: v for k, v in own.items() if k not in STAGES}, **own.get(stage, {})}


@dataclass
class TrainConfig:
    stage: str = "pretrain"              # "pretrain" (L1 only) or "gan"
    task: str = "colorize"               # what is learned (tasks.py): "colorize" is L -> ab, "hints" L + hint
                                         # map -> ab, "paired" A -> B
    data: str | tuple[str, ...] | None = None  # colorize: folder of color photos, or "coco" (default: the
                                         # examples), or several "DIR[:SHARE]" parts drawn by share (data.py);
                                         # paired: folder of A|B files, or of the A images (with data_b)
    data_b: str | None = None            # paired: folder of the B images, named as their A images
    val_data: str | tuple[str, ...] | None = None  # separate validation folder(s), each logged on its
                                         # own; else a fixed-seed split of each data part
    val_fraction: float = 0.05
    out: Path | None = None              # weights file written (stage default)
    init: Path | None = None             # generator weights to start from (gan default: the stage-1 weights)
    run_dir: Path | None = None          # log, samples, last.pt (stage default: runs/STAGE)
    backbone: str = "resnet18"
    backbone_weights: str = "imagenet"   # imagenet | none | PATH
    size: int = 256                      # training crop, pixels
    load_size: int | None = None         # paired: images resized to this before the crop (size x 286/256)
    direction: str | None = None         # paired: AtoB or BtoA (which side of the pair is the input)
    generator: str | None = None         # unet (the classic pix2pix U-Net; paired only) | resnet-unet
    filters: int = 64                    # paired unet: filters of its first layer (the paper's 64; 32: 1/4 the size)
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
    teachers: tuple[str, ...] = ()       # colorize stage 1: train towards these weights' mean colors
                                         # instead of the photo's (distillation, teachers.py)
    teacher_saturation: float = 1.0      # the teachers' mean is scaled by this
    l1_weight: float = 100.0             # gan: generator loss = GAN + l1_weight * reconstruction loss
    gan_mode: str = "bce"                # bce | lsgan
    d_spectral_norm: bool = False        # gan: spectral norm on the discriminator's convolutions
    ema: float = 0.0                     # decay of an exponential moving average of the generator
                                         # (0: off); validation and the saved weights use the average
    body_lr: float = 1.0                 # the pretrained body's learning rate as a share of lr (0: frozen)
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
        for key in ("data", "val_data"):  # several folders: a tuple; one: its string
            value = getattr(self, key)
            if isinstance(value, (list, tuple)):
                value = tuple(str(v) for v in value)
                setattr(self, key, value[0] if len(value) == 1 else value or None)
        for key, value in defaults(self.stage, self.task).items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        if self.load_size is None and self.task == "paired":
            self.load_size = round(self.size * LOAD_SCALE)
        if self.epochs is None:
            self.epochs = EXAMPLE_EPOCHS if self.data == EXAMPLES_COLOR else 20
        for key in ("out", "init", "run_dir"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, Path):
                setattr(self, key, Path(value))
        self.betas = tuple(self.betas)
        self.teachers = tuple(str(t) for t in self.teachers)
        if self.teachers and (self.task != "colorize" or self.stage != "pretrain" or self.loss != "l1"):
            raise ValueError("--teachers trains a colorizer's stage 1 with L1 (--loss l1), not "
                             f"{self.task} {self.stage} with {self.loss}")
        if not 0.0 < self.teacher_saturation <= 3.0:
            raise ValueError(f"teacher_saturation is a factor in (0, 3], not {self.teacher_saturation}")
        if self.keep not in ("last", "best"):
            raise ValueError(f"keep must be 'last' or 'best', not {self.keep!r}")
        if self.loss not in ("l1", "classes") or self.augment not in ("none", "print"):
            raise ValueError(f"loss is l1 or classes ({self.loss!r}), augment none or print ({self.augment!r})")
        if not 0.0 <= self.body_lr <= 1.0:
            raise ValueError(f"body_lr is a share of lr in [0, 1], not {self.body_lr}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema is a decay in [0, 1), not {self.ema}")
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {', '.join(GENERATORS)}, not {self.generator!r}")
        if self.task == "paired":
            if isinstance(self.data, tuple) or isinstance(self.val_data, tuple):
                raise ValueError("--task paired takes one --data folder and one --val-data folder")
            if self.loss != "l1" or self.augment != "none":
                raise ValueError("--task paired trains with L1 (--loss l1) and no --augment")
            if self.direction not in ("AtoB", "BtoA"):
                raise ValueError(f"direction must be AtoB or BtoA, not {self.direction!r}")
            if self.load_size < self.size:
                raise ValueError(f"--load-size {self.load_size} is smaller than --size {self.size}")
            if self.data_b and self.val_data:
                raise ValueError("--val-data takes A|B files; with --data-b the validation pairs are a split "
                                 "of the training folders (--val-fraction)")
        elif self.generator != "resnet-unet" or self.data_b or self.direction or self.load_size:
            raise ValueError("--generator unet, --data-b, --direction and --load-size are for --task paired")

    @staticmethod
    def several(value) -> tuple[str, ...]:
        """data or val_data as a tuple of folders (one, several, or none)."""
        return () if not value else (value,) if isinstance(value, str) else tuple(value)

    def as_meta(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in d.items()}
