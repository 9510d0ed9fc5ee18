"""The Photos tab: the weights and settings in the sidebar, then each upload colorized (or translated, with
paired weights) beside its input, a film colorized whole, color hints on a photo, a zip of them all."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from .. import app_logic as logic
from ..checkpoint import WeightsError
from ..compare_view import slider_html
from ..hints import page as hint_page
from ..images import PhotoError
from ..infer import WEIGHTS_DIR_ENV, default_render_size, no_weights_message
from ..limits import ACCEPTED, ACCEPTED_VIDEO, DEFAULT_TEMPORAL, MAX_TEMPORAL, UPLOAD_TYPES, VIDEO_UPLOAD_TYPES
from ..video import VideoError
from .cached import load_model, weights_choices
from .hint_panel import show_hints
from .state import PageState


@dataclass
class Settings:
    """What the sidebar asks: the weights (a path) and, for a colorizer, render size, saturation and the
    films' steadiness (None with paired weights), and how results are shown."""

    chosen: str
    info: logic.WeightsInfo
    paired: bool
    render_size: int | None
    saturation: float | None
    temporal: float | None
    view: str

    @property
    def verb(self) -> str:
        return "translate" if self.paired else "colorize"

    @property
    def made(self) -> str:
        return "Output" if self.paired else "Colorized"


def colorizer_settings(info: logic.WeightsInfo) -> tuple:
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


def sidebar(folder: Path, choices: list[logic.WeightsInfo]) -> Settings:
    by_path = {str(c.path): c for c in choices}
    with st.sidebar:
        st.header("Settings")
        chosen = st.selectbox("Weights", list(by_path), format_func=lambda p: by_path[p].label,
                              help=f"First the one the CLI and the API would use, then every other model in "
                                   f"`{folder}/` (colorizers, then paired translation weights), best first.")
        info = by_path[chosen]
        card = info.card
        paired = card.task == logic.PAIRED
        if paired:  # image -> image (pix2pix): no colorizer settings; each upload beside its translation
            st.caption(f"Paired translation ({card.direction}): each image is run with its short side at "
                       f"{card.size} px, the size these weights were trained at, and the output resized "
                       f"to the image's own size.")
            render_size = saturation = temporal = None
        else:
            render_size, saturation = colorizer_settings(info)
            temporal = st.slider("Films: steady colors", min_value=0.0, max_value=MAX_TEMPORAL, value=DEFAULT_TEMPORAL,
                                 step=0.05, help="How much each frame keeps of the colors before it where the picture "
                                                 "did not move (reset at cuts), against flicker; 0 colorizes each "
                                                 "frame on its own.")
        view = st.radio("Show", ["Slider", "Side by side"], horizontal=True,
                        help="Slider: the result over the input, drag to compare. Side by side: the two next to "
                             "each other.")
    return Settings(chosen, info, paired, render_size, saturation, temporal, view)


def no_weights(folder: Path) -> None:
    st.warning(no_weights_message(folder).replace(", or pass --weights PATH", "") + " Then reload this page.")
    st.code("python pretrain.py      # stage 1: L1 only, writes weights/generator_pretrained.pt\n"
            "python train_gan.py     # stage 2: GAN, starts from stage 1", language="bash")
    st.caption(f"The page looks for *.pt files in `{folder}/` (set {WEIGHTS_DIR_ENV} to look elsewhere).")


