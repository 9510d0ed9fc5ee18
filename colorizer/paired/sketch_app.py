"""The sketch app (issue 32, part 3): a drawing in; what it shows, and the drawing as a color photo, out.

A sketch (uploaded, or drawn on the page) is read as any upload (app_logic.read_photo: the size caps, the
same errors), classified by the jewelry classifier (colorizer.classify: jewelry or not, which type, every
class's probability) and translated to a color photo by the jewelry sketch -> photo weights
(the paired default of the weights folder's manifest: sketch2jewelry.pt as shipped; registry.resolve), run by
translate.Translator as `translate` and the page's paired view run them.

The page's Sketch tab and the API's POST /sketch share SketchModels (both models, each loaded once, at
the first sketch) and sketch_result (one sketch through both); neither UI nor HTTP lives here.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import app_logic
from ..checkpoint import CLASSIFY, PAIRED, WeightsError
from ..classify import CLASSES
from ..classify.predict import Classifier, Prediction
from ..device import pick_device
from ..limits import MAX_PIXELS
from ..registry import resolve
from .translate import Translator

CLI_ONLY = ", or pass --weights PATH"  # the registry's messages speak to the command line
PAIRED_NAME = "sketch2jewelry.pt"  # the shipped paired default (weights/defaults.json): trained on jewelry drawings


@dataclass(eq=False)
class SketchResult:
    """One sketch: what the classifier says of it, and its translation (photo.gray is the sketch as read,
    photo.output the color photo, at the sketch's size)."""

    prediction: Prediction
    photo: app_logic.PhotoResult
    classify_seconds: float

    @property
    def type(self) -> str:
        return self.prediction.label

    @property
    def is_jewelry(self) -> bool:
        return self.prediction.is_jewelry

    @property
    def probability(self) -> float:
        return self.prediction.probability

    @property
    def probabilities(self) -> dict[str, float]:
        return self.prediction.probabilities

    @property
    def filename(self) -> str:  # 'ring.png' -> 'ring_translated.png'
        return self.photo.filename

    @property
    def png(self) -> bytes:
        return self.photo.png

    @property
    def width(self) -> int:
        return self.photo.width

    @property
    def height(self) -> int:
        return self.photo.height

    @property
    def seconds(self) -> float:
        return self.classify_seconds + self.photo.seconds

    def answer(self) -> dict:
        """The classifier's part of the API's JSON: is_jewelry, type, probability, probabilities (every class,
        in CLASSES' order)."""
        return {"is_jewelry": self.is_jewelry, "type": self.type, "probability": round(self.probability, 4),
                "probabilities": {c: round(self.probabilities[c], 4) for c in CLASSES}}

    def summary(self) -> str:
        """'ring (72%) · 256×256 px · 0.31 s'."""
        return f"{self.type} ({self.probability:.0%}) · {self.width}×{self.height} px · {self.seconds:.2f} s"


def sketch_result(classifier: Classifier, translator: Translator, data: bytes, name: str,
                  max_pixels: int = MAX_PIXELS) -> SketchResult:
    """Uploaded bytes -> SketchResult. Raises PhotoError / PhotoTooLarge naming the upload, as for photos."""
    photo = app_logic.translate_photo(translator, data, name, max_pixels=max_pixels)
    t0 = time.perf_counter()
    prediction = classifier.predict_one(photo.gray)
    return SketchResult(prediction, photo, time.perf_counter() - t0)


class SketchModels:
    """The jewelry classifier and the paired weights sketches run through, each loaded once, at the first
    sketch (thread-safe); until both are there they are looked for again at each call, so weights trained
    while a server runs are picked up. classifier / paired: files chosen by hand (default: the weights
    folder's defaults for both tasks: registry.resolve)."""

    def __init__(self, weights_dir: str | Path | None = None, classifier: str | Path | None = None,
                 paired: str | Path | None = None, device: str = "auto"):
        self._weights_dir = weights_dir
        self._classifier_file = Path(classifier) if classifier else None
        self._paired_file = Path(paired) if paired else None
        self.device = device
        self._lock = threading.Lock()
        self._classifier: Classifier | None = None
        self._translator: Translator | None = None

    def classifier_path(self) -> Path:
        """The classifier to use (registry.resolve); WeightsError saying what to train when there is none."""
        return self._resolve(CLASSIFY, self._classifier_file)

    def paired_path(self) -> Path:
        """The paired weights to use (registry.resolve); WeightsError saying what to train when there are none."""
        return self._resolve(PAIRED, self._paired_file)

    def _resolve(self, task: str, given: Path | None) -> Path:
        try:
            return resolve(task, given, self._weights_dir)
        except WeightsError as err:
            raise WeightsError(str(err).replace(CLI_ONLY, "")) from None

    def missing(self) -> str | None:
        """Why sketches cannot be run here (what is missing, what to train), or None; loads nothing."""
        for loaded, find in ((self._classifier, self.classifier_path), (self._translator, self.paired_path)):
            if loaded is None:
                try:
                    find()
                except WeightsError as err:
                    return str(err)
        return None

    def load(self) -> tuple[Classifier, Translator]:
        """Both models (loaded at the first call). WeightsError naming the file that is missing or cannot be
        used, and what to train."""
        with self._lock:
            why = self.missing()  # both looked for before either loads
            if why:
                raise WeightsError(why)
            if self._classifier is None:
                self._classifier = Classifier.load(self.classifier_path(), device=str(pick_device(self.device)))
            if self._translator is None:
                self._translator = Translator.load(self.paired_path(), device=self.device)
            return self._classifier, self._translator

    def run(self, data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> SketchResult:
        """One uploaded sketch through both models (sketch_result)."""
        classifier, translator = self.load()
        return sketch_result(classifier, translator, data, name, max_pixels=max_pixels)
