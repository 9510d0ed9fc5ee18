"""Color hints for one photo, with the hints weights (hints/page.py: hints_weights): click the photo to put
a hint in the current color, pick a color from the palette (the model's own near the last hint, then common
ones) or the picker to change the last one; undo, clear, download. The result follows each."""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
from PIL import Image

from .. import app_logic as logic
from ..hints import page as hint_page
from .state import HintState, PageState


def fresh(state: PageState, hints: HintState, key: str) -> hint_page.Click | None:
    """A click on component `key` not handled yet (the components keep their last)."""
    click = hint_page.Click.from_component(state.widget(key))
    if click is None or (key, click.at) in hints.seen:
        return None
    hints.seen.add((key, click.at))
    return click


def show_hints(up, outcome: logic.PhotoResult, hmodel, hints_path: Path, saturation: float, state: PageState) -> None:
    from streamlit_image_coordinates import streamlit_image_coordinates  # a component: imported in a page only

    hints = state.hints(up.file_id)
    size = outcome.gray.size

    def result() -> Image.Image:  # the photo with the hints as they are now (computed once for each)
        made_for = (tuple(hints.hints), saturation)
        if hints.made_for != made_for:
            with st.spinner("Colorizing with your hints…"):
                hints.result = hmodel.colorize(outcome.gray, saturation=saturation, hints=hints.hints)
            hints.made_for = made_for
        return hints.result

    photo_key, swatch_key = f"hint-photo-{up.file_id}", f"hint-swatch-{up.file_id}"
    click = fresh(state, hints, photo_key)
    if click is not None:  # the palette follows the click: the model's colors there first
        hints.palette = hint_page.palette(result(), click.on(size))
        color = hints.color or hints.palette[0]  # until a color is picked: the model's own there
        hints.hints = hint_page.add_hint(hints.hints, click, size, color)
    colors = hints.palette or hint_page.palette()
    swatch = fresh(state, hints, swatch_key)
    if swatch is not None and hint_page.swatch_at(swatch, colors):
        hints.recolor_last(hint_page.swatch_at(swatch, colors))
    given, shown_color = hints.hints, hints.color or (hints.hints[-1].hex if hints.hints else None)
    colored = result()

    left, right = st.columns([3, 1])
    with left:
        shown = logic.preview(colored)
        streamlit_image_coordinates(hint_page.with_dots(shown, hint_page.scaled(given, size, shown.size)),
                                    key=photo_key, width="stretch", image_format="JPEG", jpeg_quality=92,
                                    cursor="crosshair")
        st.caption(f"{len(given)} hint(s) · with {hints_path.name}")
    with right:
        st.caption("Palette: the model's colors near your last click, then common ones")
        streamlit_image_coordinates(hint_page.palette_image(colors, chosen=shown_color), key=swatch_key,
                                    width="stretch", cursor="pointer")  # rows of squares, as wide as the column
        picker_key = f"hint-picker-{up.file_id}"
        st.color_picker("Color", value=shown_color or hint_page.DEFAULT_COLOR, key=picker_key,
                        on_change=lambda: hints.recolor_last(state.widget(picker_key)))
        undo, clear = st.columns(2)
        undo.button("Undo", key=f"hint-undo-{up.file_id}", disabled=not given, width="stretch", on_click=hints.undo)
        clear.button("Clear", key=f"hint-clear-{up.file_id}", disabled=not given, width="stretch",
                     on_click=hints.clear)
        st.download_button("Download PNG", data=logic.png_bytes(colored), file_name=outcome.filename,
                           mime="image/png", key=f"hint-png-{up.file_id}", on_click="ignore")
        st.download_button("Hints as JSON", data=json.dumps(hint_page.as_json(given), indent=1),
                           file_name=f"{Path(outcome.filename).stem}_hints.json", mime="application/json",
                           key=f"hint-json-{up.file_id}", on_click="ignore", help="for `colorize --hints FILE`")
