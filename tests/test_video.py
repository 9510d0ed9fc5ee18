"""Films: video in, colorized video out (colorizer/video/), on tiny generated clips and tiny weights."""
from __future__ import annotations

import errno
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from colorizer.cli import PlanError, main, plan_videos
from colorizer.infer import Colorizer
from colorizer.limits import DEFAULT_TEMPORAL
from colorizer.video import TemporalSmoother, VideoError, colorize_video, probe
from colorizer.video.clips import camera_clip, cut_frames, write_clip
from colorizer.video.evaluate import Flicker, lab_blocks, run_video_evaluation
from helpers import EXAMPLES_COLOR, run_app

SIZE = (96, 64)
PHOTOS = sorted(EXAMPLES_COLOR.glob("*.jpg"))


def photos(n: int = 2) -> list[Image.Image]:
    out = []
    for p in PHOTOS[:n]:
        with Image.open(p) as im:
            out.append(im.convert("RGB"))
    return out


def clip(path: Path, frames: int = 12, fps: float = 24, audio: bool = False, size=SIZE, **kw) -> Path:
    """A small clip over two example photos (pan, zoom, a cut, grain), with or without a tone."""
    return write_clip(camera_clip(photos(), size, frames / fps, fps), path, fps=fps, audio=audio, **kw)


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def streams(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return {"video": v.codec_context.name, "size": (v.codec_context.width, v.codec_context.height),
                "rate": v.average_rate, "audio": [s.codec_context.name for s in c.streams.audio],
                "audio_seconds": [float(s.duration * s.time_base) if s.duration else None for s in c.streams.audio]}


@pytest.fixture(scope="module")
def model(tiny_weights) -> Colorizer:
    return Colorizer.load(tiny_weights, device="cpu", backend="torch")


def cli(*args) -> int:
    return main(["colorize", *map(str, args), "--backend", "torch", "--device", "cpu"])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---- the command line ------------------------------------------------------------------------

def test_colorize_keeps_frames_rate_size_and_sound(tmp_path, tiny_weights, capsys):
    src = clip(tmp_path / "film.mp4", frames=15, fps=24, audio=True)
    out = tmp_path / "film_color.mp4"
    assert cli(src, "-o", out, "--weights", tiny_weights) == 0
    got, was = streams(out), streams(src)
    assert got["video"] == "h264" and got["size"] == SIZE and got["rate"] == Fraction(24)
    assert got["audio"] == ["aac"] and got["audio_seconds"] == pytest.approx(was["audio_seconds"], abs=0.05)
    frames = decoded(out)
    assert len(frames) == 15 and frames[0].shape == (SIZE[1], SIZE[0], 3)
    assert np.ptp(frames[5].astype(int), axis=2).mean() > 0.5  # color, not gray
    printed = capsys.readouterr()
    assert "15 frames at 24 fps, audio aac copied" in printed.out and "frame/s" in printed.err  # the bar


@pytest.mark.parametrize("suffix, codec, audio", [(".mkv", "h264", "aac"), (".webm", "vp9", "opus"),
                                                   (".avi", "h264", "aac"), (".mov", "h264", "aac")])
def test_common_containers(tmp_path, model, suffix, codec, audio):
    src = clip(tmp_path / f"in{suffix}", frames=8, audio=True, audio_codec="libopus" if suffix == ".webm" else "aac",
               sample_rate=48000, codec="libvpx-vp9" if suffix == ".webm" else "libx264")
    result = colorize_video(model, src, tmp_path / f"out{suffix}")
    got = streams(result.dest)
    assert (got["video"], got["audio"], got["size"], result.frames) == (codec, [audio], SIZE, 8)
    assert len(decoded(result.dest)) == 8


def test_audio_the_container_cannot_hold_is_encoded_again(tmp_path, model):
    src = clip(tmp_path / "in.mkv", frames=8, audio=True, audio_codec="pcm_s16le")
    result = colorize_video(model, src, tmp_path / "out.webm")
    assert streams(result.dest)["audio"] == ["opus"] and result.audio == ["pcm_s16le -> libopus"]
    assert any("re-encoded" in n for n in result.notes)


def test_codec_and_crf(tmp_path, model, tiny_weights, capsys):
    src = clip(tmp_path / "in.mp4", frames=6)
    small = colorize_video(model, src, tmp_path / "small.mp4", crf=40).dest
    big = colorize_video(model, src, tmp_path / "big.mp4", crf=5).dest
    assert small.stat().st_size < big.stat().st_size
    assert streams(colorize_video(model, src, tmp_path / "v.mp4", codec="vp9").dest)["video"] == "vp9"
    for bad, says in [(["--codec", "nosuch"], "no such video encoder"), (["--crf", "70"], "outside 0..51"),
                      (["--codec", "h264", "-o", tmp_path / "x.webm"], "cannot hold h264")]:
        args = [src, "--weights", tiny_weights, *bad] + ([] if "-o" in bad else ["-o", tmp_path / "x.mp4"])
        assert cli(*args) == 2  # before the model loads
        assert says in capsys.readouterr().err
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "x.webm").exists()


