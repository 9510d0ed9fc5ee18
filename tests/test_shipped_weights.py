"""The weights shipped in weights/ colorize a real black-and-white photo out of the box."""
import numpy as np
import pytest

from colorizer.checkpoint import find_weights, read_meta
from colorizer.evaluate import colorfulness
from colorizer.images import open_photo
from colorizer.infer import Colorizer
from colorizer.limits import DEFAULT_COLOR_STRENGTH
from conftest import EXAMPLES_BW, ROOT

WEIGHTS = ROOT / "weights"


@pytest.mark.skipif(not list(WEIGHTS.glob("*.pt")), reason="no shipped weights in this checkout")
def test_shipped_weights_are_default_and_colorize(monkeypatch):
    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)  # it would win over the folder
    best = find_weights(WEIGHTS)[0]
    meta = read_meta(best)
    # the default: the mean of the stage-1 resnet18 and a distilled EfficientNet-Lite0, x 1.15 (README)
    assert best.name == "colorizer_averaged.pt" and meta["stage"] == "average" and meta["scale"] == 1.15
    assert [m["file"] for m in meta["members"]] == ["generator_pretrained.pt", "lite0_student.pt"]
    for key in ("backbone", "size", "data", "date", "images_seen"):
        assert key in meta
    for name in ("generator_pretrained.pt", "lite0_student.pt", "colorizer_gan.pt"):
        assert read_meta(WEIGHTS / name)["dtype"] == "float16"
    model = Colorizer.load(weights_dir=WEIGHTS)
    assert model.color_strength == 1 and model.meta["path"] == str(best)
    # stage 2 still blends with its stage-1 partner at the default color strength
    gan = Colorizer.load(WEIGHTS / "colorizer_gan.pt")
    assert gan.color_strength == DEFAULT_COLOR_STRENGTH < 1 and gan.meta["base_weights"].endswith("generator_pretrained.pt")
    photo = open_photo(sorted(EXAMPLES_BW.glob("*.jpg"))[0])
    out = model.colorize(photo)
    assert out.size == photo.size
    assert colorfulness(np.asarray(photo)) < 1 < 5 < colorfulness(np.asarray(out))  # gray in, color out
