"""Weights on disk: state dicts plus a small metadata dict, saved atomically, loaded safely.

Two kinds of file, both plain `torch.save` dicts that load with `weights_only=True`:
- weights (`weights/*.pt`): {"format": "colorizer-weights", "meta": {...}, "generator": state_dict}
- resume checkpoints (`runs/NAME/last.pt`): the above plus the discriminator, both optimizers'
  state and the loss history, so `--resume` continues exactly where training stopped.

torch is imported when a file is saved or its tensors loaded, not to read metadata: `read_meta`
unpickles the file's small data.pkl with every tensor left out (`_peek`), which needs no torch
(importing it is half of a one-photo command: README, Speed). A file it cannot read that way goes
through torch.load, which gives the reason.
"""
from __future__ import annotations

import collections
import glob
import io
import pickle
import re
import shutil
import threading
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from .files import atomic_path

FORMAT = "colorizer-weights"
CHECKPOINT_FORMAT = "colorizer-checkpoint"


# warnings.catch_warnings swaps the process-wide filter list: loads take turns inside it.
_WARNINGS_LOCK = threading.Lock()


class WeightsError(ValueError):
    """A weights file is missing, damaged or not one of ours; the message says which and why."""


class SaveError(OSError):
    """A weights or checkpoint file could not be written (full disk, no permission); the message
    names the file. Whatever was at that path before is left as it was."""


def temp_files(path: str | Path) -> list[Path]:
    """Temp files that atomic_save(path) leaves behind when it is killed mid-write
    (`.NAME.XXXX.tmp` beside NAME): what a later run may remove."""
    path = Path(path)
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp")) if path.parent.is_dir() else []


def atomic_save(obj, path: str | Path) -> Path:
    """torch.save to a temp file in the same folder, then rename: never a half-written file.
    Raises SaveError naming the file when it cannot be written; the temp file is removed."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise SaveError(f"{path}: its folder cannot be made (a file stands in the way)") from err
    except OSError as err:
        raise SaveError(f"{path}: its folder cannot be made ({err.strerror or err})") from err
    import torch

    try:
        with atomic_path(path) as tmp:
            torch.save(obj, tmp)
    except (OSError, RuntimeError) as err:  # torch.save reports a full disk as a RuntimeError
        reason = err.strerror if isinstance(err, OSError) and err.strerror else \
            f"the write failed with {free_space(path.parent) / 1e6:.0f} MB free on its disk"
        raise SaveError(f"{path}: could not be written ({reason})") from err
    return path


def nearest_existing(folder: str | Path) -> Path:
    """folder, or its nearest parent that exists (where a folder still to be made would go)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def free_space(folder: str | Path) -> int:
    """Bytes free for us on the disk that holds folder (or would hold it, once made)."""
    return shutil.disk_usage(nearest_existing(folder)).free


def _first_sentence(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else err.__class__.__name__
    return text.split(". ")[0].rstrip(".")


def make_meta(**fields) -> dict:
    """Metadata kept beside the weights (plain types only, so weights_only loading accepts it)."""
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    meta.update(fields)
    return meta


def save_weights(path: str | Path, generator_state: dict, meta: dict, half: bool = False) -> Path:
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu().clone()
             for k, v in generator_state.items()}
    return atomic_save({"format": FORMAT, "meta": dict(meta, dtype="float16" if half else "float32"),
                        "generator": state}, path)


def _load(path: str | Path, expected: tuple[str, ...], mmap: bool = False) -> dict:
    """The file's dict, checked to be of one of the expected formats (read once). mmap: tensors are
    mapped, not read (for the metadata alone: a 124 MB file then costs milliseconds, not seconds)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file")
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise WeightsError(_refused(path, err)) from None
    except Exception as err:  # noqa: BLE001 - truncated zip, not a torch file, anything
        raise WeightsError(f"{path}: could not be read as a weights file ({err.__class__.__name__}: "
                           f"{_first_sentence(err)})") from None
    if not isinstance(obj, dict) or obj.get("format") not in expected:
        raise WeightsError(f"{path}: not a colorizer {expected[0].split('-')[1]} file")
    return obj


def _refused(path: Path, err: Exception) -> str:
    """Why a file with more than tensors in it is refused. Torch's own message advises loading it
    with weights_only=False, which runs whatever code the file holds: that advice is not repeated."""
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    what = f" (it names {found[1]})" if found else ""
    return (f"{path}: refused: it holds Python objects, not only tensors{what}, and loading those can "
            f"run code. Use weights saved by this project's training (a state dict and metadata)")


def load_weights(path: str | Path) -> tuple[dict, dict]:
    """-> (generator state dict in float32, metadata). Accepts resume checkpoints too."""
    obj = _load(path, (FORMAT, CHECKPOINT_FORMAT))
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in obj["generator"].items()}
    return state, dict(obj["meta"])


def save_checkpoint(path: str | Path, *, meta: dict, epoch: int, history: list, parts: dict) -> Path:
    """parts: name -> module or optimizer (generator, opt_g, and for stage 2 discriminator, opt_d)."""
    obj = {"format": CHECKPOINT_FORMAT, "meta": meta, "epoch": epoch, "history": history}
    obj.update({name: part.state_dict() for name, part in parts.items()})
    return atomic_save(obj, path)


def load_checkpoint(path: str | Path) -> dict:
    return _load(path, (CHECKPOINT_FORMAT,))


def read_meta(path: str | Path) -> dict:
    """The metadata of a weights file or resume checkpoint, without reading its tensors (nor importing
    torch, for the files this project writes: _peek)."""
    expected = (FORMAT, CHECKPOINT_FORMAT)
    obj = _peek(path)
    if not (isinstance(obj, dict) and obj.get("format") in expected and isinstance(obj.get("meta"), dict)):
        obj = _load(path, expected, mmap=True)  # torch says what is wrong with it (or reads an older layout)
    return dict(obj["meta"])


class _WithoutTensors(pickle.Unpickler):
    """Unpickles the data.pkl of a torch.save zip file with each tensor and storage as None. Only
    collections.OrderedDict and torch's own names (which become a function doing nothing) may be named:
    nothing in the file is run. Anything else is refused, as torch.load(weights_only=True) would."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" or module.startswith("torch."):
            return _nothing
        raise pickle.UnpicklingError(f"GLOBAL {module}.{name}")

    def persistent_load(self, pid):
        return None


