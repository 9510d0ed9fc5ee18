"""The one configuration object: command-line flags fill it, functions read it."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class TrainConfig:
    stage: str = "pretrain"              # "pretrain" (L1 only) or "gan"
    data: str = "examples/color"         # folder of color photos, or "coco"
    val_data: str | None = None          # separate validation folder; else a fixed-seed split of data
    val_fraction: float = 0.05
    out: Path = Path("weights/generator_pretrained.pt")
    init: Path | None = None             # gan stage: the stage-1 weights it starts from
    run_dir: Path = Path("runs/pretrain")
    backbone: str = "resnet18"
    backbone_weights: str = "imagenet"   # imagenet | none | PATH
    size: int = 256
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-4
    lr_d: float = 2e-4
    lr_schedule: str = "constant"        # constant | cosine (decays over the epochs or the time limit)
    betas: tuple[float, float] = (0.9, 0.999)
    l1_weight: float = 100.0
    gan_mode: str = "bce"                # bce | lsgan
    device: str = "auto"
    precision: str = "auto"              # auto | bf16 | fp32
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

    def as_meta(self) -> dict:
        d = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in d.items()}
