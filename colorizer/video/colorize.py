"""One film in, one colorized film out, streamed: memory stays flat whatever its length.

Three stages overlap on their own threads, with small bounded queues between them:

    read:  demux; decode each frame, `model.prepare` it (its full-size L, its L at render size),
           pass audio packets along in file order
    main:  `model.predict_ab` on batches of frames (one render shape: a film has one size), then the
           TemporalSmoother over them in order, at render size
    write: `model.finish` (the smoothed chroma laid onto the frame's full-size L), encode, mux; audio
           packets muxed as they come (copied, or decoded and encoded again: io.open_output)

At most about 3 x batch_size frames are held at once (each as its full-size float L: 8 MB at 1080p),
plus what the encoder looks ahead. The result is written to a temporary file beside the destination
and renamed onto it when whole (files.atomic_path): an error, a full disk or Ctrl-C leaves nothing
under the output's name.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
from PIL import Image

from ..files import atomic_path
from ..limits import DEFAULT_TEMPORAL
from .io import BT709, MPEG_RANGE, VideoError, check_encoder, container_format, info_of, open_input, open_output
from .temporal import TemporalSmoother

_END = object()  # the last item of a queue
_POLL = 0.1      # seconds a blocked thread waits before looking whether to stop
MAX_DAMAGED = 25  # damaged packets a film may have (their frames left out, with a note) before it is refused


@dataclass
class VideoResult:
    src: Path
    dest: Path
    frames: int = 0
    size: tuple[int, int] | None = None  # (width, height)
    rate: Fraction | None = None         # frames per second, kept from the input
    seconds: float = 0.0                 # the whole film, opening to renamed
    audio: list[str] = field(default_factory=list)  # 'aac copied', 'pcm_s16le -> aac'
    cuts: int = 0                        # scene cuts the smoothing restarted at
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames colorized per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class _Stop(Exception):
    """Another stage failed or was interrupted: this one ends without finishing."""


def _put(q: queue.Queue, item, stop: threading.Event) -> None:
    while True:
        if stop.is_set():
            raise _Stop
        try:
            q.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue


def _get(q: queue.Queue, stop: threading.Event):
    while True:
        if stop.is_set():
            raise _Stop
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            continue


class _Stage(threading.Thread):
    """A thread running fn(); what it raised is kept in .error, and stops the others."""

    def __init__(self, name: str, fn: Callable[[], None], stop: threading.Event):
        super().__init__(name=name, daemon=True)
        self.fn, self.stop, self.error = fn, stop, None

    def run(self) -> None:
        try:
            self.fn()
        except _Stop:
            pass
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            self.error = err
            self.stop.set()


def colorize_video(model, src: str | Path, dest: str | Path, temporal: float = DEFAULT_TEMPORAL,
                   codec: str | None = None, crf: int | None = None, saturation: float = 1.0,
                   batch_size: int = 8, progress: Callable[[int], None] | None = None,
                   render_size: int | None = None) -> VideoResult:
    """Colorize the film src into dest with model (an infer.Colorizer): every frame, its rate, size and
    timestamps, and its audio streams kept. temporal: TemporalSmoother's strength (0: per-frame). codec
    and crf: the video encoder (io.check_encoder; default H.264 at CRF 18, VP9 into webm). progress:
    called on the caller's thread, after each batch, with the number of frames written since its last
    call. render_size: as for photos (None: the model's own).

    A few damaged packets (up to MAX_DAMAGED) are left out with a note, as FFmpeg's own tools go on.
    Raises VideoError (naming the file and the reason) for a file that is not a video, has no video
    stream, a codec that cannot be decoded, more damage than that, or an output that cannot be
    written; nothing is left under dest's name then, nor after Ctrl-C (KeyboardInterrupt is raised on).
    """
    src, dest = Path(src), Path(dest)
    started = time.perf_counter()
    encoder, notes = check_encoder(dest, codec, crf)
    fmt = container_format(dest)
    smoother = TemporalSmoother(temporal)
    stop = threading.Event()
    prepared: queue.Queue = queue.Queue(maxsize=batch_size)  # read -> main
    colored: queue.Queue = queue.Queue(maxsize=batch_size)   # main -> write
    result = VideoResult(src, dest, notes=list(notes))
    source = open_input(src)
    try:
        info = info_of(source, src)
        result.size, result.rate = (info.width, info.height), info.rate
        if info.others:
            result.notes.append(f"{src}: {info.others} stream(s) besides the first video and the audio (another "
                                f"video, subtitles, data) not carried over")
        in_video = source.streams.video[0]
        in_video.thread_type = "AUTO"  # decode on several threads where the codec can
        step = max(1, round(1 / (info.rate * in_video.time_base))) if in_video.time_base else 1
        index, damaged = [0], []  # frames read; decoding errors met

        def decoded(packet) -> list:
            """The packet's frames; [] for a damaged one (counted: too many, and the film is refused)."""
            try:
                return packet.decode()
            except av.FFmpegError as err:
                damaged.append(err)
                if len(damaged) > MAX_DAMAGED:
                    raise VideoError(f"{src}: cannot be decoded: more than {MAX_DAMAGED} damaged packets, "
                                     f"the first after frame {index[0]} ({damaged[0].strerror or damaged[0]})") from None
                return []

        def read() -> None:
            last = None
            try:
                for packet in source.demux(in_video, *source.streams.audio):
                    if packet.stream.type == "audio":
                        if packet.dts is not None:
                            _put(prepared, ("audio", packet), stop)
                        continue
                    for frame in decoded(packet):
                        pts = frame.pts
                        if pts is None or (last is not None and pts <= last):  # missing or out of order
                            pts = 0 if last is None else last + step
                        last = pts
                        image = Image.fromarray(frame.to_ndarray(format="rgb24"))
                        L_full, L_small = model.prepare(image, render_size)
                        _put(prepared, ("frame", pts, L_full, L_small), stop)
                        index[0] += 1
            except av.FFmpegError as err:  # the container itself (demuxing), not one packet
                raise VideoError(f"{src}: cannot be read after frame {index[0]} ({err.strerror or err})") from None
            if damaged:
                result.notes.append(f"{src}: {len(damaged)} damaged packet(s) could not be decoded; the frames "
                                    f"they held are left out (the others keep their times)")
            _put(prepared, _END, stop)

        def write(out) -> None:
            while (item := _get(colored, stop)) is not _END:
                if item[0] == "frame":
                    _, pts, L_full, ab = item
                    rgb = np.asarray(model.finish(L_full, ab, saturation))
                    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                        format=out.pix_fmt, dst_colorspace=BT709, dst_color_range=MPEG_RANGE)
                    frame.pts, frame.time_base = pts, in_video.time_base
                    out.container.mux(out.video.encode(frame))
                    result.frames += 1
                else:
                    _, packet = item
                    stream, copy = out.audio.get(packet.stream.index, (None, None))
                    if stream is None:
                        continue
                    if copy:
                        packet.stream = stream
                        out.container.mux(packet)
                    else:
                        for decoded in packet.decode():
                            decoded.pts = None  # the encoder counts samples itself
                            out.container.mux(stream.encode(decoded))
            out.container.mux(out.video.encode(None))
            for stream, copy in out.audio.values():
                if not copy:
                    out.container.mux(stream.encode(None))

        def run(batch: list) -> None:
            frames = [item for item in batch if item[0] == "frame"]
            ab = model.predict_ab(np.concatenate([item[3] for item in frames])) if frames else None
            i = 0
            for item in batch:
                if item[0] == "frame":
                    _, pts, L_full, L_small = item
                    item = ("frame", pts, L_full, smoother(L_small, ab[i]))
                    i += 1
                _put(colored, item, stop)

        reported = [0]

        def report() -> None:  # on the caller's thread (a page's progress bar must be updated from there)
            done = result.frames
            if progress is not None and done > reported[0]:
                progress(done - reported[0])
            reported[0] = done

        with atomic_path(dest) as tmp:
            try:
                out = open_output(tmp, fmt, source, encoder, crf)
            except (av.FFmpegError, OSError, ValueError) as err:
                raise VideoError(f"{dest}: cannot be written ({getattr(err, 'strerror', None) or err})") from None
            result.notes += out.audio_notes
            result.audio = [f"{s.codec_context.name} copied" if copy else
                            f"{source.streams[i].codec_context.name} -> {s.codec_context.name}"
                            for i, (s, copy) in out.audio.items()]
            stages = [_Stage("video-read", read, stop), _Stage("video-write", lambda: write(out), stop)]
            try:
                for stage in stages:
                    stage.start()
                batch, n = [], 0
                while (item := _get(prepared, stop)) is not _END:
                    batch.append(item)
                    n += item[0] == "frame"
                    if n >= batch_size:
                        run(batch)
                        report()
                        batch, n = [], 0
                run(batch)
                _put(colored, _END, stop)
                stages[1].join()
                report()
            except _Stop:
                pass
            except BaseException:
                stop.set()
                raise
            finally:
                for stage in stages:
                    if stage.ident is not None:
                        stage.join()
                try:
                    out.container.close()
                except (av.FFmpegError, OSError) as err:  # the trailer cannot be written: a full disk
                    stages[1].error = stages[1].error or err
            _raise_first(stages, dest)
            if result.frames == 0:
                raise VideoError(f"{src}: no frame could be decoded")
    finally:
        stop.set()
        source.close()
    result.cuts = smoother.cuts
    result.seconds = time.perf_counter() - started
    return result


def _raise_first(stages: list[_Stage], dest: Path) -> None:
    """Raise what a stage raised, as a VideoError where it is the file's fault or the disk's."""
    for stage in stages:
        err = stage.error
        if err is None:
            continue
        if isinstance(err, (VideoError, KeyboardInterrupt)):
            raise err
        if isinstance(err, (av.FFmpegError, OSError)):
            raise VideoError(f"{dest}: cannot be written ({getattr(err, 'strerror', None) or err})") from err
        raise err
