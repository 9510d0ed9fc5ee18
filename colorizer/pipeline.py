"""Colorizing many files: a pipeline around one loaded Colorizer.

Worker threads open and prepare photos (decode, Lab, resize) ahead of the model and finish and
encode results behind it, so that reading, the network and writing overlap; photos of the same
render shape go through the network together (one batch). Results come back as each file is
written or refused, in no fixed order. A photo's transparency is put back on its result where the
destination's format keeps it, and what a result leaves out (frames, transparency) comes back as notes.
"""
from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image

from .files import atomic_path
from .images import Photo, PhotoError, read_photo

FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}
PNG_LEVEL = 1  # zlib level: about 4x faster than Pillow's default (6) for files ~10% larger
DEFAULT_QUALITY = 90  # JPEG and WebP


@dataclass
class Result:
    src: Path
    dest: Path
    size: tuple[int, int] | None = None  # (width, height) when written
    seconds: float = 0.0                 # from opening the photo to its file written
    error: str | None = None             # why it was skipped (names the file)
    notes: list[str] = field(default_factory=list)  # what the result leaves out (images.Photo.notes)


def save_image(image: Image.Image, dest: Path, quality: int = DEFAULT_QUALITY) -> None:
    """Write by dest's suffix, all or nothing (files.atomic_path: a run cut short leaves no half
    image under the result's name): PNG at a fast compression level, JPEG and WebP at quality;
    others as Pillow does."""
    suffix = dest.suffix.lower()
    options = {".png": {"compress_level": PNG_LEVEL}, ".jpg": {"quality": quality}, ".jpeg": {"quality": quality},
               ".webp": {"quality": quality}}.get(suffix, {})
    kind = Image.registered_extensions().get(suffix)
    if kind is None:
        raise ValueError(f"{dest}: not an image type Pillow writes ({suffix or 'no suffix'})")
    with atomic_path(dest) as tmp:
        image.save(tmp, format=kind, **options)


@dataclass
class _Prepared:
    src: Path
    dest: Path
    started: float
    size: tuple[int, int]
    photo: Photo  # its alpha and frame count; its RGB pixels are in L_full, not kept twice
    L_full: np.ndarray   # what model.prepare gives: the full-size input
    L_small: np.ndarray  # and the network's input, (1, C, h, w)
    hint_map: np.ndarray | None = None  # hints weights given a person's hints: (1, 3, h, w)


def colorize_files(model, jobs: Iterable[tuple[Path, Path]], saturation: float = 1.0,
                   quality: int = DEFAULT_QUALITY, batch_size: int = 8, workers: int = 2,
                   ahead: int = 16, hints: dict | None = None) -> Iterator[Result]:
    """Colorize each (source, destination) pair with model (an infer.Colorizer); yield a Result per pair.
    hints: source -> its hints.UserHint list, for hints weights (a bad hint is that photo's error).

    batch_size: photos of one render shape per network call; workers: threads reading and, as many,
    writing; ahead: photos read or waiting to be written at most (memory: each is held full size).
    """
    def read(src: Path, dest: Path):
        started = time.perf_counter()
        try:
            photo = read_photo(src)
        except PhotoError as err:
            return Result(src, dest, error=str(err))
        L_full, L_small = model.prepare(photo.image)
        hint_map, given = None, (hints or {}).get(src)
        if given:  # only a colorizer's hints weights take them (the CLI checks before loading)
            try:
                hint_map = model.hint_map(photo.image.size, L_small.shape[-2:], given)
            except ValueError as err:  # hints.HintError
                return Result(src, dest, error=f"{src}: {err}")
        return _Prepared(src, dest, started, photo.image.size, replace(photo, image=None), L_full, L_small, hint_map)

    def write(item: _Prepared, ab: np.ndarray) -> Result:
        result = item.photo.with_alpha(model.finish(item.L_full, ab, saturation), item.dest)
        try:
            save_image(result, item.dest, quality)
        except OSError as err:  # a full disk, a folder made read-only meanwhile: this file only
            return Result(item.src, item.dest, error=f"{item.dest}: cannot be written ({err.strerror or err})")
        return Result(item.src, item.dest, item.size, time.perf_counter() - item.started,
                      notes=item.photo.notes(item.dest))

    jobs = iter(jobs)
    reading: deque[Future] = deque()
    writing: deque[Future] = deque()
    groups: dict[tuple, list[_Prepared]] = {}  # render shape -> photos waiting for the network

    with ThreadPoolExecutor(workers, thread_name_prefix="read") as readers, \
            ThreadPoolExecutor(workers, thread_name_prefix="write") as writers:
        def fill() -> None:
            while len(reading) + len(writing) + sum(map(len, groups.values())) < ahead:
                job = next(jobs, None)
                if job is None:
                    return
                reading.append(readers.submit(read, *job))

        def run(group: list[_Prepared]) -> None:
            given = [item.hint_map for item in group if item.hint_map is not None]
            L = np.concatenate([item.L_small for item in group])
            if given:  # one render shape: one blank map fits all
                ab = model.predict_ab(L, np.concatenate(
                    [np.zeros_like(given[0]) if item.hint_map is None else item.hint_map for item in group]))
            else:  # automatic: the one call every model (colorizer, translator) takes
                ab = model.predict_ab(L)
            for item, one in zip(group, np.split(ab, len(group))):
                writing.append(writers.submit(write, item, one))

        def done_writes(limit: int) -> Iterator[Result]:
            """Results of finished writes, in order, waiting until at most `limit` remain."""
            while writing and (len(writing) > limit or writing[0].done()):
                yield writing.popleft().result()

        fill()
        while reading:
            got = reading.popleft().result()
            if isinstance(got, Result):
                yield got
            else:
                group = groups.setdefault(tuple(got.L_small.shape), [])
                group.append(got)
                if len(group) >= batch_size:
                    run(groups.pop(tuple(got.L_small.shape)))
            yield from done_writes(ahead)
            fill()
            if not reading:  # all read photos are in: run what waits, and make room for the next ones
                for group in groups.values():
                    run(group)
                groups.clear()
                yield from done_writes(0)
                fill()
        yield from done_writes(0)
