"""Command lines: `python pretrain.py`, `python train_gan.py` and `python -m colorizer ...`."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import TrainConfig

EXAMPLES_COLOR = "examples/color"
EXAMPLES_BW = "examples/bw"


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _common_training_args(p: argparse.ArgumentParser, stage: str) -> None:
    d = TrainConfig()
    p.add_argument("--data", default=EXAMPLES_COLOR,
                   help="folder of color photos (searched recursively), or 'coco' for fastai's COCO sample "
                        "(needs the internet). Default: the example photos shipped in the repo")
    p.add_argument("--val-data", default=None,
                   help="separate folder of validation photos (default: a fixed-seed split of --data)")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction, help="share of --data held out (default %(default)s)")
    p.add_argument("--size", type=_positive_int, default=d.size, help="training crop size in pixels (default %(default)s)")
    p.add_argument("--epochs", type=_positive_int, default=None, help="number of epochs")
    p.add_argument("--batch-size", type=_positive_int, default=d.batch_size, help="photos per step (default %(default)s)")
    p.add_argument("--device", default="auto", help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                   help="auto: bf16 autocast on CPU and on GPUs that have it (about 3x faster on CPU), else fp32")
    p.add_argument("--workers", type=int, default=-1, help="data loader processes (default: from the machine)")
    p.add_argument("--time-limit", type=float, default=None, metavar="MIN",
                   help="stop cleanly after this many minutes (the epoch in progress is validated and saved)")
    p.add_argument("--max-steps", type=_positive_int, default=None, help="stop after this many steps (smoke runs)")
    p.add_argument("--val-batches", type=_positive_int, default=None, help="cap validation batches per epoch")
    p.add_argument("--run-name", default=stage, help="outputs go to runs/RUN_NAME/ (default %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from runs/RUN_NAME/last.pt, optimizer state included")
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "cosine"],
                   help="constant, or cosine decay over --epochs (or --time-limit, whichever ends first)")
    p.add_argument("--save-every", type=_positive_int, default=1, metavar="N",
                   help="save checkpoint and weights every N epochs; always at the end (default %(default)s)")
    p.add_argument("--half", action="store_true", help="save the final weights as float16 (half the size)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--data-note", default="", help="free text recorded in the weights' metadata")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def pretrain_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pretrain.py",
        description="Stage 1: train the generator (U-Net on a ResNet body, L -> ab) with L1 loss alone.",
        epilog="Example: python pretrain.py --data ~/photos --size 256 --epochs 20\n"
               "Outputs: the weights (--out), and runs/RUN_NAME/ with log.csv, samples/epoch_XXX.png, "
               "loss_curve.png and last.pt (for --resume).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_training_args(p, "pretrain")
    p.add_argument("--out", default="weights/generator_pretrained.pt", help="weights file to write (default %(default)s)")
    p.add_argument("--backbone", default="resnet18", choices=["resnet18", "resnet34"], help="ResNet body (default %(default)s)")
    p.add_argument("--backbone-weights", default="imagenet",
                   help="imagenet (torchvision's weights; random init with a note when they cannot be had), "
                        "none, or a local .pth file (default %(default)s)")
    p.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default %(default)s)")
    return p


def gan_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="train_gan.py",
        description="Stage 2: fine-tune the stage-1 generator adversarially against a PatchGAN conditioned on L "
                    "(pix2pix loss: GAN + 100 x L1).",
        epilog="Example: python train_gan.py --data ~/photos --epochs 20\n"
               "Needs the stage-1 weights from pretrain.py (--init).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common_training_args(p, "gan")
    p.add_argument("--init", default="weights/generator_pretrained.pt", help="stage-1 weights to start from (default %(default)s)")
    p.add_argument("--out", default="weights/colorizer_gan.pt", help="weights file to write (default %(default)s)")
    p.add_argument("--lr", type=float, default=2e-4, help="generator Adam learning rate (default %(default)s)")
    p.add_argument("--lr-d", type=float, default=2e-4, help="discriminator Adam learning rate (default %(default)s)")
    p.add_argument("--l1-weight", type=float, default=100.0, help="weight of L1 beside the GAN loss (default %(default)s)")
    p.add_argument("--gan-mode", default="bce", choices=["bce", "lsgan"], help="GAN loss (default %(default)s)")
    return p


def config_from_args(args: argparse.Namespace, stage: str) -> TrainConfig:
    epochs = args.epochs or (20 if args.data != EXAMPLES_COLOR else 3)
    common = dict(
        stage=stage, data=args.data, val_data=args.val_data, val_fraction=args.val_fraction, out=Path(args.out),
        run_dir=Path("runs") / args.run_name, size=args.size, epochs=epochs, batch_size=args.batch_size,
        lr=args.lr, device=args.device, precision=args.precision, workers=args.workers, seed=args.seed,
        resume=args.resume, time_limit=args.time_limit, max_steps=args.max_steps, val_batches=args.val_batches,
        half=args.half, data_note=args.data_note, lr_schedule=args.lr_schedule, save_every=args.save_every)
    if stage == "pretrain":
        return TrainConfig(**common, backbone=args.backbone, backbone_weights=args.backbone_weights)
    return TrainConfig(**common, init=Path(args.init), lr_d=args.lr_d, l1_weight=args.l1_weight,
                       gan_mode=args.gan_mode, betas=(0.5, 0.999))


def _run_training(parser: argparse.ArgumentParser, stage: str, argv=None) -> int:
    from .checkpoint import WeightsError
    from .data import DataError
    from .train import TrainingError, train

    args = parser.parse_args(argv)
    cfg = config_from_args(args, stage)
    try:
        train(cfg, progress=not args.quiet)
    except (DataError, TrainingError, WeightsError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def pretrain_main(argv=None) -> int:
    return _run_training(pretrain_parser(), "pretrain", argv)


def gan_main(argv=None) -> int:
    return _run_training(gan_parser(), "gan", argv)


# ---- python -m colorizer ... ------------------------------------------------------------

def _colorize_targets(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(input file, path relative to its root) for files and folders given on the command line."""
    from .images import list_photos

    pairs = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            pairs += [(f, f.relative_to(p)) for f in list_photos(p)]
        else:
            pairs.append((p, Path(p.name)))
    return pairs


