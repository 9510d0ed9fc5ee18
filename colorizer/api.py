"""HTTP API: `uvicorn colorizer.api:app --host 0.0.0.0 --port 8000`.

    GET  /health                    -> {"status": "ok" | "no_weights" | "weights_error", "ready": bool, ...}
    POST /colorize                  multipart: image (file), user_id (text; userID also accepted),
                                    optional render_size (int), saturation (float),
                                    color_strength (0..1: stage 2 blended with its stage 1) -> image/png
    GET  /results/{user_id}         -> [{"id", "filename", "width", "height", "seconds"}, ...]
    GET  /results/{user_id}/{id}    -> image/png

Errors are JSON {"detail": ...}: 400 unreadable image, 413 too large, 422 missing or bad field
(a color strength below 1 for weights without a stage-1 partner too), 404 unknown result, 503 no
weights. Weights: infer.resolve_weights, as for the CLI and the page
($COLORIZER_WEIGHTS, a file, else the best in $COLORIZER_WEIGHTS_DIR, default weights/); loaded
once, at the first /colorize. Results are kept in memory for the life of the server, capped per
user and in total.
"""
from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response

from . import app_logic as logic
from .checkpoint import WeightsError
from .images import PhotoError, PhotoTooLarge
from .infer import ColorStrengthError, Colorizer, resolve_weights
from .limits import (ACCEPTED, MAX_COLOR_STRENGTH, MAX_PIXELS, MAX_RENDER_SIZE, MAX_UPLOAD_BYTES, MIN_COLOR_STRENGTH,
                     MIN_RENDER_SIZE)

USER_ID = re.compile(r"^[A-Za-z0-9._@-]{1,128}$")


@dataclass
class StoredResult:
    id: str
    filename: str
    width: int
    height: int
    seconds: float
    png: bytes

    def info(self) -> dict:
        return {"id": self.id, "filename": self.filename, "width": self.width, "height": self.height,
                "seconds": round(self.seconds, 3)}


class ResultStore:
    """Results per user in memory, oldest dropped first past max_per_user, max_total or max_bytes."""

    def __init__(self, max_per_user: int = 50, max_total: int = 500, max_bytes: int = 512 * 2**20):
        self.max_per_user, self.max_total, self.max_bytes = max_per_user, max_total, max_bytes
        self._items: OrderedDict[tuple[str, str], StoredResult] = OrderedDict()  # oldest first
        self._bytes = 0
        self._lock = threading.Lock()

    def add(self, user_id: str, filename: str, width: int, height: int, seconds: float, png: bytes) -> StoredResult:
        item = StoredResult(secrets.token_hex(6), filename, width, height, seconds, png)
        if len(png) > self.max_bytes:
            return item  # served, but too big to keep
        with self._lock:
            self._items[(user_id, item.id)] = item
            self._bytes += len(png)
            mine = [k for k in self._items if k[0] == user_id]
            for k in mine[: max(0, len(mine) - self.max_per_user)]:
                self._drop(k)
            while len(self._items) > self.max_total or self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))
        return item

    def _drop(self, key) -> None:
        self._bytes -= len(self._items.pop(key).png)

    def list(self, user_id: str) -> list[dict]:
        with self._lock:
            return [v.info() for (u, _), v in self._items.items() if u == user_id]

    def get(self, user_id: str, result_id: str) -> StoredResult | None:
        with self._lock:
            return self._items.get((user_id, result_id))


