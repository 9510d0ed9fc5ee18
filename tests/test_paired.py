"""Paired translation (pix2pix): make-sketches, A|B and two-folder data, both generators, --task paired."""
import csv
import math
import random
import shutil

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from colorizer.checkpoint import load_weights
from colorizer.cli import main as cli_main
from colorizer.data import DataError
from colorizer.models import UNet, build_paired_generator, unet_depth
from colorizer.paired.data import PairDataset, scan_pairs
from colorizer.paired.sketches import make_sketches
from colorizer.training import TrainConfig, Trainer
from colorizer.training.callbacks import GANBalance
from colorizer.training.parsers import config_from_args, gan_main, gan_parser, pretrain_parser
from colorizer.paired.task import Paired
from colorizer.paired.translate import Translator

from helpers import EXAMPLES_COLOR


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory):
    """12 sketch|photo pairs (80x40) made by make-sketches from the repo's example photos."""
    root = tmp_path_factory.mktemp("paired")
    photos = root / "photos"
    photos.mkdir()
    for src in sorted(EXAMPLES_COLOR.glob("*.jpg"))[:12]:
        shutil.copy(src, photos / src.name)
    written, skipped = make_sketches(photos, root / "pairs", size=40, progress=False, log=lambda s: None)
    assert written == 12 and not skipped
    return root / "pairs"


def test_make_sketches_writes_sketch_photo_pairs(tmp_path, capsys):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    sources = sorted(EXAMPLES_COLOR.glob("*.jpg"))[:3]
    for src in sources:
        shutil.copy(src, photos / "sub" / src.name)
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    (photos / "notes.txt").write_text("not a photo")

    assert cli_main(["make-sketches", str(photos), str(tmp_path / "pairs"), "--size", "48", "--quiet"]) == 0
    out = capsys.readouterr()
    assert "broken.jpg" in out.err and "Wrote 3" in out.out
    files = sorted((tmp_path / "pairs").rglob("*.jpg"))
    assert [f.relative_to(tmp_path / "pairs").as_posix() for f in files] == [f"sub/{s.name}" for s in sources]
    for f, src in zip(files, sources):
        pair = np.asarray(Image.open(f).convert("RGB"), dtype=np.float32)
        assert pair.shape == (48, 96, 3)
        sketch, photo = pair[:, :48], pair[:, 48:]
        assert sketch.mean() > 170 and (sketch < 80).mean() > 0.01  # black lines on white
        assert np.abs(sketch[..., 0] - sketch[..., 2]).mean() < 3    # gray
        with Image.open(src) as im:
            expected = np.asarray(ImageOps.fit(im.convert("RGB"), (48, 48), Image.BICUBIC), dtype=np.float32)
        assert np.abs(photo - expected).mean() < 6                   # the photo's central square (JPEG aside)

    # the output inside the input would be read back as photos: refused
    assert cli_main(["make-sketches", str(photos), str(photos / "pairs"), "--quiet"]) == 2
    assert "inside" in capsys.readouterr().err


def test_pairs_both_directions_and_both_layouts(pairs_dir, tmp_path):
    pairs = scan_pairs(pairs_dir, log=lambda s: None)
    ab = PairDataset(pairs, 32, 36, "AtoB", train=False)
    ba = PairDataset(pairs, 32, 36, "BtoA", train=False)
    x, y = ab[0], ba[0]
    assert x.shape == (6, 32, 32) and x.dtype == torch.uint8
    assert torch.equal(x[:3], y[3:]) and torch.equal(x[3:], y[:3])
    assert x[:3].float().mean() > 150 and torch.equal(x[0], x[2])  # AtoB: the input is the sketch

    # the same pairs as two folders of same-named files (A as .png, B as .png), with a stray and a broken file
    for p in pairs:
        a, b = PairDataset([p], 32, 36).images(p)
        for side, img in (("A", a), ("B", b)):
            (tmp_path / side).mkdir(exist_ok=True)
            img.save(tmp_path / side / p.a.with_suffix(".png").name)
    (tmp_path / "A" / "stray.png").write_bytes((tmp_path / "A" / pairs[0].a.with_suffix(".png").name).read_bytes())
    (tmp_path / "B" / pairs[1].a.with_suffix(".png").name).write_bytes(b"broken")
    logs = []
    two = scan_pairs(tmp_path / "A", tmp_path / "B", log=logs.append)
    assert len(two) == len(pairs) - 1
    assert "stray.png (no file of that name" in logs[0] and pairs[1].a.with_suffix(".png").name in logs[0]
    two_ds = PairDataset(two, 32, 36, "AtoB", train=False)
    assert torch.equal(two_ds[0], ab[0])

    # training: one random crop and mirror for both sides (A == B stays A == B), and they vary
    same = tmp_path / "same"
    same.mkdir()
    half = Image.open(pairs[0].a).convert("RGB").crop((40, 0, 80, 40))
    both = Image.new("RGB", (80, 40))
    both.paste(half, (0, 0))
    both.paste(half, (40, 0))
    both.save(same / "x.png")
    train = PairDataset(scan_pairs(same, log=lambda s: None), 32, 40, "AtoB", train=True)
    draws = [train[0] for _ in range(8)]
    assert all(torch.equal(d[:3], d[3:]) for d in draws)
    assert not all(torch.equal(d, draws[0]) for d in draws)


