"""`python -m colorizer colorize` and the files around it: nothing overwritten, nothing dropped
without a word, and every file mistake refused in one line before the model loads."""
import os

import numpy as np
import pytest
from PIL import Image

from colorizer import infer, pipeline
from colorizer.cli import main, plan_outputs
from helpers import random_color_image

FAST = ["--backend", "torch", "--precision", "fp32", "--render-size", "64"]


@pytest.fixture
def no_model(monkeypatch):
    """Loading a model fails the test: what is checked here must be refused before it."""
    def load(*args, **kwargs):
        raise AssertionError("the model was loaded")
    monkeypatch.setattr(infer.Colorizer, "load", load)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


def transparent_photo(path, size=(48, 40)):
    """An RGBA photo: opaque on the left, fading to fully transparent on the right."""
    rgba = random_color_image(*size).convert("RGBA")
    alpha = np.tile(np.linspace(255, 0, size[0]).astype(np.uint8), (size[1], 1))
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(path)
    return alpha


def test_names_that_meet_get_a_suffix_and_the_count_is_true(tmp_path, tiny_weights, capsys):  # noqa: F811
    (tmp_path / "in").mkdir()
    random_color_image(40, 32, seed=1).save(tmp_path / "in" / "x.jpg")
    random_color_image(24, 48, seed=2).save(tmp_path / "in" / "x.png")
    out = tmp_path / "out"
    assert main(["colorize", str(tmp_path / "in"), "-o", str(out), "--weights", str(tiny_weights), *FAST]) == 0
    captured = capsys.readouterr()
    assert f"Wrote 2 colorized photo(s) to {out}" in captured.out
    assert f"{tmp_path / 'in' / 'x.png'} -> {out / 'x_color_2.png'}" in captured.err
    with Image.open(out / "x_color.png") as a, Image.open(out / "x_color_2.png") as b:
        assert a.size == (40, 32) and b.size == (24, 48)  # x.jpg first (sorted), x.png beside it


