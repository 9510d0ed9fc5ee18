"""Command lines: `python pretrain.py`, `python train_gan.py` and `python -m colorizer ...`."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .training.parsers import gan_main, positive_int, pretrain_main

EXAMPLES_BW = "examples/bw"


def color_strength(text: str) -> float:
    """argparse type: a color strength within limits.py's range."""
    from .limits import MAX_COLOR_STRENGTH, MIN_COLOR_STRENGTH

    value = float(text)
    if not MIN_COLOR_STRENGTH <= value <= MAX_COLOR_STRENGTH:
        raise argparse.ArgumentTypeError(f"{text} is outside {MIN_COLOR_STRENGTH:g}..{MAX_COLOR_STRENGTH:g}")
    return value


def temperature(text: str) -> float:
    """argparse type: an annealed-mean temperature within limits.py's range."""
    from .limits import MAX_TEMPERATURE, MIN_TEMPERATURE

    value = float(text)
    if not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        raise argparse.ArgumentTypeError(f"{text} is outside {MIN_TEMPERATURE:g}..{MAX_TEMPERATURE:g}")
    return value


def _model_line(model) -> str:
    """'path (stage gan, color strength 0.5 with base.pt, ...)': what a Colorizer is, for one printed line."""
    parts = [str(model.meta.get("stage"))]
    if model.color_strength < 1:
        parts.append(f"color strength {model.color_strength:g} with {model.meta['base_weights']}")
    if model.temperature is not None:
        parts.append(f"classes head, temperature {model.temperature:g}")
    parts += [str(model.device), model.precision, f"render size {model.render_size}"]
    return f"{model.meta['path']} ({', '.join(parts)})"