def test_bad_pair_folders_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere: no such folder.*make-sketches"):
        scan_pairs(tmp_path / "nowhere")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.jpg").write_bytes(b"no")
    logs = []
    with pytest.raises(DataError, match="usable image pair"):
        scan_pairs(tmp_path / "junk", log=logs.append)
    assert "a.jpg (not a readable photo" in logs[0]


def test_classic_unet_is_pix2pix():
    assert [unet_depth(s) for s in (32, 64, 256, 512)] == [5, 6, 8, 8]
    with pytest.raises(ValueError, match="divisible by 8"):
        unet_depth(100)
    g = UNet(depth=8).eval()
    assert sum(p.numel() for p in g.parameters()) == pytest.approx(54.4e6, rel=0.01)  # as pix2pix's unet_256
    assert len(g.down) == 8 and len(g.up) == 8
    dropouts = [any(isinstance(m, torch.nn.Dropout) for m in block.modules()) for block in g.up]
    assert dropouts == [True] * 3 + [False] * 5
    assert isinstance(g.up[-1][-1], torch.nn.Tanh)
    with torch.no_grad():
        y = g(torch.randn(1, 3, 256, 256))
    assert y.shape == (1, 3, 256, 256) and y.abs().max() <= 1


# The GAN stage with the classic U-Net, stage 1 (L1 alone) with the ResNet U-Net, one direction each.
# lr: a few steps on one batch show L1 falling; the ResNet U-Net overshoots above the default 2e-4.
@pytest.mark.parametrize("stage, generator, direction, lr", [("gan", "unet", "AtoB", 1e-3),
                                                             ("pretrain", "resnet-unet", "BtoA", 2e-4)])
def test_each_generator_learns_saves_and_reloads(pairs_dir, tmp_path, stage, generator, direction, lr):
    cfg = TrainConfig(stage=stage, task="paired", data=str(pairs_dir), generator=generator, direction=direction,
                      size=32, batch_size=4, val_fraction=0.25, max_steps=1, samples=2, workers=0, precision="fp32",
                      backbone_weights="none", out=tmp_path / "w.pt", run_dir=tmp_path / "run", lr=lr)
    assert (cfg.init, cfg.betas, cfg.l1_weight, cfg.load_size) == (None, (0.5, 0.999), 100.0, 36)
    random.seed(0)  # the random crops (torch is seeded by the Trainer)
    trainer = Trainer(cfg, progress=False, log=lambda s: None)
    x, y = trainer.task.split(next(iter(trainer.data.train)), trainer.device)
    assert x.shape == y.shape == (4, 3, 32, 32) and x.min() >= -1 and y.max() <= 1
    losses = [trainer.stage.step(x, y) for _ in range(4)]
    l1 = [r["train_l1"] for r in losses]
    assert l1[-1] < 0.9 * l1[0], l1
    if stage == "gan":
        assert trainer.stage.discriminator.model[0].in_channels == 6  # PatchGAN on concat(input, output)
        assert all(math.isfinite(r["train_d"]) and math.isfinite(r["train_g_gan"]) for r in losses)

    history = trainer.fit()  # one more step, validation, samples, weights
    assert {"train_l1", "val_l1", "val_psnr", "val_ssim", "val_score"} <= set(history[-1])
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert float(rows[0]["val_psnr"]) > 0 and (stage != "gan" or float(rows[0]["train_d"]) > 0)
    grid = Image.open(tmp_path / "run" / "samples" / "epoch_001.png")
    assert grid.width > 3 * 32 and grid.height > 2 * 32  # input | prediction | truth, 2 rows

    state, meta = load_weights(cfg.out)
    assert (meta["task"], meta["stage"], meta["generator"], meta["direction"], meta["size"]) == \
        ("paired", stage, generator, direction, 32)
    g = build_paired_generator(meta["generator"], meta["size"], meta["backbone"], depth=meta.get("depth"))
    g.load_state_dict(state)
    g.eval()
    with torch.no_grad():
        assert torch.allclose(g(x.contiguous()), trainer.predict(x), atol=1e-4)
        out = g(torch.rand(1, 3, 64, 96) * 2 - 1)
    assert out.shape == (1, 3, 64, 96) and out.abs().max() <= 1  # any multiple of 32, the input's size

    t = Translator.load(cfg.out, device="cpu", precision="fp32")  # what translate, the page and the API load
    assert t.translate(Image.new("RGB", (50, 37), "white")).size == (50, 37)