def test_plan_never_lands_on_a_photo_given(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        random_color_image(8, 8).save(tmp_path / folder / "x.jpg")
    random_color_image(8, 8).save(tmp_path / "a" / "x_color.png")  # a result of an earlier run, in place
    plan = plan_outputs([str(tmp_path / "a" / "x.jpg"), str(tmp_path / "b" / "x.jpg"), str(tmp_path / "a")],
                        str(tmp_path / "a"))
    dests = [d.name for _, d in plan.jobs]
    # a/x.jpg is given twice (alone and in a): done once; a/x_color.png is an input, so it is not overwritten
    assert dests == ["x_color_2.png", "x_color_3.png", "x_color_color.png"]
    assert [s for s, _ in plan.renamed] == [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"]
    assert len({d for _, d in plan.jobs} | {s for s, _ in plan.jobs}) == 6


def test_output_that_is_an_input_is_refused_before_the_model_loads(tmp_path, no_model, capsys):
    src = tmp_path / "old.png"
    random_color_image(16, 16).save(src)
    before = src.read_bytes()
    for output in (str(src), "old.png"):  # as given, and relative to the folder the command runs in
        assert main(["colorize", str(src), "-o", output]) == 2
        assert "old.png is one of the photos given" in one_line_error(capsys)
    other = tmp_path / "other.jpg"
    random_color_image(16, 16).save(other)
    assert main(["colorize", str(other), str(src), "-o", str(src)]) == 2  # several photos, -o one of them
    assert "old.png is one of the photos given" in one_line_error(capsys)
    assert src.read_bytes() == before


def test_missing_inputs_are_named_before_the_model_loads(tmp_path, no_model, capsys):
    (tmp_path / "here.jpg").write_bytes(b"")
    assert main(["colorize", str(tmp_path / "here.jpg"), "gone.jpg", "nowhere/"]) == 2
    assert one_line_error(capsys) == "error: no such file or folder: gone.jpg, nowhere/"


def test_output_folder_that_cannot_be_written_is_one_line_before_the_model_loads(tmp_path, no_model, capsys):
    src = tmp_path / "old.jpg"
    random_color_image(16, 16).save(src)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, where a folder is asked for")
    for output in (blocker / "out", blocker / "deeper" / "out.png", blocker):  # a folder, a file, the file
        assert main(["colorize", str(src), "-o", str(output)]) == 2
        assert f"{blocker} is a file, not a folder" in one_line_error(capsys)
    (tmp_path / "taken.png").mkdir()
    assert main(["colorize", str(src), "-o", str(tmp_path / "taken.png")]) == 2
    assert "taken.png is a folder" in one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_one_line(tmp_path, no_model, capsys):
    src = tmp_path / "old.jpg"
    random_color_image(16, 16).save(src)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["colorize", str(src), "-o", str(locked / "sub")]) == 2
        assert "locked cannot be written (Permission denied)" in one_line_error(capsys)
    finally:
        locked.chmod(0o755)


def test_a_write_that_fails_during_the_run_is_one_line(tmp_path, tiny_weights, monkeypatch, capsys):  # noqa: F811
    src = tmp_path / "old.jpg"
    random_color_image(24, 16).save(src)

    def full_disk(image, dest, quality=90):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(pipeline, "save_image", full_disk)
    assert main(["colorize", str(src), "-o", str(tmp_path / "out.png"), "--weights", str(tiny_weights), *FAST]) == 2
    captured = capsys.readouterr()
    assert f"skipped: {tmp_path / 'out.png'}: cannot be written (No space left on device)" in captured.err
    assert "Traceback" not in captured.err and "Wrote 0 colorized photo(s)" in captured.out


def test_transparency_is_kept_or_its_loss_said(tmp_path, tiny_weights, capsys):  # noqa: F811
    src = tmp_path / "logo.png"
    alpha = transparent_photo(src)
    weights = ["--weights", str(tiny_weights), *FAST]
    assert main(["colorize", str(src), "-o", str(tmp_path / "logo_color.png"), *weights]) == 0
    with Image.open(tmp_path / "logo_color.png") as out:
        assert out.mode == "RGBA" and out.size == (48, 40)
        assert np.array_equal(np.asarray(out.getchannel("A")), alpha)
    assert "transparency" not in capsys.readouterr().err
    assert main(["colorize", str(src), "-o", str(tmp_path / "logo_color.jpg"), *weights]) == 0
    assert "logo.png: transparency dropped (.jpg cannot keep it" in capsys.readouterr().err
    with Image.open(tmp_path / "logo_color.jpg") as out:
        assert out.mode == "RGB"
    assert main(["colorize", str(src), "-o", str(tmp_path / "webp"), "--format", "webp", "--quality", "100",
                 *weights]) == 0
    with Image.open(tmp_path / "webp" / "logo_color.webp") as out:
        assert out.mode == "RGBA" and np.abs(np.asarray(out.getchannel("A")).astype(int) - alpha).max() <= 4


def test_a_folder_names_what_it_skips_and_notes_animations(tmp_path, tiny_weights, capsys):  # noqa: F811
    folder = tmp_path / "in"
    folder.mkdir()
    random_color_image(32, 24).save(folder / "still.jpg")
    frames = [random_color_image(32, 24, seed=s) for s in range(3)]
    frames[0].save(folder / "moving.gif", save_all=True, append_images=frames[1:], duration=100)
    (folder / "notes.txt").write_text("not a photo")
    (folder / ".DS_Store").write_bytes(b"\0")
    out = tmp_path / "out"
    assert main(["colorize", str(folder), "-o", str(out), "--weights", str(tiny_weights), *FAST]) == 0
    captured = capsys.readouterr()
    assert f"skipped: {folder / 'notes.txt'}: not a photo type that is read here (.txt)" in captured.err
    assert f"note: {folder / 'moving.gif'}: 3 frames (animated or multi-page): only the first" in captured.err
    assert ".DS_Store" not in captured.err
    assert f"Wrote 2 colorized photo(s) to {out}; 1 skipped" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["moving_color.png", "still_color.png"]


def test_output_folder_inside_the_input_folder_is_not_read_again(tmp_path, tiny_weights, capsys):  # noqa: F811
    """`colorize scans/ -o scans/colorized/` twice: the second run colorizes the two scans again,
    not the first run's results, and says it left them out."""
    scans = tmp_path / "scans"
    scans.mkdir()
    random_color_image(40, 32, seed=1).save(scans / "a.jpg")
    random_color_image(24, 48, seed=2).save(scans / "b.png")
    out = scans / "colorized"
    for run in (1, 2):
        assert main(["colorize", str(scans), "-o", str(out), "--weights", str(tiny_weights), *FAST]) == 0
        captured = capsys.readouterr()
        assert f"Wrote 2 colorized photo(s) to {out}" in captured.out, (run, captured.out)
    assert f"skipped: {out}: 2 photo(s) inside the output folder left out (earlier results)" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.png"]


def test_a_result_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A write cut short (here: the rename that completes it fails) leaves no file under the
    result's name and no temp file beside it; an earlier result there stays as it was."""
    from colorizer import files

    dest = tmp_path / "out" / "x_color.png"
    dest.parent.mkdir()
    dest.write_bytes(b"an earlier result")

    def crash(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.raises(OSError):
        pipeline.save_image(random_color_image(16, 16), dest)
    monkeypatch.undo()
    assert [p.name for p in dest.parent.iterdir()] == ["x_color.png"] and dest.read_bytes() == b"an earlier result"
    pipeline.save_image(random_color_image(16, 16), dest.with_suffix(".webp"))
    with Image.open(dest.with_suffix(".webp")) as im:
        assert im.format == "WEBP" and im.size == (16, 16)
