"""Which weights file serves each task, and what runs it: the one resolver and the task registry.

`resolve(task)` is the only rule that picks a weights file, for the command line, the page, the API,
films and the sketch app:

1. the file given by hand (--weights, a form field, an argument);
2. else $COLORIZER_WEIGHTS (colorizers: a file chosen by hand for every front end);
3. else the default the folder's manifest (`weights/defaults.json`, one file per task) names;
4. else, in a folder without a manifest (your own training runs), the most trained file of the task
   (checkpoint.ranked_weights).

So a file copied into `weights/` never changes what the default colorizes; `python -m colorizer weights
default FILE` changes it on purpose. A task plugs in with one `Task` entry in TASKS: its name in weights
metadata, the command that runs it, what to train when it has no weights, and the predictor that loads
its files (imported when first used, so resolving needs no torch).
"""
from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .card import read_card
from .checkpoint import CLASSIFY, COLORIZE, HINTS, PAIRED, WeightsError, find_weights
from .files import write_atomic

WEIGHTS_ENV = "COLORIZER_WEIGHTS"  # one weights file, used as is
WEIGHTS_DIR_ENV = "COLORIZER_WEIGHTS_DIR"  # the folder weights are looked for in (default: weights)
MANIFEST = "defaults.json"  # in the weights folder: {task: file name}


@dataclass(frozen=True)
class Task:
    """What the registry knows of a task."""

    name: str  # as weights metadata records it (checkpoint.task_of)
    verb: str  # the `python -m colorizer` command that runs its weights
    predictor: str  # "module:Class" (relative to colorizer) whose .load(path, device=...) runs them
    missing: str  # what to say when a folder has none: {folder} is filled in
    env: bool = False  # $COLORIZER_WEIGHTS picks its file too
    name_hint: str | None = None  # a conventional file name looked for before ranking (the folder may not rank it)

    def load(self, path: str | Path, **options):
        module, cls = self.predictor.split(":")
        return getattr(importlib.import_module(f"colorizer.{module}"), cls).load(path, **options)


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    TASKS[task.name] = task
    return task


register(Task(COLORIZE, "colorize", "infer:Colorizer", env=True,
              missing="No colorizer weights found in {folder}/. Train them with `python pretrain.py` (stage 1) and "
                      "`python train_gan.py` (stage 2), or pass --weights PATH."))
register(Task(HINTS, "colorize", "infer:Colorizer", env=True,
              missing="No color hints weights in {folder}/ (hints need weights trained with them): train them "
                      "with `python pretrain.py --task hints --init WEIGHTS`, or pass --weights PATH."))
register(Task(PAIRED, "translate", "paired.translate:Translator",
              missing="No paired translation weights found in {folder}/. Train them with `python train_gan.py "
                      "--task paired --data PAIRS` (pairs from photos: `python -m colorizer make-sketches`), or "
                      "pass --weights PATH."))
register(Task(CLASSIFY, "classify", "classify.predict:Classifier", name_hint="jewelry_classifier.pt",
              missing="No jewelry classifier in {folder}/: train it with `python -m colorizer train-classifier "
                      "--out {folder}/jewelry_classifier.pt` (the repository ships weights/jewelry_classifier.pt)."))


def weights_folder(weights_dir: str | Path | None = None) -> Path:
    """The folder weights are looked for in: weights_dir, else $COLORIZER_WEIGHTS_DIR, else weights/."""
    return Path(weights_dir or os.environ.get(WEIGHTS_DIR_ENV) or "weights")


def read_manifest(folder: str | Path) -> dict[str, str]:
    """{task: file name} from the folder's defaults.json; {} when it has none. WeightsError when it
    cannot be read as such."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path}: not a weights manifest ({err})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise WeightsError(f"{path}: not a weights manifest (expected {{\"colorize\": \"FILE.pt\", ...}})")
    return data


def set_default(path: str | Path, folder: str | Path | None = None) -> tuple[str, Path]:
    """Make the weights file path (in folder, by default its own) the default of its task in the folder's
    manifest. -> (task, manifest written)."""
    path = Path(path)
    folder = Path(folder) if folder is not None else path.parent
    if not (folder / path.name).is_file():
        raise WeightsError(f"{path}: not in {folder}/ (a default is a file of the folder it is the default of)")
    task = read_card(folder / path.name).task
    manifest = dict(read_manifest(folder), **{task: path.name})
    out = write_atomic(folder / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return task, out


def default_of(task: str, folder: str | Path) -> Path | None:
    """The file the folder's manifest names for task; None when it names none. WeightsError when the
    file it names is missing (the default would silently become another file otherwise)."""
    name = read_manifest(folder).get(task)
    if name is None:
        return None
    path = Path(folder) / name
    if not path.is_file():
        raise WeightsError(f"{Path(folder) / MANIFEST} names {name} as the {task} default, but there is no {path}: "
                           f"put it back, or choose another with `python -m colorizer weights default FILE`")
    return path


def existing_weights(path: str | Path, why: str = "") -> Path:
    """path, or WeightsError saying there is no such weights file (why: how it was named)."""
    if not Path(path).is_file():
        raise WeightsError(f"{path}: no such weights file{why}")
    return Path(path)


def resolve(task: str | None, weights: str | Path | None = None, weights_dir: str | Path | None = None,
            ranked: list[Path] | None = None) -> Path:
    """The weights file for task (module docstring). task None: a file that makes images, the colorizer's
    default first (the page lists paired weights beside colorizers). ranked: the folder's files of that
    task already ranked (the page has read them). WeightsError when the file chosen does not exist or there
    is none, saying what to train."""
    spec = TASKS[task or COLORIZE]
    if weights:
        return existing_weights(weights)
    if spec.env and os.environ.get(WEIGHTS_ENV):
        return existing_weights(os.environ[WEIGHTS_ENV], f" (set by {WEIGHTS_ENV})")
    folder = weights_folder(weights_dir)
    named = default_of(spec.name, folder)
    if named is not None:
        return named
    if spec.name_hint and (folder / spec.name_hint).is_file():
        return folder / spec.name_hint
    found = find_weights(folder, task) if ranked is None else ranked
    if not found:
        raise WeightsError(spec.missing.format(folder=folder))
    return found[0]


def load(path: str | Path, **options):
    """The predictor for a weights file, by the task its card records (TASKS[task].predictor)."""
    return TASKS[read_card(path).task].load(path, **options)
