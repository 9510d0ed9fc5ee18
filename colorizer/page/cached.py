"""What the page reads once and keeps across reruns and sessions (Streamlit's caches), each keyed by a
signature of the weights folder, so a file changed on disk is read again."""
from __future__ import annotations

import streamlit as st

from .. import app_logic as logic
from ..paired.sketch_app import SketchModels


@st.cache_data(show_spinner=False, max_entries=8)
def weights_choices(folder: str, signature: tuple) -> list[logic.WeightsInfo]:
    """Read again whenever a weights file (or $COLORIZER_WEIGHTS) changes: signature says so."""
    return logic.weights_choices(folder)


@st.cache_resource(show_spinner="Loading the model…", max_entries=2)
def load_model(path: str, signature: tuple):
    """Once per process (per weights file and version); on the GPU when there is one,
    else onnxruntime (app_logic.load: a Colorizer, or a Translator for paired weights)."""
    return logic.load(path)


@st.cache_data(show_spinner=False, max_entries=8)
def sketch_missing(folder: str, signature: tuple) -> str | None:
    """What the Sketch tab lacks (the classifier, paired weights) and what to train; None when both are there."""
    return SketchModels(folder).missing()


@st.cache_resource(show_spinner=False, max_entries=2)
def sketch_models(folder: str, signature: tuple) -> SketchModels:
    """Once per process (per weights folder and version); the two models load at the first sketch."""
    return SketchModels(folder)
