"""`python -m colorizer weights show|default|blend|average|pack|set`: what weights files are (their cards), which
one each task uses by default (the folder's manifest), and the commands that write a research knob into a
weights file, so that `colorize`, the page and the API only ever choose a file.

- show: every file's card, and the default of each task;
- default FILE: make FILE the default of its task in its folder (weights/defaults.json);
- blend GAN.pt --strength S: stage 2 blended with its stage-1 start, as a file of its own (color strength);
- average A.pt B.pt --scale S: the mean of several colorizers, as a small file naming them;
- pack AVERAGED.pt --out P.pt: an averaged (or routed) file with its members inside (int8), one file to ship;
- set FILE --temperature T: a classes head's annealed-mean temperature, written into the file.

Errors go up to cli.run_command, the one error path (one `error:` line, exit 2).
"""
from __future__ import annotations

import argparse
from pathlib import Path

HELP = "show weights files, choose the default, and write color strength, averages or temperature into a file"


def show_command(args: argparse.Namespace) -> int:
    from ..card import read_card
    from ..checkpoint import WeightsError
    from ..registry import MANIFEST, TASKS, read_manifest, resolve, weights_folder

    folder = weights_folder(args.weights_dir)
    files = [Path(f) for f in args.files] or sorted(folder.glob("*.pt"))
    defaults = {name: task for task, name in read_manifest(folder).items()}
    for path in files:
        try:
            card = read_card(path)
        except WeightsError:
            if args.files:
                raise
            continue  # not weights of ours: a folder may hold other files
        lines = card.lines()
        if path.parent.resolve() == folder.resolve() and path.name in defaults:
            lines[0] += f"   [default for {defaults[path.name]}]"
        print("\n".join(lines))
    if not args.files:
        print(f"\nDefaults in {folder}/ ({MANIFEST} where it names one, else the most trained file):")
        for task in TASKS:
            try:
                print(f"  {task}: {resolve(task, None, folder)}")
            except WeightsError:
                print(f"  {task}: none")
    return 0


def default_command(args: argparse.Namespace) -> int:
    from ..registry import set_default

    task, manifest = set_default(args.file, args.weights_dir)
    print(f"{Path(args.file).name} is now the default for {task} ({manifest})")
    return 0


def blend_command(args: argparse.Namespace) -> int:
    from ..infer import blend_weights

    out = blend_weights(args.file, args.strength, args.out, base_weights=args.base, weights_dir=args.weights_dir)
    print(f"Wrote {out}: {args.file} at color strength {args.strength:g}; use it with `colorize --weights {out}`")
    return 0


def average_command(args: argparse.Namespace) -> int:
    from ..averaged import average_weights

    out = average_weights(args.members, args.out, args.scale)
    print(f"Wrote {out}: the mean of {', '.join(str(m) for m in args.members)} x {args.scale:g}; "
          f"use it with `colorize --weights {out}`")
    return 0


def pack_command(args: argparse.Namespace) -> int:
    from ..averaged import pack_weights
    from ..card import read_card
    from ..infer import partner_folders

    int8 = None if args.int8 == ["all"] else [] if args.int8 == ["none"] else [int(i) for i in args.int8]
    out, members = pack_weights(args.file, args.out, partner_folders(args.file, args.weights_dir), int8)
    print(f"Wrote {out} ({out.stat().st_size / 2**20:.0f} MB): {args.file} with its members "
          f"{', '.join(m.name for m in members)} inside ({read_card(out).dtype})")
    return 0


def set_command(args: argparse.Namespace) -> int:
    from ..card import read_card, rewrite
    from ..checkpoint import WeightsError

    if read_card(args.file).head != "classes":
        raise WeightsError(f"{args.file}: predicts ab directly; a temperature is for weights with a classes head")
    out = rewrite(args.file, args.out, temperature=args.temperature)
    print(f"Wrote {out}: temperature {args.temperature:g}")
    return 0