class ModelHolder:
    """The colorizer, loaded once, lazily; the weights path is found again until there is one.
    Other color strengths than the default are loaded when asked for, the last few kept."""

    def __init__(self, weights: str | Path | None = None, weights_dir: str | Path | None = None,
                 device: str = "auto", max_strengths: int = 2):
        self._weights = Path(weights) if weights else None
        self._weights_dir = Path(weights_dir) if weights_dir else None
        self.device = device
        self.model: Colorizer | None = None  # at the default color strength
        self.error: str | None = None  # why the last load failed
        self._path: Path | None = None
        self._others: OrderedDict[float, Colorizer] = OrderedDict()  # asked-for strengths, oldest first
        self.max_strengths = max_strengths
        self._load_lock = threading.Lock()
        self.run_lock = threading.Lock()  # one photo at a time: memory stays bounded

    def path(self) -> Path:
        """The weights file to use (infer.resolve_weights), or WeightsError saying what to run."""
        if self._path is None:
            self._path = resolve_weights(self._weights, self._weights_dir)
        return self._path

    def get(self, color_strength: float | None = None) -> Colorizer:
        """The model at color_strength (None: the default). ColorStrengthError when that strength
        cannot be had for these weights (no stage-1 partner); WeightsError when they cannot be loaded."""
        with self._load_lock:
            if self.model is None:
                try:
                    self.model = Colorizer.load(self.path(), device=self.device, weights_dir=self._weights_dir)
                except WeightsError as err:
                    self.error = str(err)
                    raise
                self.error = None
            if color_strength is None or color_strength == self.model.color_strength:
                return self.model
            if color_strength not in self._others:
                self._others[color_strength] = Colorizer.load(self.path(), device=self.device,
                                                              weights_dir=self._weights_dir,
                                                              color_strength=color_strength)
                while len(self._others) > self.max_strengths:
                    self._others.popitem(last=False)
            self._others.move_to_end(color_strength)
            return self._others[color_strength]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def create_app(weights: str | Path | None = None, weights_dir: str | Path | None = None, device: str = "auto",
               store: ResultStore | None = None) -> FastAPI:
    holder = ModelHolder(weights, weights_dir, device)
    results = store or ResultStore()
    app = FastAPI(title="Colorizer", version="1.0",
                  description="Colorize black-and-white photos: POST one as multipart `image` with a `user_id`.")
    app.state.model = holder
    app.state.results = results

    @app.get("/health")
    def health():
        try:
            path = holder.path()
        except WeightsError as err:
            return {"status": "no_weights", "ready": False, "message": str(err)}
        if holder.model is None and holder.error:
            return {"status": "weights_error", "ready": False, "weights": str(path), "message": holder.error}
        out = {"status": "ok", "ready": True, "weights": str(path), "model_loaded": holder.model is not None}
        if holder.model is not None:
            out.update(stage=holder.model.meta.get("stage"), device=str(holder.model.device),
                       color_strength=holder.model.color_strength)
        return out

    @app.post("/colorize", responses={200: {"content": {"image/png": {}}}})
    def colorize(image: UploadFile = File(..., description=f"the photo: {ACCEPTED}"),
                 user_id: str | None = Form(None, description="who the result is kept for"),
                 userID: str | None = Form(None, description="the same as user_id (older clients)"),  # noqa: N803
                 render_size: int | None = Form(None, ge=MIN_RENDER_SIZE, le=MAX_RENDER_SIZE),
                 saturation: float = Form(1.0, ge=0.0, le=3.0),
                 color_strength: float | None = Form(
                     None, ge=MIN_COLOR_STRENGTH, le=MAX_COLOR_STRENGTH,
                     description="1: stage-2 weights as trained, 0: the stage-1 weights they started from, "
                                 "between: a blend (default: limits.DEFAULT_COLOR_STRENGTH where it can be had)")):
        uid = (user_id if user_id is not None else userID or "").strip()
        if not uid:
            return _error(422, "missing form field user_id")
        if not USER_ID.match(uid):
            return _error(422, "user_id: 1 to 128 characters among letters, digits and . _ @ -")
        name = logic.safe_name(image.filename, "upload")
        if image.size is not None and image.size > MAX_UPLOAD_BYTES:
            return _error(413, f"{name}: {image.size / 2**20:.0f} MB is above the "
                               f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB upload limit")
        try:
            model = holder.get(color_strength)
        except ColorStrengthError as err:  # asked for: a bad field; by default: the weights' fault
            return _error(422 if color_strength is not None else 503, str(err))
        except WeightsError as err:
            return _error(503, str(err))
        data = image.file.read(MAX_UPLOAD_BYTES + 1)
        try:
            with holder.run_lock:
                result = logic.colorize_photo(model, data, name, render_size, saturation, max_pixels=MAX_PIXELS)
        except PhotoTooLarge as err:
            return _error(413, str(err))
        except PhotoError as err:
            return _error(400, str(err))
        png = result.png
        item = results.add(uid, result.filename, result.width, result.height, result.seconds, png)
        headers = {
            "Content-Disposition": f'inline; filename="{result.filename}"',
            "X-Result-Id": item.id, "X-Width": str(result.width), "X-Height": str(result.height),
            "X-Seconds": f"{result.seconds:.3f}", "X-Was-Color": str(result.was_color).lower(),
        }
        return Response(png, media_type="image/png", headers=headers)

    @app.get("/results/{user_id}")
    def list_results(user_id: str):
        return results.list(user_id)

    @app.get("/results/{user_id}/{result_id}", responses={200: {"content": {"image/png": {}}}})
    def get_result(user_id: str, result_id: str):
        item = results.get(user_id, result_id)
        if item is None:
            return _error(404, f"no result {result_id} for user {user_id} (results last as long as the server)")
        return Response(item.png, media_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="{item.filename}"'})

    return app


app = create_app()
