"""Reading and writing films with PyAV (FFmpeg in its wheel): what a file holds, clear errors, encoders.

`probe` opens a file, checks that it is a video this installation can decode and says what it holds
(VideoInfo), before any model is loaded. `open_output` makes the output container: the first video
stream re-encoded (H.264 by default, `--codec`, `--crf`), every audio stream copied as it is when the
output's container holds its codec, else re-encoded (AAC; Opus into webm), frame rate, size, pixel
aspect and timestamps kept. Frames are converted to and from RGB with BT.709 and tagged so.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.logging

from ..limits import DEFAULT_VIDEO_CODEC, MAX_PIXELS, VIDEO_CONTAINERS

# --codec NAME -> FFmpeg encoder; any other FFmpeg video encoder name is taken as it is
ENCODERS = {"h264": "libx264", "hevc": "libx265", "h265": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1",
            "mpeg4": "mpeg4", "ffv1": "ffv1", "prores": "prores"}
# The quality setting (CRF: lower is better and larger) of the encoders that have one, and its default.
CRF_DEFAULTS = {"libx264": 18, "libx265": 20, "libvpx-vp9": 30, "libsvtav1": 30}
CRF_RANGES = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libsvtav1": (0, 63)}
# Extra options per encoder: libvpx's defaults are its slowest settings.
ENCODER_OPTIONS = {"libx264": {"preset": "medium"}, "libx265": {"preset": "medium", "log-level": "error"},
                   "libvpx-vp9": {"b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
                   "libsvtav1": {"preset": "8"}}
AUDIO_REENCODE = {"webm": "libopus"}  # else AAC, which every other container here holds
AUDIO_BITRATE = 192_000
BT709 = 1  # AVCOL_SPC / AVCOL_PRI / AVCOL_TRC_BT709
MPEG_RANGE = 1  # limited (16-235): what players expect


class VideoError(ValueError):
    """A video that cannot be colorized or written; the message names the file and the reason."""


@dataclass
class VideoInfo:
    path: Path
    width: int
    height: int
    rate: Fraction           # frames per second
    frames: int | None       # as the container says, else estimated from the duration; None: unknown
    duration: float | None   # seconds
    codec: str               # the video stream's codec
    audio: list[str] = field(default_factory=list)  # codec of each audio stream
    others: int = 0          # streams that are neither (subtitles, data): not carried over

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def describe(self) -> str:
        """'1920x1080, 25 fps, 12.0 s, h264, audio aac'."""
        length = f", {self.duration:.1f} s" if self.duration else ""
        audio = f", audio {' + '.join(self.audio)}" if self.audio else ", no audio"
        return f"{self.width}x{self.height}, {float(self.rate):g} fps{length}, {self.codec}{audio}"


def container_format(path: str | Path) -> str:
    """FFmpeg's container name for an output path by its suffix (VideoError for others)."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_CONTAINERS:
        raise VideoError(f"{path}: not a video type written here ({suffix or 'no suffix'}; "
                         f"use {', '.join(sorted(VIDEO_CONTAINERS))})")
    return VIDEO_CONTAINERS[suffix]


def _undecodable_codec(path: Path) -> str:
    """The name of the video codec FFmpeg found no decoder for, from its log while opening
    ('hevc', or 'zzz9 (unknown to FFmpeg)' for a tag it does not know)."""
    level = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture() as logs, av.open(str(path)):
            pass
    except av.FFmpegError:
        logs = []
    finally:
        av.logging.set_level(level)
    for _, _, text in logs:
        found = re.search(r"Video: (\w+)(?: \(([^/)\s]+))?", text)
        if found:
            name, tag = found.groups()
            return f"{tag} (unknown to FFmpeg)" if name == "none" and tag else name
    return "unknown"


def open_input(path: str | Path) -> av.container.InputContainer:
    """The file opened for reading, its first video stream decodable; VideoError naming the file
    and why otherwise (not a video, no video stream, a codec this FFmpeg cannot decode)."""
    path = Path(path)
    try:
        container = av.open(str(path), "r")
    except FileNotFoundError:
        raise VideoError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise VideoError(f"{path}: a folder, not a video") from None
    except av.FFmpegError as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise VideoError(f"{path}: not a readable video ({reason})") from None
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        container.close()
        held = f"it holds {' and '.join(kinds)} only" if kinds else "it holds no streams"
        raise VideoError(f"{path}: no video stream ({held})")
    if container.streams.video[0].codec_context is None:
        container.close()
        raise VideoError(f"{path}: its video codec {_undecodable_codec(path)} cannot be decoded by this "
                         f"installation (PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info})")
    return container