def test_a_folder_mixes_photos_and_videos(tmp_path, tiny_weights, capsys):
    folder = tmp_path / "archive"
    (folder / "reels").mkdir(parents=True)
    clip(folder / "reels" / "a.avi", frames=6)
    clip(folder / "reels" / "a.mov", frames=6)  # the same name: a suffix for the second
    (folder / "reels" / "broken.mp4").write_bytes(b"not a film at all")
    Image.open(PHOTOS[0]).convert("L").resize((80, 60)).save(folder / "old.jpg")
    assert cli(folder, "-o", tmp_path / "out", "--weights", tiny_weights) == 0
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == \
        ["old_color.png", "reels/a_color.mp4", "reels/a_color_2.mp4"]
    printed = capsys.readouterr()
    assert "Colorizing 1 photo(s) and 2 video(s)" in printed.out
    assert "skipped: " in printed.err and "broken.mp4: not a readable video" in printed.err
    assert "not a photo type" not in printed.err  # the videos are not listed as skipped photos
    assert "Wrote 2 colorized video(s)" in printed.out and "1 skipped" in printed.out


def test_plan_videos(tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ["in/sub/x.mp4", "in/x.MKV", "in/notes.txt", "one.mov"]:
        (tmp_path / name).write_bytes(b"")
    jobs = plan_videos([str(tmp_path / "in")], str(tmp_path / "out"))
    assert [(s.name, d.relative_to(tmp_path).as_posix()) for s, d in jobs] == \
        [("x.mp4", "out/sub/x_color.mp4"), ("x.MKV", "out/x_color.mp4")]
    assert plan_videos([str(tmp_path / "one.mov")], str(tmp_path / "c.mkv")) == \
        [(tmp_path / "one.mov", tmp_path / "c.mkv")]
    assert plan_videos([str(tmp_path / "one.mov")], None)[0][1] == Path("colorized/one_color.mp4")
    # earlier results inside the output folder, below the folder given, are left out
    (tmp_path / "in" / "colorized").mkdir()
    (tmp_path / "in" / "colorized" / "x_color.mp4").write_bytes(b"")
    assert len(plan_videos([str(tmp_path / "in")], str(tmp_path / "in" / "colorized"))) == 2
    for inputs, output, says in [(["in"], "c.mp4", "names one video file"), (["one.mov", "in"], "c.mp4", "several"),
                                 (["one.mov"], "one.mov", "would be overwritten"), (["in"], "x.png", "names a photo"),
                                 (["gone.mp4"], None, "no such file")]:
        with pytest.raises(PlanError, match=says):
            plan_videos([str(tmp_path / i) for i in inputs], output and str(tmp_path / output))


def test_bad_inputs_are_named_with_the_reason(tmp_path, tiny_weights, capsys):
    good = clip(tmp_path / "good.mp4", frames=4, audio=True)
    (tmp_path / "text.mp4").write_text("hello, not a video\n" * 20)
    data = good.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    (tmp_path / "odd_codec.mp4").write_bytes(data.replace(b"avc1", b"zzz9"))
    with av.open(str(tmp_path / "sound.mp4"), "w") as out:  # audio, no video
        s = out.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 44100, 0
        out.mux(s.encode(frame))
        out.mux(s.encode(None))
    for name, says in [("text.mp4", "not a readable video"), ("cut.mp4", "not a readable video"),
                       ("odd_codec.mp4", "its video codec zzz9 (unknown to FFmpeg) cannot be decoded"),
                       ("sound.mp4", "no video stream (it holds audio only)")]:
        assert cli(tmp_path / name, "-o", tmp_path / "out.mp4", "--weights", tiny_weights) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: {tmp_path / name}: " + err[0].split(": ", 2)[2]] and says in err[0], err
    assert not (tmp_path / "out.mp4").exists() and not leftovers(tmp_path)
    with pytest.raises(VideoError, match="not a readable video"):
        probe(tmp_path / "text.mp4")
    assert probe(good).describe() == "96x64, 24 fps, 0.2 s, h264, audio aac"


def test_damaged_packets_are_left_out_and_too_many_refuse_the_film(tmp_path, model, monkeypatch):
    import random

    import colorizer.video.colorize as colorize

    src = clip(tmp_path / "in.mp4", frames=24)
    data = bytearray(src.read_bytes())
    random.seed(1)
    for i in range(len(data) // 3, 2 * len(data) // 3, 7):  # the middle third's frames scrambled
        data[i] = random.randrange(256)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    result = colorize_video(model, damaged, tmp_path / "out.mp4")
    assert 0 < result.frames < 24 and len(decoded(result.dest)) == result.frames
    assert any("damaged packet(s) could not be decoded" in n for n in result.notes)
    monkeypatch.setattr(colorize, "MAX_DAMAGED", 2)
    with pytest.raises(VideoError, match="damaged.mp4: cannot be decoded: more than 2 damaged packets"):
        colorize_video(model, damaged, tmp_path / "refused.mp4")
    assert not (tmp_path / "refused.mp4").exists() and not leftovers(tmp_path)


def test_a_write_cut_short_leaves_nothing(tmp_path, model, monkeypatch):
    src = clip(tmp_path / "in.mp4", frames=12)
    calls = []
    real = model.finish

    def full_disk(*args, **kw):
        calls.append(1)
        if len(calls) > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kw)

    monkeypatch.setattr(model, "finish", full_disk)
    out = tmp_path / "out" / "film.mp4"
    with pytest.raises(VideoError, match="film.mp4: cannot be written .No space left on device"):
        colorize_video(model, src, out, batch_size=2)
    assert not out.exists() and not leftovers(out.parent)


def test_ctrl_c_keeps_nothing_half_written(tmp_path, tiny_weights, monkeypatch, capsys):
    import colorizer.infer as infer

    src = clip(tmp_path / "in.mp4", frames=12)
    calls = []
    real = infer.Colorizer.predict_ab

    def interrupted(self, L):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, L)

    monkeypatch.setattr(infer.Colorizer, "predict_ab", interrupted)
    out = tmp_path / "film_color.mp4"
    assert cli(src, "-o", out, "--weights", tiny_weights, "--batch-size", "2") == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() and not leftovers(tmp_path)
    assert not [t for t in threading.enumerate() if t.name.startswith("video-")]  # the stages ended


