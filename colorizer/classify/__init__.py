"""Is it jewelry, and which type: a classifier for photos and sketches (issue 32, part 1).

An EfficientNet-Lite0 body (ImageNet weights), global average pooling and one linear layer answer one of
CLASSES. It is trained on product photos of jewelry and on `make-sketches` drawings of them, with photos
of objects, people and scenes (and their drawings) as "not jewelry", so a drawing and a photo are both
recognised. Inputs are RGB; a sketch is given as RGB too (gray in all three channels).

    data.py     the folders -> labelled samples, a seeded split per class, photo or sketch on the fly
    model.py    the network; its weights file (task "classify")
    train.py    the training loop, the validation report (accuracy, confusion matrices), its command line
    predict.py  Classifier: weights in, (class, probability) out; `python -m colorizer classify`
"""
from __future__ import annotations

# The answers, in the order of the network's outputs. The first five are jewelry.
CLASSES = ("earring", "bracelet", "ring", "necklace", "other jewelry", "not jewelry")
NOT_JEWELRY = CLASSES.index("not jewelry")
TYPES = CLASSES[:4]  # the four types the design notes name; "other jewelry" is a wristwatch
# folder under the jewelry data root -> class
JEWELRY_FOLDERS = {"earring": "earring", "bracelet": "bracelet", "ring": "ring", "necklace": "necklace",
                   "wristwatch": "other jewelry"}
WEIGHTS_NAME = "jewelry_classifier.pt"  # in the weights folder (infer.weights_folder)
DEFAULT_WEIGHTS = f"weights/{WEIGHTS_NAME}"


def is_jewelry(class_index: int) -> bool:
    return class_index != NOT_JEWELRY