def colorize_command(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .checkpoint import WeightsError
    from .images import PhotoError, open_photo
    from .infer import Colorizer

    inputs = args.inputs or [EXAMPLES_BW]
    try:
        model = Colorizer.load(args.weights, device=args.device, precision=args.precision,
                               render_size=args.render_size, weights_dir=args.weights_dir)
    except WeightsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    pairs = _colorize_targets(inputs)
    if not pairs:
        print(f"error: no photos found in {', '.join(inputs)}", file=sys.stderr)
        return 2
    single = len(pairs) == 1 and not Path(inputs[0]).is_dir()
    out = Path(args.output) if args.output else None
    if out is None:
        out = Path("colorized")
    print(f"Colorizing {len(pairs)} photo(s) with {model.meta['path']} ({model.meta.get('stage')}, "
          f"{model.device}, {model.precision}, render size {model.render_size})")
    failed = 0
    for src, rel in tqdm(pairs, unit="photo", disable=len(pairs) < 2):
        try:
            image = open_photo(src)
        except PhotoError as err:
            print(f"skipped: {err}", file=sys.stderr)
            failed += 1
            continue
        t0 = time.time()
        result = model.colorize(image, saturation=args.saturation)
        if single and out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
            dest = out
        else:
            dest = (out / rel).with_suffix(".png")
        dest.parent.mkdir(parents=True, exist_ok=True)
        result.save(dest)
        if len(pairs) < 2:
            print(f"{src} -> {dest} ({image.width}x{image.height}, {time.time() - t0:.2f}s)")
    done = len(pairs) - failed
    print(f"Wrote {done} colorized photo(s) to {out}" + (f"; {failed} skipped" if failed else ""))
    return 0 if done else 2


def evaluate_command(args: argparse.Namespace) -> int:
    from .checkpoint import WeightsError
    from .evaluate import run_evaluation

    try:
        run_evaluation(data=args.data, weights=args.weights, out_dir=args.out, render_size=args.render_size,
                       device=args.device, precision=args.precision, limit=args.limit, weights_dir=args.weights_dir,
                       fid=not args.no_fid)
    except (WeightsError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorizer",
                                     description="Colorize black-and-white photos, evaluate and train colorizers.")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("colorize", help="colorize photos (files or folders)",
                       description="Colorize photos at their original size with the best weights in weights/.",
                       epilog="Examples:\n  python -m colorizer colorize old.jpg -o old_color.png\n"
                              "  python -m colorizer colorize scans/ -o colorized/",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("inputs", nargs="*", help=f"photos or folders (default: {EXAMPLES_BW})")
    c.add_argument("-o", "--output", help="output file (one photo) or folder (default: colorized/)")
    c.add_argument("--weights", help="weights file (default: the best one in --weights-dir)")
    c.add_argument("--weights-dir", default="weights", help="where to look for weights (default %(default)s)")
    c.add_argument("--render-size", type=_positive_int, default=None,
                   help="size (short side) the colors are predicted at; higher is slower, sometimes richer "
                        "(default: the size the weights were trained at)")
    c.add_argument("--saturation", type=float, default=1.0, help="multiply the predicted color (default %(default)s)")
    c.add_argument("--device", default="auto")
    c.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    c.set_defaults(func=colorize_command)

    e = sub.add_parser("evaluate", help="score weights on a folder of color photos",
                       description="Turn each photo gray, colorize it, and compare with the original: PSNR, SSIM "
                                   "(RGB, original size), colorfulness; the gray baseline alongside; FID when "
                                   "Inception weights can be had.")
    e.add_argument("--data", required=True, help="folder of color photos (never trained on)")
    e.add_argument("--weights", help="weights file (default: the best one in --weights-dir)")
    e.add_argument("--weights-dir", default="weights")
    e.add_argument("--out", default="eval", help="folder for per_image.csv, summary and grid (default %(default)s)")
    e.add_argument("--render-size", type=_positive_int, default=None,
                   help="default: the size the weights were trained at")
    e.add_argument("--limit", type=_positive_int, default=None, help="only the first N photos")
    e.add_argument("--no-fid", action="store_true", help="skip FID (no Inception download attempt)")
    e.add_argument("--device", default="auto")
    e.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    e.set_defaults(func=evaluate_command)

    t = sub.add_parser("pretrain", help="stage 1 (same as python pretrain.py)", add_help=False)
    t.set_defaults(func=None)
    g = sub.add_parser("train-gan", help="stage 2 (same as python train_gan.py)", add_help=False)
    g.set_defaults(func=None)

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "pretrain":
        return pretrain_main(argv[1:])
    if argv and argv[0] == "train-gan":
        return gan_main(argv[1:])
    args = parser.parse_args(argv)
    return args.func(args)