def test_memory_stays_flat_frames_in_flight_are_bounded(tmp_path, model, monkeypatch):
    """However long the film, at most a few batches of frames are held at once (each full size)."""
    src = clip(tmp_path / "long.mp4", frames=24, size=(64, 48))
    alive, peak = [0], [0]
    prepare, finish = model.prepare, model.finish

    def counted_prepare(*a, **kw):
        alive[0] += 1
        peak[0] = max(peak[0], alive[0])
        return prepare(*a, **kw)

    def counted_finish(*a, **kw):
        alive[0] -= 1
        return finish(*a, **kw)

    monkeypatch.setattr(model, "prepare", counted_prepare)
    monkeypatch.setattr(model, "finish", counted_finish)
    result = colorize_video(model, src, tmp_path / "out.mp4", batch_size=3)
    assert result.frames == 24 and alive[0] == 0
    assert peak[0] <= 3 * 3 + 3, peak[0]  # a batch, two queues of batch_size, one in each stage


# ---- stable colors ----------------------------------------------------------------------------

def test_temporal_zero_is_per_frame_colorizing(tmp_path, model):
    """--temporal 0: every frame as the photo path colorizes it (up to the encoder's rounding)."""
    src = clip(tmp_path / "in.mkv", frames=4, codec="ffv1")
    result = colorize_video(model, src, tmp_path / "out.mkv", temporal=0, codec="ffv1")
    for truth, got in zip(decoded(src), decoded(result.dest)):
        expect = np.asarray(model.colorize(Image.fromarray(truth)), np.int16)
        assert np.abs(got.astype(np.int16) - expect).mean() < 2.0


def test_smoother_steadies_still_scenes_follows_motion_and_resets_at_cuts():
    rng = np.random.default_rng(0)
    L = np.zeros((1, 1, 32, 48), np.float32)
    truth = np.full((2, 32, 48), 0.2, np.float32)
    preds = [truth + rng.normal(0, 0.05, truth.shape).astype(np.float32) for _ in range(30)]
    assert TemporalSmoother(0)(L, preds[0]) is not None
    assert np.array_equal(TemporalSmoother(0)(L, preds[0]), preds[0])  # 0: per-frame, untouched
    smoother = TemporalSmoother(0.8)
    out = [smoother(L, p) for p in preds]
    jitter = lambda seq: np.mean([np.abs(b - a).mean() for a, b in zip(seq[10:], seq[11:])])  # noqa: E731
    assert jitter(out) < 0.4 * jitter(preds)

    # where the lightness changed (something moved), the new prediction is used as it is
    moved = L.copy()
    moved[..., :, :16] += 0.5  # 25 L units on the left third
    new = np.full((2, 32, 48), -0.3, np.float32)
    got = smoother(moved, new)
    assert np.abs(got[:, :, :14] - new[:, :, :14]).max() < 1e-3
    assert np.abs(got[:, :, 20:] - new[:, :, 20:]).min() > 0.3  # still areas keep their past
    # a scene cut (the whole frame changes) starts again
    cut = rng.uniform(-1, 1, L.shape).astype(np.float32)
    assert np.array_equal(smoother(cut, new), new) and smoother.cuts == 1
    with pytest.raises(ValueError, match="outside"):
        TemporalSmoother(1.0)


