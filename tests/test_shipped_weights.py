"""The weights shipped in weights/ colorize a real black-and-white photo out of the box."""
import numpy as np
import pytest

from colorizer.checkpoint import COLORIZE, read_meta
from colorizer.evaluate import colorfulness
from colorizer.images import open_photo
from colorizer.infer import Colorizer
from colorizer.limits import DEFAULT_COLOR_STRENGTH
from colorizer.registry import resolve
from helpers import EXAMPLES_BW, ROOT

WEIGHTS = ROOT / "weights"


@pytest.mark.skipif(not list(WEIGHTS.glob("*.pt")), reason="no shipped weights in this checkout")
def test_shipped_weights_are_default_and_colorize(monkeypatch):
    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)  # it would win over the folder
    best = resolve(COLORIZE, None, WEIGHTS)
    meta = read_meta(best)
    # the default (issue 42): stage 1 + the shipped student x1.15 for most photos, stage 1 + the people student
    # x1.18 for photos a probe on the student's body says show people (docs/quality.md, campaign log), packed
    # into one file (the limit: at most two files, 70 MB together) that needs no other
    assert best.name == "colorizer_people.pt" and meta["stage"] == "average" and meta["router"]["body_member"] == 1
    assert meta["packed"] and best.stat().st_size <= 70e6
    assert [m["file"] for m in meta["members"]] == ["generator_pretrained.pt", "lite0_student.pt", "student_people.pt"]
    assert meta["mixes"] == [{"weights": [1.0, 1.0, 0.0], "scale": 1.15}, {"weights": [1.0, 0.0, 1.0], "scale": 1.18}]
    for key in ("backbone", "size", "data", "date", "images_seen"):
        assert key in meta
    for name in ("generator_pretrained.pt", "lite0_student.pt", "student_people.pt", "colorizer_gan.pt"):
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


@pytest.mark.skipif(not (WEIGHTS / "colorizer_people.pt").is_file(), reason="no shipped weights in this checkout")
def test_the_default_routes_people_to_the_people_mix():
    """Most photos of people (val/people, never trained on; old photos of people) take the people mix;
    scenes and old photos without people the default's."""
    import torch

    model = Colorizer.load(WEIGHTS / "colorizer_people.pt", device="cpu", precision="fp32", backend="torch")
    router = model.net.generator.router
    data = ROOT.parent / "shared" / "data"

    def share(paths):
        with torch.inference_mode():
            return np.mean([float(router(torch.from_numpy(model.prepare(open_photo(p))[1]))) for p in paths])

    people = sorted((data / "val" / "people").glob("*"))[::40]  # 12, spread over the sources
    scenes = (sorted((data / "val" / "intel_scenes").glob("*"))[::25]
              or [ROOT / "examples" / "color" / "n06794110_street_sign.jpg"])
    assert share(scenes) <= 1 / 6
    if people:
        assert share(people) >= 0.6
    old = data / "bw_historical"  # real old prints: the probe was fitted on photos made to look like them too
    if old.is_dir():
        with_people = ["1888Slum", "Boston1937", "EasterNyc1911", "JerseyShore1905", "paperboy", "poverty",
                       "TheatreGroupBombay1875", "Depression"]
        without = ["AnselAdamsBuildings", "Sphinx", "PlanesManhattan1931", "dustbowl_1", "jacksonville", "civil-war_2"]
        assert share([old / f"{n}.jpg" for n in with_people]) >= 0.75
        assert share([old / f"{n}.jpg" for n in without]) == 0


@pytest.mark.skipif(not (WEIGHTS / "hints_people.pt").is_file(), reason="no shipped hints weights in this checkout")
def test_shipped_hints_weights_are_found_for_hints_only_and_follow_a_hint(monkeypatch):
    from skimage.color import rgb2lab
    from colorizer.hints import UserHint

    monkeypatch.delenv("COLORIZER_WEIGHTS", raising=False)
    assert resolve(COLORIZE, None, WEIGHTS).name == "colorizer_people.pt"  # plain colorizing keeps the default
    meta = read_meta(WEIGHTS / "hints_people.pt")
    assert meta["task"] == "hints" and meta["hint_gain"] == 10 and meta["dtype"] == "float16"
    model = Colorizer.load(weights_dir=WEIGHTS, hints=True)
    assert model.takes_hints and model.meta["path"].endswith("hints_people.pt")
    photo = open_photo(sorted(EXAMPLES_BW.glob("*.jpg"))[0])
    w, h = photo.size
    point = (w // 2, h // 2)
    plain = model.colorize(photo)
    red = model.colorize(photo, hints=[UserHint(x=point[0], y=point[1], rgb=(200, 30, 30))])
    box = (slice(h // 2 - 4, h // 2 + 5), slice(w // 2 - 4, w // 2 + 5))
    a_plain = rgb2lab(np.asarray(plain.convert("RGB")))[box][..., 1].mean()
    a_red = rgb2lab(np.asarray(red.convert("RGB")))[box][..., 1].mean()
    assert a_red > a_plain + 10  # the region around the hint turns red (a* up)


@pytest.mark.skipif(not (WEIGHTS / "sketch2jewelry.pt").is_file(), reason="no shipped jewelry paired weights in this checkout")
def test_shipped_jewelry_paired_weights_are_the_sketch_apps_and_color_a_drawn_ring():
    from colorizer.paired.sketch_app import SketchModels
    from colorizer.paired.translate import Translator
    from helpers import drawn_ring

    meta = read_meta(WEIGHTS / "sketch2jewelry.pt")
    assert meta["task"] == "paired" and meta["dtype"] == "float16" and meta["size"] == 128
    assert SketchModels(weights_dir=WEIGHTS).paired_path() == WEIGHTS / "sketch2jewelry.pt"
    ring = drawn_ring(128).convert("RGB")
    out = np.asarray(Translator.load(WEIGHTS / "sketch2jewelry.pt", device="cpu").translate(ring), dtype=float)
    lines = np.asarray(ring)[..., 0] < 128
    assert out.shape == (128, 128, 3)
    # a product photo: the paper stays a light ground, and the drawn piece turns warm (gold: red over blue)
    assert out[~lines].mean() > 180
    assert (out[lines][:, 0] - out[lines][:, 2]).mean() > 10
