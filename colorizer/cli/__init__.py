"""Command lines: `python pretrain.py`, `python train_gan.py` and `python -m colorizer ...`.

Imports stay light here (no torch at import): each command imports what it uses when it runs, so
`colorize` never loads the training code and `--help` answers at once.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from ..argtypes import positive_int

EXAMPLES_BW = "examples/bw"


def color_strength(text: str) -> float:
    """argparse type: a color strength within limits.py's range."""
    from ..limits import MAX_COLOR_STRENGTH, MIN_COLOR_STRENGTH

    value = float(text)
    if not MIN_COLOR_STRENGTH <= value <= MAX_COLOR_STRENGTH:
        raise argparse.ArgumentTypeError(f"{text} is outside {MIN_COLOR_STRENGTH:g}..{MAX_COLOR_STRENGTH:g}")
    return value


def temperature(text: str) -> float:
    """argparse type: an annealed-mean temperature within limits.py's range."""
    from ..limits import MAX_TEMPERATURE, MIN_TEMPERATURE

    value = float(text)
    if not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        raise argparse.ArgumentTypeError(f"{text} is outside {MIN_TEMPERATURE:g}..{MAX_TEMPERATURE:g}")
    return value


def temporal(text: str) -> float:
    """argparse type: a temporal smoothing strength within limits.py's range (0: per-frame)."""
    from ..limits import MAX_TEMPORAL, MIN_TEMPORAL

    value = float(text)
    if not MIN_TEMPORAL <= value <= MAX_TEMPORAL:
        raise argparse.ArgumentTypeError(f"{text} is outside {MIN_TEMPORAL:g}..{MAX_TEMPORAL:g}")
    return value


