"""One way in: a weights file's card, the folder's manifest of defaults, the one resolver and the task
registry. A file added to a weights folder never changes what the default colorizes."""
from __future__ import annotations

import json
import shutil

import pytest

from colorizer.card import read_card, rewrite
from colorizer.checkpoint import CLASSIFY, COLORIZE, HINTS, PAIRED, WeightsError, make_meta, save_weights
from colorizer.registry import MANIFEST, TASKS, read_manifest, resolve
from helpers import ROOT, make_weights, tiny_paired

SHIPPED = ROOT / "weights"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)
    monkeypatch.delenv("COLORIZER_WEIGHTS_DIR", raising=False)


@pytest.mark.skipif(not (SHIPPED / MANIFEST).is_file(), reason="no shipped weights in this checkout")
def test_a_file_copied_into_the_shipped_folder_does_not_change_the_default(tmp_path):
    from colorizer.infer import Colorizer

    folder = tmp_path / "weights"
    folder.mkdir()
    for f in SHIPPED.iterdir():
        (folder / f.name).symlink_to(f)
    (folder / MANIFEST).unlink()
    shutil.copy(SHIPPED / MANIFEST, folder / MANIFEST)
    rewrite(SHIPPED / "colorizer_averaged.pt", folder / "my_colorizer.pt", images_seen=10**9)  # outranks all
    default = folder / read_manifest(SHIPPED)[COLORIZE]
    assert resolve(COLORIZE, None, folder) == default
    assert Colorizer.load(weights_dir=folder, device="cpu").meta["path"] == str(default)
    assert resolve(None, None, folder) == default  # the page's and translate's rule
    (folder / MANIFEST).unlink()  # without the manifest, the most trained file would have become the default
    assert resolve(COLORIZE, None, folder) == folder / "my_colorizer.pt"


def test_the_manifest_names_one_default_per_task(tmp_path, capsys):
    from colorizer.cli import main

    make_weights(tmp_path, "plain.pt", images_seen=10)
    make_weights(tmp_path, "trained_more.pt", images_seen=10**6)
    tiny_paired(tmp_path, "sketch.pt", images_seen=5)
    tiny_paired(tmp_path, "scenes.pt", images_seen=10**6)
    assert resolve(COLORIZE, None, tmp_path).name == "trained_more.pt"  # no manifest: the most trained
    assert main(["weights", "default", str(tmp_path / "plain.pt")]) == 0
    assert main(["weights", "default", str(tmp_path / "sketch.pt")]) == 0
    assert "sketch.pt is now the default for paired" in capsys.readouterr().out
    assert read_manifest(tmp_path) == {COLORIZE: "plain.pt", PAIRED: "sketch.pt"}
    assert resolve(COLORIZE, None, tmp_path).name == "plain.pt"
    assert resolve(PAIRED, None, tmp_path).name == "sketch.pt"
    assert resolve(COLORIZE, tmp_path / "trained_more.pt", tmp_path).name == "trained_more.pt"  # by hand wins
    with pytest.raises(WeightsError, match="No color hints weights"):  # a task it names nothing for, none there
        resolve(HINTS, None, tmp_path)
    assert main(["weights", "show", "--weights-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "plain.pt: colorizes: resnet18, 64 px, 10 photos seen" in out and "[default for colorize]" in out
    assert f"  paired: {tmp_path / 'sketch.pt'}" in out and "  classify: none" in out
    assert main(["weights", "default", str(tmp_path / "gone.pt")]) == 2
    assert "gone.pt: not in" in capsys.readouterr().err


def test_a_manifest_naming_a_missing_file_or_unreadable_is_said(tmp_path):
    make_weights(tmp_path, "other.pt")
    (tmp_path / MANIFEST).write_text(json.dumps({COLORIZE: "gone.pt"}))
    with pytest.raises(WeightsError, match=r"names gone.pt as the colorize default, but there is no .*gone.pt"):
        resolve(COLORIZE, None, tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(WeightsError, match="not a weights manifest"):
        resolve(COLORIZE, None, tmp_path)


def test_the_card_reads_old_and_new_files(tmp_path):
    old = save_weights(tmp_path / "old.pt", {}, {"stage": "pretrain", "backbone": "resnet18", "size": 256})  # no task
    card = read_card(old)
    assert (card.task, card.head, card.scale, card.members, card.images_seen) == (COLORIZE, "ab", 1.0, (), 0)
    assert card.direction is None
    assert card.summary() == "colorizes: resnet18, 256 px"
    meta = make_meta(task=PAIRED, stage="gan", generator="unet", filters=32, size=128, images_seen=1234,
                     direction="BtoA")
    card = read_card(save_weights(tmp_path / "p.pt", {}, meta))
    assert (card.task, card.body, card.head, card.direction) == (PAIRED, "unet 32 filters", None, "BtoA")
    assert "  direction: BtoA" in card.lines()  # `weights show` says which side is the input
    with pytest.raises(WeightsError, match="no such weights file"):
        read_card(tmp_path / "missing.pt")


def test_each_task_loads_its_own_predictor(tmp_path):
    from colorizer import registry
    from colorizer.infer import Colorizer
    from colorizer.paired.translate import Translator

    assert set(TASKS) >= {COLORIZE, HINTS, PAIRED, CLASSIFY}
    assert isinstance(registry.load(make_weights(tmp_path), device="cpu"), Colorizer)
    assert isinstance(registry.load(tiny_paired(tmp_path), device="cpu"), Translator)
