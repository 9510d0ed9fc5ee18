"""The web page (`streamlit run streamlit_app.py`): layout only; the work is done in colorizer/ (app_logic,
infer, images, hints/page.py, paired/sketch_app.py), so all of it is tested without a browser.

The weights preselected are the ones the CLI and the API would use ($COLORIZER_WEIGHTS, else the default
of $COLORIZER_WEIGHTS_DIR, by default weights/: registry.resolve); the others in that folder can be picked,
paired translation (pix2pix) weights among them: those show each upload beside its translation. Short films
(limits.py caps their length and size) are colorized whole and shown as a video to play and download.

    state.py       PageState: what the page keeps between reruns, read from st.session_state in one place
    cached.py      the weights listed, the models loaded: once per process (Streamlit's caches)
    photos.py      the "Photos" tab and the sidebar's settings (Settings)
    hint_panel.py  color hints on one photo
    sketch.py      the "Sketch" tab: a drawing uploaded or drawn -> is it jewelry, its type, a color photo
"""
from __future__ import annotations


def main() -> None:
    """The whole page, for one run of the script."""
    import streamlit as st

    from ..infer import weights_folder
    from .photos import show_photos_tab
    from .sketch import show_sketch_tab
    from .state import PageState

    st.set_page_config(page_title="Colorizer", page_icon="🎨", layout="wide")
    st.title("Colorize black-and-white photos")
    folder = weights_folder()
    state = PageState.read()
    photos_tab, sketch_tab = st.tabs(["Photos", "Sketch"])
    with sketch_tab:
        show_sketch_tab(folder, state)
    with photos_tab:
        show_photos_tab(folder, state)
