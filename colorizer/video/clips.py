"""Test films made from photos: a camera holding, panning and zooming over them, a cut, film grain.

The color truth of every frame is known, so a colorizer's films can be scored (video/evaluate.py),
and tests build their own small clips with or without a sound track (`write_clip`).

    frames = camera_clip([photo_a, photo_b], (320, 240), seconds=4, fps=25)   # RGB uint8 arrays
    write_clip(frames, "clip.mp4", fps=25, audio=True)                         # H.264 + AAC tone

A clip is, on the first photo: a hold (0.15 of the frames), a pan left to right (0.35), a zoom in
(0.25), while a disc cut from the other photo crosses the frame right to left (something that moves on
its own: what smoothing must not smear); then a cut to the second photo (when given), panned down
(0.25). Each frame gets its own film grain (the same noise on R, G and B, so on lightness alone), as a
scanned film has.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image

GRAIN = 3.0  # standard deviation of the grain, 8-bit levels
SEGMENTS = (0.15, 0.35, 0.25, 0.25)  # hold, pan, zoom on the first photo; pan on the second


def _window(photo: Image.Image, size: tuple[int, int], zoom: float) -> tuple[float, float]:
    """The (width, height) of a view with size's aspect, as large as the photo allows, divided by zoom."""
    w, h = size
    scale = min(photo.width / w, photo.height / h) / zoom
    return w * scale, h * scale


def _view(photo: Image.Image, size: tuple[int, int], cx: float, cy: float, zoom: float) -> Image.Image:
    """The photo seen through a window centred at (cx, cy) (shares of the room the window has to move),
    at zoom (1: the largest window), resized to size with sub-pixel precision."""
    ww, wh = _window(photo, size, zoom)
    x0 = (photo.width - ww) * cx
    y0 = (photo.height - wh) * cy
    return photo.transform(size, Image.Transform.EXTENT, (x0, y0, x0 + ww, y0 + wh), Image.Resampling.BILINEAR)


def camera_path(n: int, two_photos: bool) -> list[tuple[int, float, float, float]]:
    """(photo index, cx, cy, zoom) for each of n frames (see the module)."""
    shares = SEGMENTS if two_photos else tuple(s / sum(SEGMENTS[:3]) for s in SEGMENTS[:3])
    counts = [max(1, round(s * n)) for s in shares]
    counts[-1] = max(1, n - sum(counts[:-1]))
    path = []
    for i in range(counts[0]):  # hold, a little right of centre
        path.append((0, 0.2, 0.5, 1.15))
    for i in range(counts[1]):  # pan left to right
        path.append((0, 0.2 + 0.6 * (i + 1) / counts[1], 0.5, 1.15))
    for i in range(counts[2]):  # zoom in on the right
        path.append((0, 0.8, 0.5, 1.15 * (1 + 0.35 * (i + 1) / counts[2])))
    if two_photos:
        for i in range(counts[3]):  # cut, then pan down
            path.append((1, 0.5, 0.2 + 0.6 * (i + 1) / counts[3], 1.2))
    return path[:n]


def _disc(photo: Image.Image, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """A disc (its pixels, its mask) of diameter 0.4 x size's height, from the middle of photo."""
    d = max(4, round(0.4 * size[1]))
    patch = _view(photo, (d, d), 0.5, 0.5, 2.5)
    mask = Image.new("L", (d, d), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(mask).ellipse((0, 0, d - 1, d - 1), fill=255)
    return patch, mask


def camera_clip(photos: Sequence[Image.Image], size: tuple[int, int] = (320, 240), seconds: float = 4.0,
                fps: float = 25, grain: float = GRAIN, seed: int = 0) -> Iterator[np.ndarray]:
    """The frames (RGB uint8, size's height x width x 3) of a clip over one or two photos (see the module)."""
    photos = [p.convert("RGB") for p in photos[:2]]
    rng = np.random.default_rng(seed)
    path = camera_path(max(1, round(seconds * fps)), len(photos) > 1)
    patch, mask = _disc(photos[-1].transpose(Image.Transpose.FLIP_LEFT_RIGHT), size)
    first = sum(1 for index, *_ in path if index == 0)
    for i, (index, cx, cy, zoom) in enumerate(path):
        view = _view(photos[index], size, cx, cy, zoom)
        if index == 0:  # the disc crosses right to left, a little below the middle
            x = round(size[0] - (size[0] + patch.width) * (i + 1) / first)
            view.paste(patch, (x, round(0.55 * size[1] - patch.height / 2)), mask)
        frame = np.asarray(view, np.float32)
        if grain > 0:
            frame = frame + rng.normal(0.0, grain, frame.shape[:2] + (1,)).astype(np.float32)
        yield np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def cut_frames(n: int, two_photos: bool = True) -> set[int]:
    """The frame indices of camera_clip that start a new shot (frame i, cut from frame i - 1)."""
    path = camera_path(n, two_photos)
    return {i for i in range(1, len(path)) if path[i][0] != path[i - 1][0]}


def write_clip(frames, path: str | Path, fps: float = 25, audio: bool = False, codec: str = "libx264",
               crf: int = 12, audio_codec: str = "aac", sample_rate: int = 44100) -> Path:
    """RGB uint8 frames -> a video file (H.264 at a high quality by default); audio: a 440 Hz tone as long
    as the film, in audio_codec. The container is chosen by path's suffix."""
    import av

    from .io import container_format

    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", format=container_format(path)) as out:
        video = None
        count = 0
        for rgb in frames:
            if video is None:
                h, w = rgb.shape[:2]
                options = {"crf": str(crf), "preset": "veryfast"} if codec == "libx264" else {}
                video = out.add_stream(codec, rate=rate, options=options)
                video.width, video.height = w, h
                video.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
                sound = out.add_stream(audio_codec, rate=sample_rate) if audio else None
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
                format=video.pix_fmt, dst_colorspace=1, dst_color_range=1)
            frame.pts = count
            frame.time_base = 1 / rate
            out.mux(video.encode(frame))
            count += 1
        out.mux(video.encode(None))
        if audio:
            total = round(count / rate * sample_rate)
            t = np.arange(total) / sample_rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[start:start + 1024][None]
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                frame.time_base = Fraction(1, sample_rate)
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return path