def test_paired_flags_and_errors(tmp_path, capsys):
    cfg = config_from_args(gan_parser().parse_args(["--task", "paired", "--data", "pairs"]), "gan")
    assert (cfg.generator, cfg.direction, cfg.init, cfg.keep, cfg.lr, cfg.betas, cfg.size, cfg.load_size) == \
        ("unet", "AtoB", None, "last", 2e-4, (0.5, 0.999), 256, 286)
    assert (str(cfg.out), cfg.run_dir.name) == ("weights/paired_gan.pt", "paired_gan")
    cfg = config_from_args(pretrain_parser().parse_args(
        ["--task", "paired", "--data", "a", "--data-b", "b", "--direction", "BtoA", "--generator", "resnet-unet",
         "--size", "512", "--run-name", "p"]), "pretrain")
    assert (cfg.data_b, cfg.direction, cfg.generator, cfg.load_size, cfg.lr, cfg.betas) == \
        ("b", "BtoA", "resnet-unet", 572, 2e-4, (0.5, 0.999))
    assert config_from_args(gan_parser().parse_args([]), "gan") == TrainConfig(stage="gan")  # colorize unchanged
    cfg = config_from_args(gan_parser().parse_args(["--task", "paired", "--data", "p", "--filters", "32"]), "gan")
    assert cfg.filters == 32 and Paired.from_config(cfg).meta()["filters"] == 32  # inference rebuilds it

    assert gan_main(["--task", "paired", "--quiet"]) == 2  # no --data: says how to make pairs
    assert "make-sketches" in capsys.readouterr().err
    for flags, message in ((["--generator", "unet"], "for --task paired"),
                           (["--task", "paired", "--data", "p", "--loss", "classes"], "trains with L1"),
                           (["--task", "paired", "--data", "p", "--load-size", "200"], "smaller than --size")):
        with pytest.raises(SystemExit) as exit_:
            gan_main(flags + ["--quiet"])
        assert exit_.value.code == 2 and message in capsys.readouterr().err


class _FakeTrainer:
    def __init__(self, mode="bce"):
        self.cfg, self.lines = TrainConfig(stage="gan", gan_mode=mode), []

    def log(self, line):
        self.lines.append(line)


@pytest.mark.parametrize("d_losses, warned", [([0.05, 0.08, 0.02], True), ([0.05, 0.3, 0.02], False)])
def test_gan_balance_warns_when_d_wins_a_whole_epoch(d_losses, warned):
    trainer, cb = _FakeTrainer(), GANBalance()
    cb.on_train_begin(trainer)
    assert "0.69 is balanced" in trainer.lines[0]
    cb.on_epoch_begin(trainer, 1, len(d_losses))
    for d in d_losses:
        cb.on_step_end(trainer, {"train_d": d, "train_l1": 0.3})
    cb.on_epoch_end(trainer, {"epoch": 1})
    assert any("discriminator wins" in line for line in trainer.lines) == warned
