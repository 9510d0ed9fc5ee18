"""The web page: `streamlit run streamlit_app.py`.

Layout only; the work is done in colorizer/ (app_logic, infer, images). The weights preselected
are the ones the CLI and the API would use (infer.resolve_weights: $COLORIZER_WEIGHTS, else the
best in $COLORIZER_WEIGHTS_DIR, default weights/); the others in that folder can be picked, paired
translation (pix2pix) weights among them: those show each upload beside its translation. Short films
(limits.py caps their length and size) are colorized whole and shown as a video to play and download.
Two tabs: "Photos" (all of the above, with the sidebar's settings) and "Sketch" (a drawing uploaded or
drawn -> is it jewelry, its type, and the drawing as a color photo: colorizer/paired/sketch_app.py).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas
from streamlit_image_coordinates import streamlit_image_coordinates

from colorizer import app_logic as logic
from colorizer.hints import page as hint_page
from colorizer.compare_view import slider_html
from colorizer.checkpoint import WeightsError
from colorizer.images import PhotoError
from colorizer.infer import WEIGHTS_DIR_ENV, default_render_size, no_weights_message, weights_folder
from colorizer.limits import ACCEPTED, ACCEPTED_VIDEO, DEFAULT_TEMPORAL, MAX_TEMPORAL, UPLOAD_TYPES, VIDEO_UPLOAD_TYPES
from colorizer.paired.sketch_app import SketchModels
from colorizer.video import VideoError

st.set_page_config(page_title="Colorizer", page_icon="🎨", layout="wide")
SKETCH_SIDE = 320  # the Sketch tab's drawing canvas, px


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


def show_sketch_tab(folder: Path) -> None:
    """A sketch uploaded or drawn here -> its type and every class's probability, and the sketch as a color
    photo to download (sketch_app: the jewelry classifier and the folder's best paired weights)."""
    signature = logic.folder_signature(folder)
    missing = sketch_missing(str(folder), signature)
    if missing:
        st.warning(f"Sketches need the jewelry classifier and paired (sketch -> photo) weights. {missing} "
                   f"Then reload this page.")
        return
    models = sketch_models(str(folder), signature)
    left, right = st.columns(2)
    with left:
        up = st.file_uploader(f"A sketch ({ACCEPTED})", type=list(UPLOAD_TYPES), key="sketch-upload")
    with right:
        drawn = st_canvas(stroke_width=4, stroke_color="#000000", background_color="#ffffff", height=SKETCH_SIDE,
                          width=SKETCH_SIDE, return_image_data=True, key="sketch-canvas")
        st.caption("…or draw one here (black lines on white). An uploaded sketch goes first: remove it to use "
                   "the drawing.")
    if up is not None:
        data, name = up.getvalue(), up.name
    elif drawn.json_data and drawn.json_data.get("objects") and drawn.image_bytes:
        data, name = drawn.image_bytes, "drawing.png"
    else:
        st.caption("Upload or draw a piece of jewelry (earring, bracelet, ring, necklace, watch): the tab says "
                   "which it is, with every class's probability, and colors it.")
        return
    digest = hashlib.sha256(data).hexdigest()
    kept = st.session_state.get("sketch")
    if kept is None or kept[0] != digest:  # only a new sketch runs the models again (reruns reuse it)
        with st.spinner("Classifying and coloring the sketch…"):
            try:
                outcome = models.run(data, name)
            except (PhotoError, WeightsError) as err:
                outcome = str(err)
        st.session_state["sketch"] = kept = (digest, outcome)
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


st.title("Colorize black-and-white photos")

folder = weights_folder()
photos_tab, sketch_tab = st.tabs(["Photos", "Sketch"])
with sketch_tab:  # laid out first: the photos below end the script early (st.stop) when they have nothing to show
    show_sketch_tab(folder)
with photos_tab:
    try:
        choices = weights_choices(str(folder), logic.folder_signature(folder))
    except WeightsError as err:
        st.error(f"These weights could not be loaded: {err}")
        st.stop()
    if not choices:
        st.warning(no_weights_message(folder).replace(", or pass --weights PATH", "") + " Then reload this page.")
        st.code("python pretrain.py      # stage 1: L1 only, writes weights/generator_pretrained.pt\n"
                "python train_gan.py     # stage 2: GAN, starts from stage 1", language="bash")
        st.caption(f"The page looks for *.pt files in `{folder}/` (set {WEIGHTS_DIR_ENV} to look elsewhere).")
        st.stop()

    def colorizer_settings(chosen: str, info: logic.WeightsInfo) -> tuple:
        """The sidebar's colorizer controls -> (render size, saturation): what a user acts on. Color strength,
        averages and temperatures are properties of the weights files (`python -m colorizer weights`)."""
        render_size = st.select_slider(
            "Render size", options=logic.render_size_options(info.meta), value=default_render_size(info.meta),
            format_func=lambda s: logic.render_size_label(s, info.meta),
            help="The size colors are predicted at: larger is slower, sometimes richer. "
                 "The output always has the photo's own size.")
        saturation = st.slider("Saturation boost", min_value=1.0, max_value=2.0, value=1.0, step=0.05,
                               help="Multiply the predicted color; 1.0 leaves it as the model made it.")
        return render_size, saturation


    by_path = {str(c.path): c for c in choices}
    with st.sidebar:
        st.header("Settings")
        chosen = st.selectbox("Weights", list(by_path), format_func=lambda p: by_path[p].label,
                              help=f"First the one the CLI and the API would use, then every other model in "
                                   f"`{folder}/` (colorizers, then paired translation weights), best first.")
        info = by_path[chosen]
        paired = logic.task_of(info.meta) == logic.PAIRED
        if paired:  # image -> image (pix2pix): no colorizer settings; each upload beside its translation
            st.caption(f"Paired translation ({info.meta.get('direction')}): each image is run with its short side at "
                       f"{info.meta.get('size')} px, the size these weights were trained at, and the output resized "
                       f"to the image's own size.")
            render_size = saturation = temporal = None
        else:
            render_size, saturation = colorizer_settings(chosen, info)
            temporal = st.slider("Films: steady colors", min_value=0.0, max_value=MAX_TEMPORAL, value=DEFAULT_TEMPORAL,
                                 step=0.05, help="How much each frame keeps of the colors before it where the picture "
                                                 "did not move (reset at cuts), against flicker; 0 colorizes each "
                                                 "frame on its own.")
        view = st.radio("Show", ["Slider", "Side by side"], horizontal=True,
                        help="Slider: the result over the input, drag to compare. Side by side: the two next to "
                             "each other.")

    try:
        model = load_model(chosen, logic.folder_signature(folder))
    except WeightsError as err:
        st.error(f"These weights could not be loaded: {err}")
        st.stop()
    runs_on = "onnxruntime" if model.backend == "onnx" else model.precision
    st.sidebar.caption(f"Model on {model.device} ({runs_on}); photos: {ACCEPTED}.")
    verb, made = ("translate", "Output") if paired else ("colorize", "Colorized")

    uploads = st.file_uploader(f"Photos ({ACCEPTED})" + ("" if paired else f" or short films ({ACCEPTED_VIDEO})"),
                               type=list(UPLOAD_TYPES) + ([] if paired else list(VIDEO_UPLOAD_TYPES)),
                               accept_multiple_files=True)
    if not uploads:
        st.info(f"Upload one or more {'images' if paired else 'photos'}: each is shown with its "
                f"{'translation' if paired else 'colorized version'} on a before/after slider (or side by side), "
                f"ready to download." + ("" if paired else " A short film comes back colorized, with its sound."))
        st.stop()


    def show_film(up, key) -> None:
        """One uploaded film: colorized (a progress bar over its frames) or taken from the results kept, shown
        as a video with its summary and a download button."""
        outcome = previous.get(key)
        if outcome is None:
            bar = st.progress(0.0, text=f"Colorizing {up.name}…")

            def progress(done: int, total: int) -> None:
                if done == total or done % max(1, total // 50) == 0:
                    bar.progress(min(1.0, done / max(1, total)), text=f"Colorizing {up.name}: frame {done} of {total}")

            try:
                outcome = logic.colorize_film(model, up.getvalue(), up.name, render_size, saturation, temporal,
                                              progress)
            except VideoError as err:
                outcome = str(err)
            bar.empty()
        results[key] = outcome
        st.subheader(up.name, divider="gray")
        if isinstance(outcome, str):
            st.error(f"Could not colorize {outcome}", icon="🚫")
            return
        st.video(outcome.data, format="video/mp4")
        st.caption(outcome.summary())
        st.download_button("Download MP4", data=outcome.data, file_name=outcome.filename, mime="video/mp4",
                           key=f"mp4-{up.file_id}", on_click="ignore")


    def show_hints(up, outcome: logic.PhotoResult) -> None:
        """Color hints for one photo, with the hints weights (hint_page.hints_weights): click the photo to put
        a hint in the current color, pick a color from the palette (the model's own near the last hint, then
        common ones) or the picker to change the last one; undo, clear, download. The result follows each."""
        if not st.toggle("Color hints: click where you know the color", key=f"hints-on-{up.file_id}",
                         help=f"With {hints_info.path.name}: each hint says the color at a point, and the region "
                              f"around it follows."):
            return
        hmodel = load_model(str(hints_info.path), logic.folder_signature(folder))
        state = st.session_state.setdefault(f"hints-{up.file_id}", {"hints": [], "color": None, "seen": set()})
        size = outcome.gray.size

        def fresh(key: str) -> hint_page.Click | None:  # a click not handled yet (the components keep their last)
            click = hint_page.Click.from_component(st.session_state.get(key))
            if click is None or (key, click.at) in state["seen"]:
                return None
            state["seen"].add((key, click.at))
            return click

        def result() -> "Image.Image":  # the photo with the hints as they are now (computed once for each)
            key = (tuple(state["hints"]), saturation)
            if state.get("key") != key:
                with st.spinner("Colorizing with your hints…"):
                    state["result"] = hmodel.colorize(outcome.gray, saturation=saturation, hints=state["hints"])
                state["key"] = key
            return state["result"]

        photo_key, swatch_key = f"hint-photo-{up.file_id}", f"hint-swatch-{up.file_id}"
        click = fresh(photo_key)
        if click is not None:  # the palette follows the click: the model's colors there first
            state["palette"] = hint_page.palette(result(), click.on(size))
            color = state["color"] or state["palette"][0]  # until a color is picked: the model's own there
            state["hints"] = hint_page.add_hint(state["hints"], click, size, color)
        colors = state.get("palette") or hint_page.palette()
        swatch = fresh(swatch_key)
        if swatch is not None and hint_page.swatch_at(swatch, colors):
            state["color"] = hint_page.swatch_at(swatch, colors)
            state["hints"] = hint_page.recolor_last(state["hints"], state["color"])
        given, shown_color = state["hints"], state["color"] or (state["hints"][-1].hex if state["hints"] else None)
        colored = result()

        left, right = st.columns([3, 1])
        with left:
            shown = logic.preview(colored)
            streamlit_image_coordinates(hint_page.with_dots(shown, hint_page.scaled(given, size, shown.size)),
                                        key=photo_key, width="stretch", image_format="JPEG", jpeg_quality=92,
                                        cursor="crosshair")
            st.caption(f"{len(given)} hint(s) · with {hints_info.path.name}")
        with right:
            st.caption("Palette: the model's colors near your last click, then common ones")
            streamlit_image_coordinates(hint_page.palette_image(colors, chosen=shown_color), key=swatch_key,
                                        width="stretch", cursor="pointer")  # rows of squares, as wide as the column

            def picked() -> None:
                state["color"] = st.session_state[f"hint-picker-{up.file_id}"]
                state["hints"] = hint_page.recolor_last(state["hints"], state["color"])

            st.color_picker("Color", value=shown_color or hint_page.DEFAULT_COLOR, key=f"hint-picker-{up.file_id}",
                            on_change=picked)
            undo, clear = st.columns(2)
            undo.button("Undo", key=f"hint-undo-{up.file_id}", disabled=not given, width="stretch",
                        on_click=lambda: state.update(hints=state["hints"][:-1]))
            clear.button("Clear", key=f"hint-clear-{up.file_id}", disabled=not given, width="stretch",
                         on_click=lambda: state.update(hints=[]))
            st.download_button("Download PNG", data=logic.png_bytes(colored), file_name=outcome.filename,
                               mime="image/png", key=f"hint-png-{up.file_id}", on_click="ignore")
            st.download_button("Hints as JSON", data=json.dumps(hint_page.as_json(given), indent=1),
                               file_name=f"{Path(outcome.filename).stem}_hints.json", mime="application/json",
                               key=f"hint-json-{up.file_id}", on_click="ignore", help="for `colorize --hints FILE`")


    hints_info = None if paired else hint_page.hints_weights(info, choices)
    zip_slot = st.container()
    previous = st.session_state.get("results", {})
    results: dict = {}  # only what is on the page now, so memory does not grow
    done: list[logic.PhotoResult] = []
    films = [up for up in uploads if logic.is_video_name(up.name)]
    uploads = [up for up in uploads if not logic.is_video_name(up.name)]
    keys = [(up.file_id, chosen, render_size, saturation) for up in uploads]
    to_do = sum(key not in previous for key in keys)
    progress = st.progress(0.0, text=f"{verb.capitalize()[:-1]}ing {to_do} photos…") if to_do > 1 else None
    finished = 0
    for up, key in zip(uploads, keys):
        outcome = previous.get(key)
        if outcome is None:
            with st.spinner(f"{verb.capitalize()[:-1]}ing {up.name}…"):
                try:
                    outcome = logic.process_photo(model, up.getvalue(), up.name, render_size, saturation)
                except PhotoError as err:
                    outcome = str(err)
            finished += 1
            if progress is not None:
                progress.progress(finished / to_do, text=f"{verb.capitalize()[:-1]}ed {finished} of {to_do} photos")
        results[key] = outcome

        st.subheader(up.name, divider="gray")
        if isinstance(outcome, str):
            st.error(f"Could not {verb} {outcome}", icon="🚫")
            continue
        done.append(outcome)
        if view == "Slider":
            page, _ = slider_html(outcome.gray, outcome.output, "Input", made)
            st.iframe(page, height="content")  # our own HTML (compare_view), of our own images
        else:
            left, right = st.columns(2)
            with left:
                st.image(logic.preview(outcome.gray), caption="Input", width="stretch")
            with right:
                st.image(logic.preview(outcome.output), caption=made, width="stretch")
        if outcome.was_color:
            st.info(f"{up.name}: {logic.GRAYED_NOTE}.")
        st.caption(outcome.summary())
        st.download_button("Download PNG", data=outcome.png, file_name=outcome.filename, mime="image/png",
                           key=f"png-{up.file_id}", on_click="ignore")
        if hints_info is not None:
            show_hints(up, outcome)
    if progress is not None:
        progress.empty()
    for up in films:  # after the photos, which are quick
        show_film(up, (up.file_id, chosen, render_size, saturation, "film", temporal))
    st.session_state["results"] = results

    if len(done) > 1:
        with zip_slot:
            st.download_button(f"Download all {len(done)} as zip", data=logic.zip_results(done),
                               file_name=f"{verb[:-1]}ed.zip", mime="application/zip", key="zip", on_click="ignore",
                               type="primary")