def show_film(up, key, model, settings: Settings, state: PageState) -> None:
    """One uploaded film: colorized (a progress bar over its frames) or taken from the results kept, shown
    as a video with its summary and a download button."""
    outcome = state.previous.get(key)
    if outcome is None:
        bar = st.progress(0.0, text=f"Colorizing {up.name}…")

        def progress(done: int, total: int) -> None:
            if done == total or done % max(1, total // 50) == 0:
                bar.progress(min(1.0, done / max(1, total)), text=f"Colorizing {up.name}: frame {done} of {total}")

        try:
            outcome = logic.colorize_film(model, up.getvalue(), up.name, settings.render_size, settings.saturation,
                                          settings.temporal, progress)
        except VideoError as err:
            outcome = str(err)
        bar.empty()
    state.results[key] = outcome
    st.subheader(up.name, divider="gray")
    if isinstance(outcome, str):
        st.error(f"Could not colorize {outcome}", icon="🚫")
        return
    st.video(outcome.data, format="video/mp4")
    st.caption(outcome.summary())
    st.download_button("Download MP4", data=outcome.data, file_name=outcome.filename, mime="video/mp4",
                       key=f"mp4-{up.file_id}", on_click="ignore")


def show_photo(up, outcome: logic.PhotoResult, settings: Settings) -> None:
    """One photo's result: on the before/after slider or side by side, its summary and a download."""
    if settings.view == "Slider":
        page, _ = slider_html(outcome.gray, outcome.output, "Input", settings.made)
        st.iframe(page, height="content")  # our own HTML (compare_view), of our own images
    else:
        left, right = st.columns(2)
        with left:
            st.image(logic.preview(outcome.gray), caption="Input", width="stretch")
        with right:
            st.image(logic.preview(outcome.output), caption=settings.made, width="stretch")
    if outcome.was_color:
        st.info(f"{up.name}: {logic.GRAYED_NOTE}.")
    st.caption(outcome.summary())
    st.download_button("Download PNG", data=outcome.png, file_name=outcome.filename, mime="image/png",
                       key=f"png-{up.file_id}", on_click="ignore")


def hints_toggle(up, outcome: logic.PhotoResult, hints_info: logic.WeightsInfo, folder: Path, settings: Settings,
                 state: PageState) -> None:
    if st.toggle("Color hints: click where you know the color", key=f"hints-on-{up.file_id}",
                 help=f"With {hints_info.path.name}: each hint says the color at a point, and the region "
                      f"around it follows."):
        hmodel = load_model(str(hints_info.path), logic.folder_signature(folder))
        show_hints(up, outcome, hmodel, hints_info.path, settings.saturation, state)


def show_photos_tab(folder: Path, state: PageState) -> None:
    try:
        choices = weights_choices(str(folder), logic.folder_signature(folder))
    except WeightsError as err:
        st.error(f"These weights could not be loaded: {err}")
        return
    if not choices:
        return no_weights(folder)
    settings = sidebar(folder, choices)
    try:
        model = load_model(settings.chosen, logic.folder_signature(folder))
    except WeightsError as err:
        st.error(f"These weights could not be loaded: {err}")
        return
    runs_on = "onnxruntime" if model.backend == "onnx" else model.precision
    st.sidebar.caption(f"Model on {model.device} ({runs_on}); photos: {ACCEPTED}.")
    paired, verb = settings.paired, settings.verb

    uploads = st.file_uploader(f"Photos ({ACCEPTED})" + ("" if paired else f" or short films ({ACCEPTED_VIDEO})"),
                               type=list(UPLOAD_TYPES) + ([] if paired else list(VIDEO_UPLOAD_TYPES)),
                               accept_multiple_files=True)
    if not uploads:
        st.info(f"Upload one or more {'images' if paired else 'photos'}: each is shown with its "
                f"{'translation' if paired else 'colorized version'} on a before/after slider (or side by side), "
                f"ready to download." + ("" if paired else " A short film comes back colorized, with its sound."))
        return

    hints_info = None if paired else hint_page.hints_weights(settings.info, choices)
    zip_slot = st.container()
    done: list[logic.PhotoResult] = []
    films = [up for up in uploads if logic.is_video_name(up.name)]
    uploads = [up for up in uploads if not logic.is_video_name(up.name)]
    keys = [(up.file_id, settings.chosen, settings.render_size, settings.saturation) for up in uploads]
    to_do = sum(key not in state.previous for key in keys)
    progress = st.progress(0.0, text=f"{verb.capitalize()[:-1]}ing {to_do} photos…") if to_do > 1 else None
    finished = 0
    for up, key in zip(uploads, keys):
        outcome = state.previous.get(key)
        if outcome is None:
            with st.spinner(f"{verb.capitalize()[:-1]}ing {up.name}…"):
                try:
                    outcome = logic.process_photo(model, up.getvalue(), up.name, settings.render_size,
                                                  settings.saturation)
                except PhotoError as err:
                    outcome = str(err)
            finished += 1
            if progress is not None:
                progress.progress(finished / to_do, text=f"{verb.capitalize()[:-1]}ed {finished} of {to_do} photos")
        state.results[key] = outcome

        st.subheader(up.name, divider="gray")
        if isinstance(outcome, str):
            st.error(f"Could not {verb} {outcome}", icon="🚫")
            continue
        done.append(outcome)
        show_photo(up, outcome, settings)
        if hints_info is not None:
            hints_toggle(up, outcome, hints_info, folder, settings, state)
    if progress is not None:
        progress.empty()
    for up in films:  # after the photos, which are quick
        show_film(up, (up.file_id, settings.chosen, settings.render_size, settings.saturation, "film",
                       settings.temporal), model, settings, state)
    state.save()

    if len(done) > 1:
        with zip_slot:
            st.download_button(f"Download all {len(done)} as zip", data=logic.zip_results(done),
                               file_name=f"{verb[:-1]}ed.zip", mime="application/zip", key="zip", on_click="ignore",
                               type="primary")