def temperature_note(model, asked: float | None) -> str | None:
    """The note printed when --temperature was given for weights that predict ab directly (it is ignored)."""
    if asked is not None and model.temperature is None:
        return f"note: --temperature ignored for {model.meta['path']}: it predicts ab directly (no classes head)"
    return None


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
    from .limits import PHOTO_EXTENSIONS, result_name

    inputs = args.inputs or [EXAMPLES_BW]
    try:  # weights: --weights, else $COLORIZER_WEIGHTS, else the best in the folder (infer.resolve_weights)
        model = Colorizer.load(args.weights, device=args.device, precision=args.precision,
                               render_size=args.render_size, weights_dir=args.weights_dir,
                               color_strength=args.color_strength, base_weights=args.base_weights,
                               temperature=args.temperature)
    except WeightsError as err:
        hint = " (or pass --base-weights PATH)" if getattr(err, "partner_missing", False) else ""
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2
    note = temperature_note(model, args.temperature)
    if note:
        print(note, file=sys.stderr)
    pairs = _colorize_targets(inputs)
    if not pairs:
        print(f"error: no photos found in {', '.join(inputs)}", file=sys.stderr)
        return 2
    single = len(pairs) == 1 and not Path(inputs[0]).is_dir()
    out = Path(args.output) if args.output else None
    if out is None:
        out = Path("colorized")
    print(f"Colorizing {len(pairs)} photo(s) with {_model_line(model)}")
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
        if single and out.suffix.lower() in PHOTO_EXTENSIONS:
            dest = out
        else:
            dest = (out / rel).with_name(result_name(rel))  # old.jpg -> old_color.png, as the page and API
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
                       fid=not args.no_fid, color_strength=args.color_strength, base_weights=args.base_weights,
                       temperature=args.temperature)
    except (WeightsError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorizer",
                                     description="Colorize black-and-white photos, evaluate and train colorizers.")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("colorize", help="colorize photos (files or folders)",
                       description="Colorize photos at their original size with the best weights in weights/ "
                                   "(or $COLORIZER_WEIGHTS, or --weights).",
                       epilog="Examples:\n  python -m colorizer colorize old.jpg -o old_color.png\n"
                              "  python -m colorizer colorize scans/ -o colorized/",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("inputs", nargs="*", help=f"photos or folders (default: {EXAMPLES_BW})")
    c.add_argument("-o", "--output", help="output file (one photo) or folder, where each photo is written as "
                                          "NAME_color.png (default: colorized/)")
    c.add_argument("--weights", help="weights file (default: $COLORIZER_WEIGHTS when set, else the best one "
                                     "in --weights-dir)")
    c.add_argument("--weights-dir", default=None,
                   help="where to look for weights (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")
    c.add_argument("--render-size", type=positive_int, default=None,
                   help="size (short side) the colors are predicted at; higher is slower, sometimes richer "
                        "(default: the size the weights were trained at)")
    c.add_argument("--saturation", type=float, default=1.0, help="multiply the predicted color (default %(default)s)")
    c.add_argument("--color-strength", type=color_strength, default=None, metavar="S",
                   help="0..1: blend stage-2 (GAN) weights with the stage-1 weights they started from; 1 is "
                        "stage 2 as trained, 0 is stage 1, between is safer and duller (default: "
                        "limits.DEFAULT_COLOR_STRENGTH for stage-2 weights whose stage-1 file is found, else 1)")
    c.add_argument("--base-weights", metavar="PATH",
                   help="the stage-1 weights to blend with (default: the file in the weights' folder, or "
                        "--weights-dir, that their metadata names as their start)")
    c.add_argument("--temperature", type=temperature, default=None,
                   help="weights with a classes head: the annealed mean's temperature, lower is more vivid "
                        "(default: the one they were trained with); ignored, with a note, for other weights")
    c.add_argument("--device", default="auto")
    c.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    c.set_defaults(func=colorize_command)

    e = sub.add_parser("evaluate", help="score weights on a folder of color photos",
                       description="Turn each photo gray, colorize it, and compare with the original: PSNR, SSIM "
                                   "(RGB, original size), colorfulness, false color (saturated and wrong); the "
                                   "gray baseline alongside; FID when Inception weights can be had. Several "
                                   "weights files are scored on the same photos: one table, one grid.")
    e.add_argument("--data", required=True, help="folder of color photos (never trained on)")
    e.add_argument("--weights", nargs="+", metavar="PATH",
                   help="one or more weights files, compared side by side (default: the best one in --weights-dir)")
    e.add_argument("--weights-dir", default=None,
                   help="where to look for weights (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")
    e.add_argument("--out", default="eval",
                   help="folder for per_image.csv, summary.json and grid.png (default %(default)s)")
    e.add_argument("--render-size", type=positive_int, default=None,
                   help="default: the size each weights file was trained at")
    e.add_argument("--color-strength", type=color_strength, nargs="+", default=None, metavar="S",
                   help="one or more color strengths (0..1, see colorize --help), each scored as its own row "
                        "for every weights file (default: as colorize)")
    e.add_argument("--base-weights", metavar="PATH", help="the stage-1 weights to blend with (see colorize --help)")
    e.add_argument("--temperature", type=temperature, default=None,
                   help="classes-head weights: the annealed mean's temperature (ignored, with a note, for others)")
    e.add_argument("--limit", type=positive_int, default=None, help="only the first N photos")
    e.add_argument("--no-fid", action="store_true", help="skip FID (no Inception download attempt)")
    e.add_argument("--device", default="auto")
    e.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    e.set_defaults(func=evaluate_command)

    t = sub.add_parser("pretrain", help="stage 1 (same as python pretrain.py)", add_help=False)
    t.set_defaults(func=None)
    g = sub.add_parser("train-gan", help="stage 2 (same as python train_gan.py)", add_help=False)
    g.set_defaults(func=None)
    k = sub.add_parser("api-key", help="make, list and revoke the HTTP API's keys", add_help=False)
    k.set_defaults(func=None)

    sub.add_parser("make-sketches", help="photos -> sketch|photo pairs for paired training", add_help=False)

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "make-sketches":
        from .sketches import main as sketches_main

        return sketches_main(argv[1:])
    if argv and argv[0] == "pretrain":
        return pretrain_main(argv[1:])
    if argv and argv[0] == "train-gan":
        return gan_main(argv[1:])
    if argv and argv[0] == "api-key":
        from .serving.keys import main as api_key_main

        return api_key_main(argv[1:])
    args = parser.parse_args(argv)
    return args.func(args)