def frame_rate(stream) -> Fraction:
    """A video stream's frames per second: its average, else FFmpeg's guess, else 25."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return Fraction(rate)
    return Fraction(25)


def info_of(container, path: str | Path) -> VideoInfo:
    """What an opened container holds (see VideoInfo)."""
    stream = container.streams.video[0]
    rate = frame_rate(stream)
    duration = None
    if stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    frames = stream.frames or (round(duration * rate) if duration else None)
    audio = [s.codec_context.name if s.codec_context else "unknown" for s in container.streams.audio]
    others = len(container.streams) - 1 - len(audio)  # more video streams, subtitles, data
    return VideoInfo(Path(path), stream.codec_context.width, stream.codec_context.height, rate, frames or None,
                     duration, stream.codec_context.name, audio, others)


def probe(path: str | Path, max_pixels: int = MAX_PIXELS) -> VideoInfo:
    """Open, check and close: VideoInfo, or VideoError naming the file and the reason (also for frames
    above max_pixels, and a video stream with no size: one that holds no picture)."""
    with open_input(path) as container:
        info = info_of(container, path)
    if not info.width or not info.height:
        raise VideoError(f"{path}: its video stream has no picture size (damaged, or not a video)")
    if info.pixels > max_pixels:
        raise VideoError(f"{path}: {info.width}x{info.height} frames are {info.pixels / 1e6:.1f} megapixels, "
                         f"above the {max_pixels / 1e6:g} MP limit")
    return info


# ---- the output -----------------------------------------------------------------------------

def encoder_name(codec: str | None) -> str:
    """--codec -> the FFmpeg encoder (ENCODERS, or any FFmpeg video encoder's own name)."""
    return ENCODERS.get((codec or DEFAULT_VIDEO_CODEC).lower(), codec or DEFAULT_VIDEO_CODEC)


def check_encoder(dest: str | Path, codec: str | None, crf: int | None) -> tuple[str, list[str]]:
    """(the encoder, notes) for writing dest with codec; VideoError when this installation has no such
    video encoder, dest's container cannot hold it, or crf is outside its range. Decided before any
    model is loaded. webm holds VP9 and AV1 only: with no --codec it gets VP9."""
    fmt = container_format(dest)
    if codec is None and fmt == "webm":
        codec = "vp9"
    name = encoder_name(codec)
    try:
        encoder = av.codec.Codec(name, "w")
    except (av.FFmpegError, ValueError):
        raise VideoError(f"--codec {codec}: no such video encoder in this installation (try "
                         f"{', '.join(sorted(set(ENCODERS) - {'h265'}))})") from None
    if encoder.type != "video":
        raise VideoError(f"--codec {codec}: {name} encodes {encoder.type}, not video")
    with av.open(io.BytesIO(), "w", format=fmt) as probe_out:
        held = probe_out.supported_codecs
    if encoder.canonical_name not in held:
        raise VideoError(f"{dest}: a {Path(dest).suffix} file cannot hold {encoder.canonical_name} video "
                         f"(--codec {codec or DEFAULT_VIDEO_CODEC}); name an .mp4 or .mkv output, or another codec")
    notes = []
    if crf is not None:
        if name not in CRF_RANGES:
            notes.append(f"--crf ignored: {name} has no CRF quality setting")
        else:
            low, high = CRF_RANGES[name]
            if not low <= crf <= high:
                raise VideoError(f"--crf {crf} is outside {low}..{high} for {name}")
    return name, notes


LOSSLESS = ("ffv1",)  # encoders that keep every pixel: their colors too (yuv444p)


def _pixel_format(encoder, width: int, height: int) -> str:
    """yuv420p where the size allows (what players expect); odd sizes, and lossless encoders, keep every
    pixel's color in yuv444p."""
    formats = [f.name for f in (encoder.video_formats or [])]
    full = encoder.name in LOSSLESS or width % 2 or height % 2
    wanted = ["yuv444p", "yuv420p"] if full else ["yuv420p", "yuv444p"]
    return next((f for f in wanted if f in formats), formats[0] if formats else "yuv420p")


@dataclass
class Output:
    """An output container being written: the video encoder stream and, per input audio stream, how its
    packets go in (copied to a stream from its template, or decoded and encoded again)."""

    container: av.container.OutputContainer
    video: av.video.stream.VideoStream
    pix_fmt: str
    audio: dict = field(default_factory=dict)  # input stream index -> (output stream, copy?)
    audio_notes: list[str] = field(default_factory=list)


def open_output(tmp: Path, fmt: str, source, encoder: str, crf: int | None) -> Output:
    """The output container at tmp (written as fmt) for the input container source: its first video stream
    re-encoded with encoder at crf (None: CRF_DEFAULTS), its audio streams copied or re-encoded."""
    container = av.open(str(tmp), "w", format=fmt)
    try:
        held = container.supported_codecs
        src = source.streams.video[0]
        codec = av.codec.Codec(encoder, "w")
        w, h = src.codec_context.width, src.codec_context.height
        options = dict(ENCODER_OPTIONS.get(encoder, {}))
        if encoder in CRF_DEFAULTS:
            options["crf"] = str(CRF_DEFAULTS[encoder] if crf is None else crf)
        video = container.add_stream(encoder, rate=frame_rate(src), options=options)
        video.width, video.height = w, h
        pix_fmt = _pixel_format(codec, w, h)
        video.pix_fmt = pix_fmt
        video.time_base = src.time_base
        video.codec_context.time_base = src.time_base
        if src.sample_aspect_ratio:
            video.codec_context.sample_aspect_ratio = src.sample_aspect_ratio
        ctx = video.codec_context
        ctx.colorspace, ctx.color_primaries, ctx.color_trc, ctx.color_range = BT709, BT709, BT709, MPEG_RANGE
        ctx.thread_count = 0  # the encoder's own choice (all cores)
        out = Output(container, video, pix_fmt)
        for stream in source.streams.audio:
            name = stream.codec_context.name if stream.codec_context else None
            if name is None:
                out.audio_notes.append(f"audio stream {stream.index}: its codec cannot be read here, left out")
                continue
            if name in held:
                out.audio[stream.index] = (container.add_stream_from_template(stream), True)
                continue
            target = AUDIO_REENCODE.get(fmt, "aac")
            rate = 48000 if target == "libopus" else (stream.codec_context.sample_rate or 48000)
            audio = container.add_stream(target, rate=rate)
            audio.bit_rate = AUDIO_BITRATE
            if stream.codec_context.layout is not None and stream.codec_context.layout.nb_channels <= 2:
                audio.layout = stream.codec_context.layout
            out.audio[stream.index] = (audio, False)
            out.audio_notes.append(f"audio {name} re-encoded as {audio.codec_context.name} "
                                   f"(a {fmt} file cannot hold {name})")
        return out
    except BaseException:
        container.close()
        raise
