"""The networks: a U-Net generator on a ResNet body (L -> ab) and a PatchGAN critic on (L, ab)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

BACKBONES = ("resnet18", "resnet34")


def _resnet(backbone: str, weights: str) -> nn.Module:
    """A torchvision ResNet with ImageNet weights, weights from a local file, or random init."""
    import torchvision.models as tvm

    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    build = getattr(tvm, backbone)
    if weights == "imagenet":
        enum = tvm.get_model_weights(backbone).DEFAULT
        try:
            return build(weights=enum)
        except Exception as err:  # noqa: BLE001 - offline, proxy, hub errors all end up here
            print(f"ImageNet weights for {backbone} could not be had ({err.__class__.__name__}); "
                  "going on with random init.")
            return build(weights=None)
    model = build(weights=None)
    if weights in ("none", "", None):
        return model
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"--backbone-weights {weights}: no such file (use imagenet, none or a .pth path)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    missing, unexpected = model.load_state_dict(state, strict=False)
    if len(missing) > 2:  # a classifier head (fc.*) may legitimately be absent
        raise ValueError(f"{path}: not a {backbone} state dict (missing {len(missing)} keys, e.g. {missing[:3]})")
    return model


class Generator(nn.Module):
    """The U-Net with plain-tensor output: fastai's last layer (ToTensorBase, no weights) is taken
    out, since its TensorBase subclass slows autograd bookkeeping and breaks torch.compile (fastai's
    patched Tensor.as_subclass sends dynamo into endless recursion)."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        from fastai.layers import ToTensorBase

        for i, layer in enumerate(unet.layers):
            if isinstance(layer, ToTensorBase):
                unet.layers[i] = nn.Identity()
        self.unet = unet

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unet(x)


def build_generator(backbone: str = "resnet18", backbone_weights: str = "none", size: int = 256,
                    n_in: int = 1, n_out: int = 2) -> Generator:
    """fastai DynamicUnet on create_body(resnet, n_in, cut=-2): for colorization 1 channel (L) in, 2 (ab) out."""
    from fastai.vision.learner import create_body
    from fastai.vision.models.unet import DynamicUnet

    resnet = _resnet(backbone, backbone_weights)
    pretrained = backbone_weights not in ("none", "", None)
    body = create_body(resnet, n_in=n_in, pretrained=pretrained, cut=-2)
    size = max(32, (int(size) // 32) * 32)
    return Generator(DynamicUnet(body, n_out=n_out, img_size=(size, size)))


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN on input and output concatenated (L + ab: 3 channels), 64 filters, 3 downsamplings, BatchNorm.

    At 256 px the output is a 30x30 map of real/fake logits, one per ~70 px patch.
    """

    def __init__(self, in_channels: int = 3, filters: int = 64, n_down: int = 3, spectral_norm: bool = False):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for i in range(1, n_down + 1):
            prev, mult = mult, min(2**i, 8)
            stride = 2 if i < n_down else 1
            layers += [
                nn.Conv2d(filters * prev, filters * mult, 4, stride, 1, bias=False),
                nn.BatchNorm2d(filters * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(filters * mult, 1, 4, 1, 1))
        for m in layers:
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        if spectral_norm:  # each convolution's largest singular value held at 1: a smoother critic
            layers = [nn.utils.parametrizations.spectral_norm(m) if isinstance(m, nn.Conv2d) else m for m in layers]
        self.model = nn.Sequential(*layers)

    def forward(self, condition: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """condition: the generator's input (L); output: a real or generated target (ab)."""
        return self.model(torch.cat([condition, output], dim=1))
