"""`python -m colorizer classify PATH...`: is it jewelry, and which type, for photos and drawings.

Classifier.load(weights) -> .predict(images) -> one Prediction per image: the class, its probability, and
every class's probability. An image is seen as the network was trained: its central square, resized to
the weights' size, RGB (a drawing in gray is given as RGB).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from . import CLASSES, DEFAULT_WEIGHTS, NOT_JEWELRY, WEIGHTS_NAME


@dataclass
class Prediction:
    label: str                      # one of CLASSES
    probability: float              # of that label
    probabilities: dict[str, float]  # every class's

    @property
    def is_jewelry(self) -> bool:
        return self.label != CLASSES[NOT_JEWELRY]

    @property
    def jewelry_probability(self) -> float:
        return 1.0 - self.probabilities[CLASSES[NOT_JEWELRY]]


class Classifier:
    def __init__(self, model, meta: dict, device=None):
        import torch

        self.model, self.meta = model, meta
        self.device = device or torch.device("cpu")
        self.size = int(meta.get("size", 128))

    @classmethod
    def load(cls, weights: str | Path = DEFAULT_WEIGHTS, device: str = "cpu") -> "Classifier":
        """WeightsError naming the file when it is missing or not classifier weights."""
        import torch

        from .model import load_classifier

        model, meta = load_classifier(weights)
        dev = torch.device(device)
        return cls(model.to(dev), dict(meta, path=str(weights)), dev)

    def predict(self, images, batch_size: int = 32) -> list[Prediction]:
        """PIL images (any mode, any size) -> one Prediction each."""
        import torch

        from .data import square, to_tensor

        out = []
        for i in range(0, len(images), batch_size):
            x = torch.stack([to_tensor(square(im, self.size)) for im in images[i:i + batch_size]]).to(self.device)
            with torch.no_grad():
                probs = torch.softmax(self.model(x).float(), 1).cpu()
            for p in probs:
                k = int(p.argmax())
                out.append(Prediction(CLASSES[k], float(p[k]), {c: float(v) for c, v in zip(CLASSES, p)}))
        return out

    def predict_one(self, image) -> Prediction:
        return self.predict([image])[0]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m colorizer classify",
        description="Say whether each photo or drawing shows jewelry, and which type: earring, bracelet, ring, "
                    "necklace, other jewelry (a wristwatch) or not jewelry. Prints one line per file: the file, "
                    "the type and its probability.",
        epilog="Example:\n  python -m colorizer classify ring_drawing.png street.jpg\n"
               "  ring_drawing.png: ring 0.97\n  street.jpg: not jewelry 0.99",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos or drawings (folders: every photo in them)")
    p.add_argument("--weights", default=None,
                   help=f"classifier weights (default: {WEIGHTS_NAME} in --weights-dir)")
    p.add_argument("--weights-dir", default=None,
                   help="where to look for it (default: $COLORIZER_WEIGHTS_DIR when set, else weights)")
    p.add_argument("--all", action="store_true", help="print every class's probability too")
    return p


def _files(paths: list[str]) -> list[Path]:
    from ..images import list_photos

    out = []
    for p in map(Path, paths):
        out += list_photos(p) if p.is_dir() else [p]
    return out


def main(argv=None) -> int:
    """0 when every file was classified; 1 when some could not be read (each named on stderr, one line);
    2 when the weights cannot be loaded or nothing was given."""
    args = parser().parse_args(argv)
    from ..checkpoint import WeightsError
    from ..images import PhotoError, open_photo

    files = _files(args.paths)
    if not files:
        print(f"error: no photos in {' '.join(args.paths)}", file=sys.stderr)
        return 2
    from ..infer import weights_folder

    weights = Path(args.weights or weights_folder(args.weights_dir) / WEIGHTS_NAME)
    try:
        model = Classifier.load(weights)
    except WeightsError as err:
        hint = "" if weights.exists() else " (train one with `python -m colorizer train-classifier`)"
        print(f"error: {err}{hint}", file=sys.stderr)
        return 2
    failed = 0
    for path in files:
        try:
            image = open_photo(path)
        except PhotoError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        pred = model.predict_one(image)
        line = f"{path}: {pred.label} {pred.probability:.2f}"
        if args.all:
            line += " (" + ", ".join(f"{c} {v:.2f}" for c, v in pred.probabilities.items()) + ")"
        print(line, flush=True)
    return 1 if failed else 0
