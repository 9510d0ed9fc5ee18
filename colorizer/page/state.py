"""What the page keeps between reruns, read from and written to st.session_state here and only here.

    results   the Photos tab's results of the last run, by (file id, weights, render size, saturation)
              (films: + "film", temporal) -> PhotoResult / FilmResult, or the error text; only what is on
              the page, so memory does not grow
    sketch    the Sketch tab's last sketch: (its sha256, SketchResult or the error text)
    hints     per uploaded photo (its file id): HintState, the hints put on it so far

Widgets keep their own values in st.session_state under their keys (Streamlit's part); `widget(key)`
reads one, for the components whose last value the page must compare (a click already handled).
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from PIL import Image


@dataclass
class HintState:
    """One photo's color hints: the hints, the color picked (None: the model's own near the click), the clicks
    handled, the palette shown, and the last result with the (hints, saturation) it was made for."""

    hints: list = field(default_factory=list)
    color: str | None = None
    seen: set = field(default_factory=set)
    palette: list | None = None
    made_for: tuple | None = None
    result: Image.Image | None = None

    def recolor_last(self, color: str) -> None:
        from ..hints import page as hint_page

        self.color = color
        self.hints = hint_page.recolor_last(self.hints, color)

    def undo(self) -> None:
        self.hints = self.hints[:-1]

    def clear(self) -> None:
        self.hints = []


@dataclass
class PageState:
    session: MutableMapping  # st.session_state (a dict in tests)
    previous: dict  # the results of the run before this one
    results: dict = field(default_factory=dict)  # this run's: what save() keeps
    sketch: tuple | None = None

    @classmethod
    def read(cls, session: MutableMapping | None = None) -> PageState:
        if session is None:
            import streamlit as st

            session = st.session_state
        return cls(session, previous=session.get("results", {}), sketch=session.get("sketch"))

    def hints(self, file_id: str) -> HintState:
        key = f"hints-{file_id}"
        if not isinstance(self.session.get(key), HintState):
            self.session[key] = HintState()
        return self.session[key]

    def keep_sketch(self, digest: str, outcome) -> tuple:
        self.sketch = self.session["sketch"] = (digest, outcome)
        return self.sketch

    def widget(self, key: str):
        return self.session.get(key)

    def save(self) -> None:
        """At the end of a run: the results now on the page, for the next run to reuse."""
        self.session["results"] = self.results
