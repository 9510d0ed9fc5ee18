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
    assert best.name == "colorizer_gan.pt" and meta["stage"] == "gan" and meta["dtype"] == "float16"
    for key in ("backbone", "size", "data", "epoch", "date", "images_seen"):
        assert key in meta
    model = Colorizer.load(weights_dir=WEIGHTS)
    assert model.color_strength == DEFAULT_COLOR_STRENGTH < 1  # blended with its stage-1 partner
    assert model.meta["base_weights"].endswith("generator_pretrained.pt")
    photo = open_photo(sorted(EXAMPLES_BW.glob("*.jpg"))[0])
    out = model.colorize(photo)
    assert out.size == photo.size
    assert colorfulness(np.asarray(photo)) < 1 < 5 < colorfulness(np.asarray(out))  # gray in, color out