def add_parser(sub, color_strength, temperature) -> argparse.ArgumentParser:
    """The `weights` command and its subcommands (color_strength, temperature: the argument types)."""
    w = sub.add_parser("weights", help=HELP, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ws = w.add_subparsers(dest="weights_command", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--weights-dir", default=None,
                       help="the weights folder (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")

    s = ws.add_parser("show", parents=[where], help="each file's card and each task's default")
    s.add_argument("files", nargs="*", help="weights files (default: every file in the weights folder)")
    s.set_defaults(func=show_command)

    d = ws.add_parser("default", parents=[where], help="make a file the default of its task in its folder",
                      description="Write the file's name into the folder's defaults.json as the default of its task "
                                  "(colorize, hints, paired, classify): what colorize, the page and the API use when "
                                  "no file is named. Files added to the folder never change it otherwise.")
    d.add_argument("file", help="a weights file in the folder (--weights-dir, default: its own folder)")
    d.set_defaults(func=default_command)

    b = ws.add_parser("blend", parents=[where], help="stage-2 weights blended with their stage-1 start",
                      description="Write stage-2 (GAN) weights blended with the stage-1 weights they started from, "
                                  "(1 - S) x stage 1 + S x stage 2 for every tensor: 1 is stage 2 as trained, 0 is "
                                  "stage 1, between is safer and duller (docs/quality.md). The file loads as it is.",
                      epilog="Example:\n  python -m colorizer weights blend weights/colorizer_gan.pt --strength 0.5 "
                             "--out gan_half.pt", formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("file", help="stage-2 weights")
    b.add_argument("--strength", type=color_strength, required=True, metavar="S", help="color strength, 0..1")
    b.add_argument("--base", metavar="PATH", help="the stage-1 weights (default: the file their metadata names as "
                                                  "their start, beside them or in the weights folder)")
    b.add_argument("--out", required=True, type=Path, metavar="PATH", help="the weights file to write")
    b.set_defaults(func=blend_command)

    a = ws.add_parser("average", help="several colorizers as one whose colors are their mean",
                      description="Write a small weights file that colorizes with the mean of several weights' "
                                  "colors (times --scale): networks that err in different places cancel part of "
                                  "each other's mistakes (docs/quality.md). It holds no tensors; keep the members "
                                  "beside it or in weights/.",
                      epilog="Example (colorizer_averaged.pt, the default's mix for photos without people):\n"
                             "  python -m colorizer weights average "
                             "weights/generator_pretrained.pt weights/lite0_student.pt --scale 1.15 "
                             "--out weights/colorizer_averaged.pt",
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    add_average_arguments(a)

    k = ws.add_parser("pack", parents=[where], help="an averaged or routed file with its members inside: one file",
                      description="Write averaged (or routed) weights as one self-contained file: the members' "
                                  "networks go inside it, their convolution weights as int8 with a scale per channel (--int8), the "
                                  "rest float16 (the probe of routed weights stays float32). "
                                  "It colorizes as the small file does and needs no other file: the form to ship "
                                  "or to copy to a server.",
                      epilog="Example (the shipped default: its resnet18 member in int8, the Lite0 ones float16):\n"
                             "  python -m colorizer weights pack routed.pt --int8 0 --out weights/colorizer_people.pt",
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    k.add_argument("file", help="averaged or routed weights (their members beside them or in the weights folder)")
    k.add_argument("--out", required=True, type=Path, metavar="PATH", help="the packed weights file to write")
    k.add_argument("--int8", nargs="+", default=["all"], metavar="I", type=_int8_choice,
                   help="the members (0 = the first named) whose weights are stored as int8, a quarter of float32 "
                        "and a little off; the others float16 (default: all; none: float16 only)")
    k.set_defaults(func=pack_command)

    t = ws.add_parser("set", help="write a classes head's temperature into its file")
    t.add_argument("file", help="weights with a classes head")
    t.add_argument("--temperature", type=temperature, required=True,
                   help="the annealed mean's temperature: lower is more vivid")
    t.add_argument("--out", type=Path, metavar="PATH", help="write a new file (default: the file itself)")
    t.set_defaults(func=set_command)
    return w


def _int8_choice(text: str) -> str:
    if text in ("all", "none") or text.isdigit():
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: a member's number (0, 1, ...), all or none")


def add_average_arguments(a: argparse.ArgumentParser) -> None:
    a.add_argument("members", nargs="+", metavar="WEIGHTS", help="two or more .pt weights files that predict ab")
    a.add_argument("--scale", type=float, default=1.0, metavar="S",
                   help="multiply the mean by S, in (0, 2] (a mean is duller than each member; default 1)")
    a.add_argument("--out", required=True, type=Path, metavar="PATH", help="the averaged weights file to write")
    a.set_defaults(func=average_command)
