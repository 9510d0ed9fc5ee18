"""The jewelry classifier (issue 32, part 1): seeded splits, a few training steps lower the loss, weights
load back and answer the same, `python -m colorizer classify` prints type and probability per file, and
the classifier never stands in for a colorizer. Tiny generated data and a random-init network: fast,
and independent of the shipped weights (tested, where present, at the end)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorizer.checkpoint import CLASSIFY, WeightsError, find_weights, make_meta, read_meta, save_weights
from colorizer.classify import CLASSES, NOT_JEWELRY
from colorizer.classify.data import ClassifyDataset, jewelry_samples, negative_samples, split
from colorizer.classify.train import ClassifierConfig, confusion, scores, train
from colorizer.cli import main as cli_main
from helpers import ROOT, drawn_ring

SHIPPED = ROOT / "weights" / "jewelry_classifier.pt"
STREETS = ROOT.parent / "shared" / "data" / "val" / "intel_scenes"  # never trained on


def _tinted(path: Path, rgb, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb, dtype=np.float32) + rng.normal(0, 25, (40, 48, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """jewelry/{ring,earring}/ and negatives/{a,b}/: 10 photos each, one color per class (learnable in a
    few steps by a network from random init)."""
    root = tmp_path_factory.mktemp("tiny")
    for i, (folder, rgb) in enumerate([("jewelry/ring", (220, 40, 40)), ("jewelry/earring", (40, 40, 220)),
                                       ("negatives/a", (40, 200, 40)), ("negatives/b", (60, 180, 60))]):
        (root / folder).mkdir(parents=True)
        for k in range(10):
            _tinted(root / folder / f"{k}.png", rgb, 100 * i + k)
    (root / "negatives" / "a" / "n03814906_necklace.png").write_bytes((root / "jewelry/ring/0.png").read_bytes())
    return root


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("weights") / "classifier.pt"
    negatives = [str(tiny / "negatives/a"), str(tiny / "negatives/b")]
    cfg = ClassifierConfig(jewelry=str(tiny / "jewelry"), negatives=negatives,
                           n_negatives=20, size=48, epochs=10, batch_size=8, lr=5e-3, body_lr_factor=1.0, p_sketch=0.0,
                           freeze_blocks=0, pretrained=False, precision="fp32", workers=0, threads=1, max_steps=16,
                           out=str(out), report=None)
    result = train(cfg, log=lambda s: None, progress=False)
    return dict(result, out=out)


def test_split_is_seeded_per_folder_and_negatives_leave_jewelry_out(tiny):
    jewels = jewelry_samples(tiny / "jewelry")
    assert {CLASSES[s.label] for s in jewels} == {"ring", "earring"} and len(jewels) == 20
    negs = negative_samples([tiny / "negatives/a", tiny / "negatives/b"], total=12, seed=0)
    assert len(negs) == 12 and {s.label for s in negs} == {NOT_JEWELRY}
    assert sum(s.group == "a" for s in negs) == 6  # evenly over the folders
    assert not any("necklace" in s.path.name for s in negative_samples([tiny / "negatives/a"], 100))
    train_a, val_a = split(jewels + negs, 0.2, seed=3)
    train_b, val_b = split(jewels + negs, 0.2, seed=3)
    assert val_a == val_b and train_a == train_b  # the same files for the same seed
    assert {s.group for s in val_a} == {"ring", "earring", "a", "b"}  # every folder has its share
    assert not set(val_a) & set(train_a) and len(val_a) == 2 + 2 + 1 + 1
    assert split(jewels + negs, 0.2, seed=4)[1] != val_a
    val = ClassifyDataset(val_a, 32, train=False)
    assert len(val) == 2 * len(val_a) and val[0][0].shape == (3, 32, 32) and val[len(val_a)][2]  # then drawings
    x = val[len(val_a)][0]
    assert float(x.min()) >= -1 and float(x.max()) <= 1 and float(x.max()) == 1.0  # white paper


def test_scores_from_a_confusion_matrix():
    # 2 rings (one called earring), 1 earring right, 2 not jewelry (one called ring)
    m = confusion([2, 2, 0, NOT_JEWELRY, NOT_JEWELRY], [2, 0, 0, NOT_JEWELRY, 2])
    s = scores(m)
    assert s["accuracy"] == pytest.approx(3 / 5) and s["jewelry_vs_not"] == pytest.approx(4 / 5)
    assert s["type_among_jewelry"] == pytest.approx(2 / 3) and np.array(s["confusion"]).shape == (6, 6)


def test_a_few_steps_lower_the_loss_and_weights_load_back_the_same(trained, tiny):
    import torch

    from colorizer.classify.predict import Classifier

    history = trained["history"]
    assert len(history) == 16 and history[0] == pytest.approx(np.log(6), abs=1e-3)  # zero head: all equal
    assert np.mean(history[-4:]) < np.mean(history[:4]) - 0.3
    meta = read_meta(trained["out"])
    assert meta["task"] == CLASSIFY and meta["classes"] == list(CLASSES) and meta["size"] == 48
    assert meta["split_seed"] == 0 and set(meta["val"]) == {"photos", "sketches"} and meta["dtype"] == "float16"
    model = Classifier.load(trained["out"])
    images = [Image.open(p) for p in sorted((tiny / "jewelry/ring").glob("*.png"))[:3]]
    got = model.predict(images)
    net = trained["model"].eval()
    from colorizer.classify.data import square, to_tensor

    with torch.no_grad():
        want = torch.softmax(net(torch.stack([to_tensor(square(im, 48)) for im in images])), 1)
    for pred, p in zip(got, want):
        assert pred.label == CLASSES[int(p.argmax())]
        assert pred.probability == pytest.approx(float(p.max()), abs=0.02)  # float16 weights
        assert sum(pred.probabilities.values()) == pytest.approx(1, abs=1e-4)


def test_classify_cli_prints_type_and_probability_and_names_a_bad_file(trained, tiny, tmp_path, capsys):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    files = [str(tiny / "jewelry/ring/1.png"), str(tiny / "negatives/b/2.png")]
    assert cli_main(["classify", *files, str(bad), "--weights", str(trained["out"])]) == 1
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, files):
        path, answer = line.rsplit(": ", 1)
        label, prob = answer.rsplit(" ", 1)
        assert path == name and label in CLASSES and 0 <= float(prob) <= 1
    assert err.strip().count("\n") == 0 and "notes.jpg" in err and "not a readable photo" in err
    # weights that are not a classifier: one line naming the file and what it is
    colorizer = tmp_path / "colorizer.pt"
    save_weights(colorizer, {}, make_meta(stage="pretrain", backbone="resnet18", images_seen=10))
    assert cli_main(["classify", files[0], "--weights", str(colorizer)]) == 2
    err = capsys.readouterr().err
    assert "colorizer.pt" in err and "not classifier weights" in err and err.count("\n") == 1


def test_the_classifier_is_never_the_default_colorizer(trained, tmp_path, monkeypatch):
    from colorizer.app_logic import list_weights, weights_choices
    from colorizer.infer import Colorizer, resolve_weights

    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "zz_classifier.pt").write_bytes(trained["out"].read_bytes())  # it has seen more photos than this
    meta = read_meta(folder / "zz_classifier.pt")
    assert meta["task"] == CLASSIFY
    assert find_weights(folder) == []  # a classifier alone is no colorizer
    with pytest.raises(WeightsError):
        resolve_weights(None, folder)
    save_weights(folder / "small.pt", {}, make_meta(stage="pretrain", backbone="resnet18", images_seen=10))
    assert find_weights(folder) == [folder / "small.pt"]
    assert resolve_weights(None, folder) == folder / "small.pt"
    assert [w.path.name for w in list_weights(folder)] == ["small.pt"]
    assert [w.path.name for w in weights_choices(folder)] == ["small.pt"]  # the page's list
    assert find_weights(folder, CLASSIFY) == [folder / "zz_classifier.pt"]
    with pytest.raises(WeightsError, match="jewelry classifier weights.*python -m colorizer classify"):
        Colorizer.load(folder / "zz_classifier.pt")


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped classifier weights in this checkout")
def test_shipped_classifier_knows_a_drawn_ring_and_a_street(tmp_path, capsys, monkeypatch):
    from colorizer.classify.predict import Classifier

    model = Classifier.load(SHIPPED)
    ring = model.predict_one(drawn_ring())
    assert ring.label == "ring", ring.probabilities
    streets = sorted(STREETS.glob("street_*"))[:3] if STREETS.is_dir() else []
    streets.append(ROOT / "examples" / "color" / "n06794110_street_sign.jpg")
    for path in streets:
        pred = model.predict_one(Image.open(path))
        assert pred.label == "not jewelry" and not pred.is_jewelry, (path.name, pred.probabilities)
    drawing = tmp_path / "ring.png"
    drawn_ring().save(drawing)
    monkeypatch.setenv("COLORIZER_WEIGHTS_DIR", str(SHIPPED.parent))  # found by name in the weights folder
    assert cli_main(["classify", str(drawing)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{drawing}: ring 0.")