def test_flicker_measure():
    rgb = np.asarray(photos(1)[0].resize((64, 48)))
    L, ab = lab_blocks(rgb)
    steady = Flicker()
    for _ in range(3):
        steady.add(L, ab)
    assert steady.value == 0.0
    flicker = Flicker()
    flicker.add(L, ab)
    flicker.add(L, ab + 2.0)  # every block 2 units along a and b: sqrt(8)
    assert flicker.value == pytest.approx(np.sqrt(8))
    moving = Flicker()
    moving.add(L, ab)
    moving.add(L + 5.0, ab + 2.0)  # L changed everywhere: nothing is still, nothing is counted
    assert moving.value is None


def test_clips_have_their_cut():
    frames = list(camera_clip(photos(), (64, 48), 1.0, 20))
    assert len(frames) == 20 and frames[0].shape == (48, 64, 3)
    (cut,) = cut_frames(20)
    jump = [np.abs(b.astype(int) - a).mean() for a, b in zip(frames, frames[1:])]
    assert int(np.argmax(jump)) + 1 == cut


def test_evaluate_video_smoothing_cuts_flicker(tmp_path, tiny_weights, capsys):
    folder = tmp_path / "val"
    folder.mkdir()
    for p in PHOTOS[:2]:
        Image.open(p).save(folder / p.name)
    summary = run_video_evaluation(folder, weights=tiny_weights, out_dir=tmp_path / "eval", size=(64, 48), seconds=0.6,
                                   fps=20, device="cpu")
    per_frame, default = summary["settings"]
    assert (per_frame["temporal"], default["temporal"]) == (0.0, DEFAULT_TEMPORAL)
    assert summary["clips"] == 1 and summary["frames"] == 12 and summary["kind"] == "clips made from photos"
    assert default["flicker"] < per_frame["flicker"] and default["flicker_share"] < 1
    assert abs(default["psnr_vs_per_frame"]) < 1.0
    assert (tmp_path / "eval" / "video_summary.json").exists() and (tmp_path / "eval" / "video_per_clip.csv").exists()
    assert "flicker" in capsys.readouterr().out

    # and from the command line, on a film file
    film = clip(tmp_path / "film.mp4", frames=4)
    assert main(["evaluate", "--video", "--data", str(film), "--weights", str(tiny_weights), "--out",
                 str(tmp_path / "e2"), "--temporal", "0.5", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "per-frame (0)" in out and "temporal 0.5" in out and "ground truth" in out
    assert main(["evaluate", "--data", str(folder), "--temporal", "0.5"]) == 2  # films only


# ---- the page ---------------------------------------------------------------------------------

def test_page_colorizes_a_short_film(tmp_path, monkeypatch, model, tiny_weights):
    from colorizer import app_logic as logic

    src = clip(tmp_path / "film.mp4", frames=8, audio=True)
    result = logic.colorize_film(model, src.read_bytes(), "film.mp4")
    assert result.filename == "film_color.mp4" and result.frames == 8 and result.audio == ["aac copied"]
    assert "96×64 px · 8 frames at 24 fps" in result.summary() and "sound kept" in result.summary()
    with pytest.raises(VideoError, match=r"film.mp4: 0.3 s is above the 0.1 s limit"):
        logic.colorize_film(None, src.read_bytes(), "film.mp4", max_seconds=0.1)
    with pytest.raises(VideoError, match=r"^notes.mp4: not a readable video"):
        logic.colorize_film(None, b"plain text", "notes.mp4")
    with pytest.raises(VideoError, match="MB limit"):
        logic.colorize_film(None, b"x" * 100, "big.mp4", max_bytes=10)

    at = run_app(monkeypatch, tiny_weights.parent)
    assert {".mp4", ".webm"} <= set(at.file_uploader[0].allowed_type)
    at.file_uploader[0].set_value([("film.mp4", src.read_bytes(), "video/mp4"),
                                   ("bad.mp4", b"not a film", "video/mp4")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader] == ["film.mp4", "bad.mp4"]
    assert len(at.get("video")) == 1
    assert any("bad.mp4: not a readable video" in e.value for e in at.error)
    assert [b.label for b in at.download_button] == ["Download MP4"]