def crf(text: str) -> int:
    """argparse type: a CRF quality (0 and up; each encoder's own range is checked before the model loads)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0")
    return value


def quality(text: str) -> int:
    """argparse type: a JPEG / WebP quality, 1..100."""
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is outside 1..100")
    return value


def _model_line(model) -> str:
    """'path (stage gan, color strength 0.5 with base.pt, ...)': what a Colorizer is, for one printed line."""
    parts = [str(model.meta.get("stage"))]
    if model.color_strength < 1:
        parts.append(f"color strength {model.color_strength:g} with {model.meta['base_weights']}")
    if model.temperature is not None:
        parts.append(f"classes head, temperature {model.temperature:g}")
    parts += [str(model.device), "onnxruntime" if model.backend == "onnx" else model.precision,
              f"render size {model.render_size}"]
    return f"{model.meta['path']} ({', '.join(parts)})"


def pretrain_main(argv=None) -> int:
    """`python pretrain.py` (training is imported only when asked for)."""
    from ..training.parsers import pretrain_main as run

    return run(argv)


def gan_main(argv=None) -> int:
    """`python train_gan.py`."""
    from ..training.parsers import gan_main as run

    return run(argv)


# ---- python -m colorizer ... ------------------------------------------------------------

class PlanError(ValueError):
    """What was asked cannot be done (a missing input, an output that would overwrite one, a folder
    that cannot be written); the message is the one line to print, before any model is loaded."""


def run_command(func, args: argparse.Namespace) -> int:
    """The one error path of every command: a mistake the user can fix is one `error:` line on stderr and
    exit 2, never a traceback. Every error of ours is a ValueError naming the file and the cause
    (WeightsError, PlanError, images.PhotoError, hints.HintError, video.VideoError); a file that cannot be
    written is a checkpoint.SaveError, one that is not there a FileNotFoundError."""
    from ..checkpoint import SaveError

    try:
        return func(args)
    except (ValueError, SaveError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


class Plan(NamedTuple):
    jobs: list[tuple[Path, Path]]          # (photo, where its result goes); no two destinations alike
    out: Path                              # the output file or folder
    skipped: list[tuple[Path, str]]        # files in the folders given that are not opened, and why
    renamed: list[tuple[Path, Path]]       # (photo, destination) given a suffix: its plain name was taken


def _colorize_targets(inputs: list[str], out_folder: Path | None = None
                      ) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]]]:
    """(input file, path relative to its root) for files and folders given on the command line, each
    file once; and the files in those folders that are not opened, with their reasons. Photos found
    inside out_folder when it is a folder below one given (`colorize scans/ -o scans/colorized/`:
    an earlier run's results) are left out, with one line saying how many."""
    from ..images import list_folder

    missing = [item for item in inputs if not Path(item).exists()]
    if missing:
        raise PlanError(f"no such file or folder: {', '.join(missing)}")
    results = out_folder.resolve() if out_folder is not None else None
    pairs, skipped, seen, earlier = [], [], set(), 0
    for item in inputs:
        p = Path(item)
        listing = list_folder(p) if p.is_dir() else None
        for f in (listing.photos if listing else [p]):
            if listing and results is not None and results != p.resolve() and f.resolve().is_relative_to(results):
                earlier += 1
            elif f.resolve() not in seen:  # a file given twice, or also inside a folder given, is done once
                seen.add(f.resolve())
                pairs.append((f, f.relative_to(p) if listing else Path(p.name)))
        skipped += listing.skipped if listing else []
    if earlier:
        skipped.append((out_folder, f"{earlier} photo(s) inside the output folder left out (earlier results)"))
    return pairs, skipped


def _name_key(path: Path) -> str:
    """Paths with the same key name one file: resolved, and case-folded (macOS and Windows ignore case)."""
    return str(path.resolve()).casefold()


def _free_name(dest: Path, taken: set[str]) -> Path:
    """dest, or dest with _2, _3 ... before its suffix: the first whose key is not taken."""
    free, n = dest, 2
    while _name_key(free) in taken:
        free, n = dest.with_stem(f"{dest.stem}_{n}"), n + 1
    return free


def plan_outputs(inputs: list[str], output: str | None, fmt: str = "png", default_out: str = "colorized",
                 namer=None) -> Plan:
    """-> Plan: (source, destination) pairs and the output file or folder, decided before any model is loaded.

    Into a folder (default colorized/), a photo keeps its path under the folder given and is named
    by limits.result_name ('old.jpg' -> 'old_color.png'), with fmt's suffix; names that would meet
    (x.jpg and x.png, or a photo given) get _2, _3 ... ('x_color_2.png'). One photo (not a folder)
    with an output that has a photo suffix is written exactly there. Raises PlanError when an input
    does not exist or the output is one of the photos given. default_out and namer (a name -> result
    name function, default limits.result_name) are translate's: 'translated/', 'x_translated.png'.
    """
    from ..limits import PHOTO_EXTENSIONS, result_name
    from ..pipeline import FORMATS

    result_name = namer or result_name
    out = Path(output) if output else Path(default_out)
    out_is_folder = out.is_dir() or out.suffix.lower() not in PHOTO_EXTENSIONS
    pairs, skipped = _colorize_targets(inputs, out if out_is_folder else None)
    if out.is_file() and any(os.path.samefile(out, src) for src, _ in pairs):
        raise PlanError(f"-o {out} is one of the photos given: it would be overwritten; name another file or folder")
    single = len(pairs) == 1 and not Path(inputs[0]).is_dir()
    if single and out.suffix.lower() in PHOTO_EXTENSIONS:
        return Plan([(pairs[0][0], out)], out, skipped, [])
    taken = {_name_key(src) for src, _ in pairs}  # a result never lands on a photo given
    jobs, renamed = [], []
    for src, rel in pairs:
        plain = (out / rel).with_name(result_name(rel)).with_suffix(FORMATS[fmt])
        dest = _free_name(plain, taken)
        taken.add(_name_key(dest))
        jobs.append((src, dest))
        if dest != plain:
            renamed.append((src, dest))
    return Plan(jobs, out, skipped, renamed)


def _nearest_existing(folder: Path) -> Path:
    """folder, or the nearest folder above it that exists: where making it would start."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _unwritable(probe: Path) -> str | None:
    """None when a file can be made in probe (an existing path), else why not, in a few words."""
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        return f"{probe} cannot be written ({err.strerror or err})"
    return None


def check_destinations(jobs: list[tuple[Path, Path]]) -> None:
    """PlanError unless every destination's folder can be written (or made) and no destination is a folder."""
    try:
        probes = sorted({_nearest_existing(dest.parent) for _, dest in jobs})
        for probe in probes:  # each existing folder once, however many results go below it
            why = _unwritable(probe)
            if why:
                raise PlanError(f"output {why}")
        folder = next((dest for _, dest in jobs if dest.is_dir()), None)
    except OSError as err:  # a folder that cannot even be looked at
        raise PlanError(f"output {err.filename or ''}: {err.strerror or err}") from None
    if folder:
        raise PlanError(f"output {folder} is a folder: name a file, or a folder without a photo suffix")


def is_video(path: str | Path) -> bool:
    """A file colorized as a film (limits.VIDEO_EXTENSIONS), by its suffix."""
    from ..limits import VIDEO_EXTENSIONS

    return Path(path).suffix.lower() in VIDEO_EXTENSIONS and not Path(path).is_dir()


def plan_videos(inputs: list[str], output: str | None, default_out: str = "colorized") -> list[tuple[Path, Path]]:
    """(video, destination) for the films among inputs: video files given, and the videos in folders given
    (recursive), decided before any model is loaded, as plan_outputs decides photos.

    One video given with an output that has a video suffix is written exactly there (its container by
    that suffix). Otherwise into the output folder (default colorized/): the video's path under the folder
    given, named by limits.video_result_name ('reel.avi' -> 'reel_color.mp4'), names that would meet get
    _2, _3 ... . Videos inside the output folder when it is below a folder given (earlier results) are
    left out. PlanError for a missing input, a video output name with several inputs or none of them a
    video, a photo output name with videos, or an output that is one of the videos.
    """
    from ..limits import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS, video_result_name

    missing = [item for item in inputs if not Path(item).exists()]
    if missing:
        raise PlanError(f"no such file or folder: {', '.join(missing)}")
    out = Path(output) if output else Path(default_out)
    to_file = out.suffix.lower() in VIDEO_EXTENSIONS and not out.is_dir()
    results = None if to_file else out.resolve()
    found, seen = [], set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            listed = [(f, f.relative_to(p)) for f in sorted(p.rglob("*"))
                      if f.is_file() and is_video(f) and not f.name.startswith(".")
                      and not (results not in (None, p.resolve()) and f.resolve().is_relative_to(results))]
        else:
            listed = [(p, Path(p.name))] if is_video(p) else []
        for f, rel in listed:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                found.append((f, rel))
    if to_file:
        if len(inputs) != 1 or len(found) != 1 or Path(inputs[0]).is_dir():
            what = "no video was given" if not found else "several inputs were given"
            raise PlanError(f"-o {out} names one video file, and {what}: give one video, or an output folder")
        src = found[0][0]
        if out.exists() and os.path.samefile(out, src):
            raise PlanError(f"-o {out} is the video given: it would be overwritten; name another file")
        return [(src, out)]
    if found and out.suffix.lower() in PHOTO_EXTENSIONS and not out.is_dir():
        raise PlanError(f"-o {out} names a photo; videos go to a video file (one video) or a folder")
    taken = {_name_key(src) for src, _ in found}
    jobs = []
    for src, rel in found:
        dest = _free_name((out / rel).with_name(video_result_name(rel)), taken)
        taken.add(_name_key(dest))
        jobs.append((src, dest))
    return jobs


def _plan(inputs: list[str], args: argparse.Namespace, videos: list | None = None, **naming) -> Plan:
    """plan_outputs and check_destinations, with what they find printed; PlanError when nothing can be
    done. Everything about the files is checked before the model loads (seconds). videos: colorize's
    films (plan_videos), planned apart: the folders' video files are not listed as skipped, and a folder
    of films alone is not an error."""
    plan = plan_outputs(inputs, args.output, args.format, **naming) if inputs else Plan([], Path("."), [], [])
    check_destinations(plan.jobs + list(videos or []))
    if videos is not None:
        plan = plan._replace(skipped=[(p, why) for p, why in plan.skipped if not is_video(p)])
    for path, why in plan.skipped:
        print(f"skipped: {path}: {why}", file=sys.stderr)
    if not plan.jobs and not videos:
        found = "photos" if videos is None else "photos or videos"
        raise PlanError(f"no {found} found in {', '.join(inputs)}")
    for src, dest in plan.renamed:
        print(f"note: {src} -> {dest} (its plain name is another photo's)", file=sys.stderr)
    return plan


def _probe_videos(jobs: list[tuple[Path, Path]], args: argparse.Namespace) -> tuple[list, dict, list[str]]:
    """The films that can be colorized, what each holds (video.probe) and why the others cannot; VideoError
    when the encoder asked for cannot write an output. Before the model loads."""
    from ..video import VideoError, check_encoder, probe

    for dest in {dest.suffix.lower(): dest for _, dest in jobs}.values():
        for note in check_encoder(dest, args.codec, args.crf)[1]:
            print(f"note: {note}", file=sys.stderr)
    good, infos, bad = [], {}, []
    for src, dest in jobs:
        try:
            infos[src] = probe(src)
        except VideoError as err:
            bad.append(str(err))
            continue
        good.append((src, dest))
    return good, infos, bad


def read_user_hints(args: argparse.Namespace, plan: Plan) -> list | None:
    """--hint and --hints of the one photo planned, checked against its size (before the model loads).
    None when none were given; hints.HintError (or PlanError) saying what is wrong."""
    if not args.hint and not args.hints:
        return None
    from ..hints import HintError, check_hints, parse_hint, parse_hints_json
    from ..images import PhotoError, read_photo

    if len(plan.jobs) != 1:
        raise PlanError(f"hints belong to one photo, in its own pixels: give one photo, not "
                        f"{len(plan.jobs)} (a folder or several files)")
    given = [parse_hint(text) for text in args.hint or []]
    if args.hints:
        try:
            text = Path(args.hints).read_text()
        except OSError as err:
            raise HintError(f"--hints {args.hints}: cannot be read ({err.strerror or err})") from None
        given += parse_hints_json(text, source=args.hints)
    src = plan.jobs[0][0]
    try:
        size = read_photo(src).image.size
    except PhotoError:
        return given  # the photo's own error comes when it is colorized
    return check_hints(given, *size, name=str(src))


def colorize_command(args: argparse.Namespace) -> int:
    from ..infer import Colorizer

    inputs = args.inputs or [EXAMPLES_BW]
    if (args.hint or args.hints) and any(is_video(i) for i in inputs):
        raise PlanError("hints are for one photo, not for films")
    videos = plan_videos(inputs, args.output)
    plan = _plan([i for i in inputs if not is_video(i)], args, videos=videos)
    infos, bad = {}, []
    if videos:
        videos, infos, bad = _probe_videos(videos, args)
        if not videos and not plan.jobs:  # nothing at all can be done: say why, once per film
            for line in bad:
                print(f"error: {line}", file=sys.stderr)
            return 2
        for line in bad:
            print(f"skipped: {line}", file=sys.stderr)
    given = read_user_hints(args, plan)
    # weights: registry.resolve (--weights, $COLORIZER_WEIGHTS, the folder's default; with hints, its hints one)
    model = Colorizer.load(args.weights, device=args.device, precision=args.precision, render_size=args.render_size,
                           weights_dir=args.weights_dir, backend=args.backend, hints=given is not None)
    what = [f"{len(plan.jobs)} photo(s)"] if plan.jobs else []
    what += [f"{len(videos)} video(s)"] if videos else []
    if given is not None:
        what[0] += f" with {len(given)} color hint(s)"
    print(f"Colorizing {' and '.join(what)} with {_model_line(model)}")
    codes = [_run_jobs(model, plan, args, hints={plan.jobs[0][0]: given} if given else None)] if plan.jobs else []
    if videos:
        codes.append(_run_videos(model, videos, infos, args, len(bad)))
    return 0 if 0 in codes else max(codes)


def _run_videos(model, jobs: list[tuple[Path, Path]], infos: dict, args: argparse.Namespace, skipped: int = 0) -> int:
    """Colorize each film with a progress bar (frames, frames/s, ETA); one line per film written or
    skipped. Ctrl-C stops at once, leaving no half-written file (exit 130)."""
    from tqdm.auto import tqdm

    from ..video import VideoError, colorize_video

    written = 0
    for src, dest in jobs:
        info = infos[src]
        print(f"{src}: {info.describe()}")
        with tqdm(total=info.frames, unit="frame", desc=src.name, smoothing=0.1) as bar:
            try:
                result = colorize_video(model, src, dest, temporal=args.temporal, codec=args.codec, crf=args.crf,
                                        saturation=args.saturation, batch_size=args.batch_size, progress=bar.update)
            except VideoError as err:
                bar.close()
                print(f"skipped: {err}", file=sys.stderr)
                skipped += 1
                continue
            except KeyboardInterrupt:
                bar.close()
                print(f"interrupted: {dest} not written (nothing half-written is left)", file=sys.stderr)
                return 130
        for line in result.notes:
            print(f"note: {line}", file=sys.stderr)
        w, h = result.size
        audio = ", audio " + ", ".join(result.audio) if result.audio else ", no audio"
        print(f"{src} -> {dest} ({w}x{h}, {result.frames} frames at {float(result.rate):g} fps{audio}; "
              f"{result.seconds:.1f} s, {result.fps:.1f} frames/s)")
        written += 1
    where = jobs[0][1] if len(jobs) == 1 else Path(args.output or "colorized")
    print(f"Wrote {written} colorized video(s) to {where}" + (f"; {skipped} skipped" if skipped else ""))
    return 0 if written else 2


def translate_command(args: argparse.Namespace) -> int:
    """`translate`: paired (pix2pix) weights on files and folders, as colorize runs a colorizer."""
    from ..paired.translate import Translator, result_name

    plan = _plan(args.inputs, args, default_out="translated", namer=result_name)
    model = Translator.load(args.weights, device=args.device, precision=args.precision,  # registry.resolve(PAIRED)
                            weights_dir=args.weights_dir, render_size=args.render_size)
    meta = model.meta
    print(f"Translating {len(plan.jobs)} image(s) with {meta['path']} ({meta.get('generator')} generator, "
          f"{meta.get('direction')}, {model.device}, {model.precision}, render size {model.render_size})")
    return _run_jobs(model, plan, args, done_word="translated image(s)")


def _run_jobs(model, plan: Plan, args: argparse.Namespace, done_word: str = "colorized photo(s)",
             hints: dict | None = None) -> int:
    from tqdm.auto import tqdm

    from ..pipeline import colorize_files

    jobs = plan.jobs
    failed = written = 0
    with tqdm(total=len(jobs), unit="photo", disable=len(jobs) < 2) as bar:
        for result in colorize_files(model, jobs, saturation=getattr(args, "saturation", 1.0), quality=args.quality,
                                     batch_size=args.batch_size, hints=hints):
            bar.update()
            for line in result.notes:
                print(f"note: {line}", file=sys.stderr)
            if result.error:
                print(f"skipped: {result.error}", file=sys.stderr)
                failed += 1
                continue
            written += 1
            if len(jobs) < 2:
                w, h = result.size
                print(f"{result.src} -> {result.dest} ({w}x{h}, {result.seconds:.2f}s)")
    done = written  # counted from the results, so the line is true whatever happened
    skipped = failed + len(plan.skipped)
    print(f"Wrote {done} {done_word} to {plan.out}" + (f"; {skipped} skipped" if skipped else ""))
    return 0 if done else 2


def export_onnx_command(args: argparse.Namespace) -> int:
    from ..checkpoint import SaveError
    from ..infer import export_onnx

    try:
        model = export_onnx(args.weights, args.dest, color_strength=args.color_strength,
                            base_weights=args.base_weights)
    except OSError as err:
        raise SaveError(f"{args.dest}: cannot be written ({err.strerror or err})") from None
    print(f"Wrote {args.dest} from {_model_line(model)}; use it with `colorize --weights {args.dest}`")
    return 0


def evaluate_command(args: argparse.Namespace) -> int:
    if args.video:
        return _evaluate_video(args)
    if args.temporal is not None:
        raise PlanError("--temporal scores films: add --video")
    if args.hints is not None:
        return _evaluate_hints(args)
    from ..evaluate import run_evaluation

    run_evaluation(data=args.data, weights=args.weights, out_dir=args.out, render_size=args.render_size,
                   device=args.device, precision=args.precision, limit=args.limit, weights_dir=args.weights_dir,
                   fid=not args.no_fid, color_strength=args.color_strength, base_weights=args.base_weights,
                   temperature=args.temperature, saturation=args.saturation)
    return 0


def _evaluate_hints(args: argparse.Namespace) -> int:
    """`evaluate --hints 0 1 2 5 10`: one hints weights file, the curve of scores against hint counts."""
    from ..hints.evaluate import hints_curve

    if args.weights and len(args.weights) > 1:
        raise PlanError("--hints scores one weights file at a time")
    hints_curve(args.data, args.hints, weights=args.weights[0] if args.weights else None, out_dir=args.out,
                weights_dir=args.weights_dir, device=args.device, precision=args.precision, limit=args.limit,
                render_size=args.render_size)
    return 0


def _evaluate_video(args: argparse.Namespace) -> int:
    """`evaluate --video`: one weights file, one saturation, one color strength; per-frame against smoothing."""
    from ..video.evaluate import run_video_evaluation

    several = [flag for flag, value in (("--weights", args.weights), ("--color-strength", args.color_strength),
                                        ("--saturation", args.saturation)) if value and len(value) > 1]
    if several:
        raise PlanError(f"--video scores one value of {', '.join(several)}")
    first = (lambda v: v[0] if v else None)  # noqa: E731
    run_video_evaluation(args.data, weights=first(args.weights), out_dir=args.out, temporal=args.temporal,
                         render_size=args.render_size, device=args.device, precision=args.precision,
                         limit=args.limit, weights_dir=args.weights_dir, color_strength=first(args.color_strength),
                         base_weights=args.base_weights, temperature=args.temperature,
                         saturation=first(args.saturation) or 1.0)
    return 0


def add_output_flags(p, what: str, batch_group=None) -> None:
    """--format, --quality and --batch-size: how a folder's results are written (colorize, translate);
    --batch-size goes into batch_group when a parser groups its advanced flags."""
    p.add_argument("--format", default="png", choices=["png", "jpg", "webp"],
                   help="file type written into a folder (default %(default)s: lossless, fast compression)")
    p.add_argument("--quality", type=quality, default=90, help="jpg and webp quality, 1..100 (default %(default)s)")
    (batch_group or p).add_argument("--batch-size", type=positive_int, default=8,
                                    help=f"{what} of one render shape per network call (default %(default)s)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorizer",
                                     description="Colorize black-and-white photos and films, translate images "
                                                 "with paired (pix2pix) weights, evaluate and train.",
                                     epilog="Most users need one command:\n"
                                            "  python -m colorizer colorize old.jpg -o old_color.png\n"
                                            "  python -m colorizer colorize scans/ -o colorized/\n"
                                            "  python -m colorizer colorize film.mp4 -o film_color.mp4\n"
                                            "`python -m colorizer colorize --help` lists its few everyday flags first.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("colorize", help="colorize photos and videos (files or folders)",
                       usage="python -m colorizer colorize [PHOTO_VIDEO_OR_FOLDER ...] [-o OUTPUT] [options]",
                       description="Colorize photos and videos at their original size with the default weights "
                                   "(weights/defaults.json; or $COLORIZER_WEIGHTS, or --weights). Videos keep their "
                                   "frame rate, size and sound, with colors smoothed over time (docs/video.md).",
                       epilog="Examples:\n  python -m colorizer colorize old.jpg -o old_color.png\n"
                              "  python -m colorizer colorize scans/ -o colorized/ --format jpg\n"
                              "  python -m colorizer colorize old.jpg --saturation 1.2   (more vivid)\n"
                              "  python -m colorizer colorize old.jpg --hint 120,80,#c0392b   (that spot is red)\n"
                              "  python -m colorizer colorize film.mp4 -o film_color.mp4",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("inputs", nargs="*", help=f"photos, videos or folders (default: {EXAMPLES_BW})")
    c.add_argument("-o", "--output", help="output file (one photo or one video) or folder, where each photo is "
                                          "written as NAME_color.png and each video as NAME_color.mp4 "
                                          "(default: colorized/)")
    c.add_argument("--saturation", type=float, default=1.0,
                   help="multiply the predicted color: above 1 more vivid, below 1 more muted (default %(default)s)")
    which = c.add_argument_group("which weights")
    which.add_argument("--weights", help="weights file (default: $COLORIZER_WEIGHTS when set, else the default "
                                         "of --weights-dir: `python -m colorizer weights show`)")
    which.add_argument("--weights-dir", default=None,
                       help="where to look for weights (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")
    from ..limits import MAX_HINTS

    known = c.add_argument_group("color hints (one photo; weights trained with --task hints)")
    known.add_argument("--hint", action="append", metavar="X,Y,#RRGGBB",
                       help="the color at pixel (X, Y) of the photo, e.g. 120,80,#c0392b: the region around it "
                            f"follows; repeat it for more (at most {MAX_HINTS} in all)")
    known.add_argument("--hints", metavar="FILE.json",
                       help='a JSON list of {"x": 120, "y": 80, "color": "#c0392b"} in the photo\'s pixels')
    advanced = c.add_argument_group("advanced: how colors are predicted")
    advanced.add_argument("--render-size", type=positive_int, default=None,
                          help="size (short side) the colors are predicted at; higher is slower, sometimes richer "
                               "(default: the size the weights were trained at)")
    speed = c.add_argument_group("advanced: where it runs")
    speed.add_argument("--device", default="auto")
    speed.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"],
                       help="torch backend: bf16 autocast on CPUs and bf16 GPUs (auto), or fp32")
    speed.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                       help="onnx: onnxruntime on the CPU (the .pt weights are exported once, into .onnx/ beside "
                            "them); auto: onnx on the CPU, torch on a GPU (default; see docs/speed.md)")
    add_output_flags(c, "photos (or video frames)", batch_group=speed)
    from ..limits import DEFAULT_TEMPORAL

    film = c.add_argument_group("videos (.mp4 .mov .mkv .avi .webm)")
    film.add_argument("--temporal", type=temporal, default=DEFAULT_TEMPORAL, metavar="S",
                      help="smooth colors over time: the weight of the past frames' colors, 0..0.95, lowered where "
                           "the picture moved, reset at scene cuts; 0 colorizes each frame on its own "
                           "(default %(default)s)")
    film.add_argument("--codec", default=None,
                      help="video encoder: h264 (default), hevc, vp9 (the default into .webm), av1, mpeg4, ffv1, "
                           "or another FFmpeg encoder's name; the sound is copied (encoded again only where the "
                           "output's container cannot hold it)")
    film.add_argument("--crf", type=crf, default=None, metavar="N",
                      help="quality of h264/hevc (0..51) or vp9/av1 (0..63): lower is better and larger "
                           "(default 18 for h264, 20 hevc, 30 vp9 and av1)")
    c.set_defaults(func=colorize_command)

    tr = sub.add_parser("translate", help="run paired (pix2pix) weights on images: sketch -> photo, ...",
                        description="Run paired translation weights (trained with --task paired; the weights' "
                                    "metadata says so) on images at their original size: each is run with its "
                                    "short side at the size the weights were trained at, and the output resized "
                                    "back. Colorizer weights are for `colorize`.",
                        epilog="Examples:\n  python -m colorizer translate sketch.png -o photo.png "
                               "--weights sketch2photo.pt\n"
                               "  python -m colorizer translate sketches/ -o translated/",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    tr.add_argument("inputs", nargs="+", help="images or folders")
    tr.add_argument("-o", "--output", help="output file (one image) or folder, where each image is written as "
                                           "NAME_translated.png (default: translated/)")
    tr.add_argument("--weights", help="paired weights file (default: the paired default of --weights-dir)")
    tr.add_argument("--weights-dir", default=None,
                    help="where to look for weights (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")
    tr.add_argument("--render-size", type=positive_int, default=None,
                    help="short side the network runs at (default: the size the weights were trained at)")
    tr.add_argument("--device", default="auto")
    tr.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    add_output_flags(tr, "images")
    tr.set_defaults(func=translate_command)

    x = sub.add_parser("export-onnx", help="write weights as an ONNX model (onnxruntime)",
                       description="Write a weights file as an ONNX model: any batch, height and width (multiples "
                                   "of 32), fp32, with the weights' metadata inside. The color strength is fixed at "
                                   "export. Then: python -m colorizer colorize --weights model.onnx ...",
                       epilog="Example:\n  python -m colorizer export-onnx weights/colorizer_gan.pt colorizer.onnx",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    x.add_argument("weights", help="a .pt weights file")
    x.add_argument("dest", help="the .onnx file to write")
    x.add_argument("--color-strength", type=color_strength, default=None, metavar="S",
                   help="blend with the stage-1 partner, as colorize does (default: as colorize)")
    x.add_argument("--base-weights", metavar="PATH", help="the stage-1 weights to blend with (see colorize --help)")
    x.set_defaults(func=export_onnx_command)

    from .weights import add_average_arguments, add_parser as add_weights_parser

    add_average_arguments(sub.add_parser("average", help="same as `weights average` (its older name)"))
    add_weights_parser(sub, color_strength, temperature)
    from .batch import add_parser as add_batch_parser

    add_batch_parser(sub)  # `batch SRC DEST`: an archive on Ray Data (colorizer/batch/)

    e = sub.add_parser("evaluate", help="score weights on a folder of color photos",
                       description="Turn each photo gray, colorize it, and compare with the original: PSNR, SSIM "
                                   "(RGB, original size), colorfulness, false color (saturated and wrong); the "
                                   "gray baseline alongside; FID when Inception weights can be had. Several "
                                   "weights files are scored on the same photos: one table, one grid.")
    e.add_argument("--data", required=True, help="folder of color photos (never trained on)")
    e.add_argument("--weights", nargs="+", metavar="PATH",
                   help="one or more weights files, compared side by side (default: the default of --weights-dir)")
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
    e.add_argument("--saturation", type=float, nargs="+", default=None, metavar="X",
                   help="one or more factors on the predicted colors (as colorize --saturation), each scored as "
                        "its own row for every weights file; the network runs once per photo (default 1)")
    e.add_argument("--limit", type=positive_int, default=None, help="only the first N photos")
    e.add_argument("--no-fid", action="store_true", help="skip FID (no Inception download attempt)")
    e.add_argument("--device", default="auto")
    e.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    e.add_argument("--hints", type=int, nargs="+", default=None, metavar="N",
                   help="score hints weights given N color hints per photo, drawn (seeded) from its own colors, "
                        "for each N (e.g. 0 1 2 5 10 20): curve.csv, summary.json and curve.png in --out "
                        "(default weights: the hints default of --weights-dir)")
    film = e.add_argument_group("films (--video)")
    film.add_argument("--video", action="store_true",
                      help="score films instead: --data is a color video, a folder of them, or a folder of photos "
                           "made into clips (pans, a zoom, a cut; two photos a clip, --limit clips); prints PSNR "
                           "and flicker (ab change where L is still) per temporal smoothing")
    film.add_argument("--temporal", type=temporal, nargs="+", default=None, metavar="S",
                      help="with --video: smoothings to score beside per-frame (0) (default: colorize's)")
    e.set_defaults(func=evaluate_command)

    t = sub.add_parser("pretrain", help="stage 1 (same as python pretrain.py)", add_help=False)
    t.set_defaults(func=None)
    g = sub.add_parser("train-gan", help="stage 2 (same as python train_gan.py)", add_help=False)
    g.set_defaults(func=None)
    k = sub.add_parser("api-key", help="make, list and revoke the HTTP API's keys", add_help=False)
    k.set_defaults(func=None)

    sub.add_parser("make-sketches", help="photos -> sketch|photo pairs for paired training", add_help=False)
    sub.add_parser("classify", help="is it jewelry, which type (photos and drawings)", add_help=False)
    sub.add_parser("train-classifier", help="train the jewelry classifier", add_help=False)

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("classify", "train-classifier"):  # colorizer/classify/
        if argv[0] == "classify":
            from ..classify.predict import main as classify_main
        else:
            from ..classify.train import main as classify_main

        return classify_main(argv[1:])
    if argv and argv[0] == "make-sketches":
        from ..paired.sketches import main as sketches_main

        return sketches_main(argv[1:])
    if argv and argv[0] == "pretrain":
        return pretrain_main(argv[1:])
    if argv and argv[0] == "train-gan":
        return gan_main(argv[1:])
    if argv and argv[0] == "api-key":
        from ..serving.keys import main as api_key_main

        return api_key_main(argv[1:])
    args = parser.parse_args(argv)
    return run_command(args.func, args)
