"""Films: video in, colorized video out, with stable colors and the sound kept (docs/video.md).

    io.py        PyAV: what a file holds (probe), clear errors, the output's encoder and audio streams
    temporal.py  TemporalSmoother: the predicted chroma averaged over time at render size
    colorize.py  colorize_video: one film through the photo pipeline (infer.Colorizer), streamed
    clips.py     test films made from photos (pans, zooms, a cut, grain) with their color truth
    evaluate.py  flicker and PSNR of a colorizer's films (`python -m colorizer evaluate --video`)

The package imports PyAV (FFmpeg in its wheel); the command line imports it only when a film is given.
"""
from __future__ import annotations

from .colorize import VideoResult, colorize_video
from .io import VideoError, VideoInfo, check_encoder, probe
from .temporal import TemporalSmoother

__all__ = ["TemporalSmoother", "VideoError", "VideoInfo", "VideoResult", "check_encoder", "colorize_video", "probe"]