def _nothing(*args, **kwargs) -> None:
    return None


def _peek(path: str | Path) -> object | None:
    """The object in a torch.save zip file with its tensors as None; None when the file is not one
    that reads this way (a missing or damaged file, another layout, a refused name)."""
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1)
            return _WithoutTensors(io.BytesIO(archive.read(name))).load()
    except Exception:  # noqa: BLE001 - whatever it is, torch.load then reads it or says why not
        return None


# ---- what weights serve: the task in their metadata -----------------------------------------

COLORIZE, HINTS, PAIRED, CLASSIFY = "colorize", "hints", "paired", "classify"
GENERATORS = (COLORIZE, HINTS, PAIRED)  # tasks whose weights make images: what a weights folder offers
# the command-line verb that runs each kind (hints weights colorize too: with no hints, on their own)
VERBS = {COLORIZE: "colorize", HINTS: "colorize", PAIRED: "translate", CLASSIFY: "classify"}


def task_of(meta: dict) -> str:
    """What weights serve: "colorize" (L -> ab; also files from before tasks were recorded), "hints"
    (L and color hints -> ab: a colorizer that also takes hints), "paired" (pix2pix, image A -> image B)
    or "classify" (the jewelry classifier: an image -> a class, `python -m colorizer classify`)."""
    return meta.get("task") or COLORIZE


def require_task(path: str | Path, meta: dict, task: str) -> None:
    """WeightsError naming the file and the command that runs it, unless the weights serve `task`."""
    found = task_of(meta)
    if found != task:
        what = {COLORIZE: "colorizer weights", HINTS: "color hints weights",
                PAIRED: "paired translation (pix2pix) weights",
                CLASSIFY: "jewelry classifier weights"}.get(found, f"{found} weights")
        wanted = {COLORIZE: "colorizer", PAIRED: "paired translation", CLASSIFY: "classifier"}.get(task, task)
        verb = VERBS.get(found)
        raise WeightsError(f"{path}: {what}, not {wanted} "
                           f"weights" + (f": run them with `python -m colorizer {verb}`" if verb else ""))


def ranked_weights(folder: str | Path = "weights", task: str | None = None) -> list[tuple[Path, dict]]:
    """(path, metadata) of the weights in folder, best first: colorizers before paired translation
    weights (so the default the CLI, page and API pick is a colorizer when there is one), then the
    most trained (photos seen over both stages) first. Files that are not colorizer weights are left
    out; task: only the weights that serve it (task_of). Without a task, only weights that make images
    (GENERATORS): the jewelry classifier (task "classify") is never offered as a colorizer.

    A GAN stage counts the photos its stage-1 start saw, so it ranks above its own start, and a
    student distilled from teachers (pretrain.py --teachers) counts the most any of them saw, so it
    ranks above them; a quick demo run on a few photos never outranks a long training run.
    """
    ranked = []
    for p in sorted(Path(folder).glob("*.pt")):
        try:
            meta = read_meta(p)
        except WeightsError:
            continue
        if task_of(meta) == task or (task is None and task_of(meta) in GENERATORS):
            ranked.append((task_of(meta) == COLORIZE, meta.get("images_seen", 0), meta.get("stage") == "gan", p, meta))
    ranked.sort(key=lambda t: t[:3], reverse=True)
    return [(t[3], t[4]) for t in ranked]


def find_weights(folder: str | Path = "weights", task: str | None = None) -> list[Path]:
    """Weights files in folder, best first (see ranked_weights)."""
    return [p for p, _ in ranked_weights(folder, task)]


# ---- weights that name other weights: stage 2 its stage-1 start, averaged weights their members ----

IDENTITY_KEYS = ("date", "images_seen", "backbone")  # what a record of another weights file must match


def describes(record: dict, meta: dict) -> bool:
    """True when meta is that of the weights file record (a copy of its metadata) was taken from."""
    return record.get("date") is not None and all(record.get(k) == meta.get(k) for k in IDENTITY_KEYS)


def find_described(record: dict, folders, exclude: str | Path | None = None,
                   name: str | None = None) -> Path | None:
    """The weights file in folders (in order) that record describes: the one called name first, where
    given, then any *.pt; never exclude (the file holding the record). None when no file matches."""
    skip = Path(exclude).resolve() if exclude is not None else None
    candidates = [Path(f) / name for f in folders] if name else []
    candidates += [p for f in folders for p in sorted(Path(f).glob("*.pt"))]
    for candidate in candidates:
        if not candidate.is_file() or candidate.resolve() == skip:
            continue
        try:
            if describes(record, read_meta(candidate)):
                return candidate
        except WeightsError:
            continue
    return None
