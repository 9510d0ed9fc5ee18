"""The model a server uses: loaded once, lazily (color strength, averages and temperatures are properties of
the weights file: `python -m colorizer weights`).

Either kind, as the weights' metadata says (app_logic.load): a colorizer (onnxruntime on the CPU,
torch on a GPU; an onnxruntime session runs calls from several threads at once) or paired
translation weights (translate.Translator, torch). The same POST serves both.
"""
from __future__ import annotations

import threading
from pathlib import Path

from .. import app_logic
from ..checkpoint import WeightsError
from ..infer import hints_weights_path, no_hints_message, resolve_weights
from ..paired.translate import is_paired


class ModelHolder:
    """The model, loaded once, lazily; the weights path is found again until there is one.
    How many photos run at once is the Gate's business (gate.py), not this class's."""

    def __init__(self, weights: str | Path | None = None, weights_dir: str | Path | None = None,
                 device: str = "auto"):
        self._weights = Path(weights) if weights else None
        self._weights_dir = Path(weights_dir) if weights_dir else None
        self.device = device
        self.model = None  # a Colorizer or a Translator, as the weights' card says
        self.error: str | None = None  # why the last load failed
        self._path: Path | None = None
        self._load_lock = threading.Lock()
        self._hints = None  # the model for photos sent with color hints (with_hints)
        self._no_hints: dict[Path, str] = {}  # weights found to take no hints -> the refusal, said again

    def path(self) -> Path:
        """The weights file to use (infer.resolve_weights), or WeightsError saying what to run."""
        if self._path is None:
            self._path = resolve_weights(self._weights, self._weights_dir)
        return self._path

    def _own_path(self) -> Path | None:
        try:
            return self.path()
        except WeightsError:
            return None

    def _load(self):
        return app_logic.load(self.path(), device=self.device, weights_dir=self._weights_dir)

    def get(self):
        """The model (loaded at the first call); WeightsError when it cannot be loaded."""
        with self._load_lock:
            if self.model is None:
                try:
                    self.model = self._load()
                except WeightsError as err:
                    self.error = str(err)
                    raise
                self.error = None
            return self.model

    def with_hints(self):
        """The model for photos sent with color hints: the server's own weights when they take hints,
        else the best hints weights in the folder (loaded once). WeightsError naming the weights and
        what to train when there are none (or the weights chosen by hand take no hints). Weights found
        to take no hints are remembered as such: later requests are refused from that, never by loading
        them again (each load held the lock for seconds and grew the memory)."""
        with self._load_lock:
            if self._hints is None:
                path = hints_weights_path(self._weights, self._weights_dir)  # a file name: no loading
                if path in self._no_hints:
                    raise WeightsError(self._no_hints[path])
                if path == self._own_path():  # the server's own weights: loaded once, for both
                    if self.model is None:
                        self.model = self._load()
                        self.error = None
                    model = self.model
                else:
                    model = app_logic.load(path, device=self.device, weights_dir=self._weights_dir)
                if is_paired(model) or not model.takes_hints:
                    self._no_hints[path] = no_hints_message(path)
                    raise WeightsError(self._no_hints[path])
                self._hints = model
            return self._hints
