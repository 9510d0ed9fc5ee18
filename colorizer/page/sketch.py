"""The Sketch tab: a sketch uploaded or drawn -> its type and every class's probability, and the sketch as a
color photo to download (paired/sketch_app.py: the jewelry classifier and the folder's best paired weights)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from .. import app_logic as logic
from ..checkpoint import WeightsError
from ..images import PhotoError
from ..limits import ACCEPTED, UPLOAD_TYPES
from .cached import sketch_missing, sketch_models
from .state import PageState

SKETCH_SIDE = 320  # the drawing canvas, px


def sketch_input() -> tuple[bytes, str] | None:
    """The sketch to use: an upload first, else a drawing on the canvas; None when there is neither."""
    from streamlit_drawable_canvas import st_canvas  # here: it registers its component at import, in a page only

    left, right = st.columns(2)
    with left:
        up = st.file_uploader(f"A sketch ({ACCEPTED})", type=list(UPLOAD_TYPES), key="sketch-upload")
    with right:
        drawn = st_canvas(stroke_width=4, stroke_color="#000000", background_color="#ffffff", height=SKETCH_SIDE,
                          width=SKETCH_SIDE, return_image_data=True, key="sketch-canvas")
        st.caption("…or draw one here (black lines on white). An uploaded sketch goes first: remove it to use "
                   "the drawing.")
    if up is not None:
        return up.getvalue(), up.name
    if drawn.json_data and drawn.json_data.get("objects") and drawn.image_bytes:
        return drawn.image_bytes, "drawing.png"
    return None


def show_sketch_tab(folder: Path, state: PageState) -> None:
    signature = logic.folder_signature(folder)
    missing = sketch_missing(str(folder), signature)
    if missing:
        st.warning(f"Sketches need the jewelry classifier and paired (sketch -> photo) weights. {missing} "
                   f"Then reload this page.")
        return
    models = sketch_models(str(folder), signature)
    given = sketch_input()
    if given is None:
        st.caption("Upload or draw a piece of jewelry (earring, bracelet, ring, necklace, watch): the tab says "
                   "which it is, with every class's probability, and colors it.")
        return
    data, name = given
    digest = hashlib.sha256(data).hexdigest()
    kept = state.sketch
    if kept is None or kept[0] != digest:  # only a new sketch runs the models again (reruns reuse it)
        with st.spinner("Classifying and coloring the sketch…"):
            try:
                outcome = models.run(data, name)
            except (PhotoError, WeightsError) as err:
                outcome = str(err)
        kept = state.keep_sketch(digest, outcome)
    outcome = kept[1]
    if isinstance(outcome, str):
        st.error(f"Could not use {outcome}", icon="🚫")
        return
    verdict = "jewelry" if outcome.is_jewelry else "not jewelry, colored all the same"
    st.metric("Type", outcome.type, help="What the jewelry classifier sees in the sketch.")
    st.caption(f"{verdict} · {outcome.summary()} · the sidebar's settings are the Photos tab's")
    st.dataframe({"class": list(outcome.probabilities), "probability": list(outcome.probabilities.values())},
                 hide_index=True, column_config={"probability": st.column_config.ProgressColumn(
                     "probability", format="percent", min_value=0.0, max_value=1.0)})
    left, right = st.columns(2)
    with left:
        st.image(logic.preview(outcome.photo.gray), caption="Sketch", width="stretch")
    with right:
        st.image(logic.preview(outcome.photo.output), caption="Colored", width="stretch")
    st.download_button("Download PNG", data=outcome.png, file_name=outcome.filename, mime="image/png",
                       key="sketch-png", on_click="ignore")
