"""HTTP API: `uvicorn colorizer.serving.api:app --port 8000` (or `python -m colorizer.serving`).

    GET    /health                   -> {"status": "ok" | "no_weights" | "weights_error" | "disk_full", "ready", "auth",
                                         "queue": {...}, "memory": {...}, "storage": {...}, ...}
    POST   /colorize                 multipart: image (file); optional render_size (int), saturation (float),
                                     hints (JSON: [{"x", "y", "color": "#rrggbb"}], with hints weights),
                                     user_id (open mode: required) -> image/png
                                     (with paired translation weights: the image translated, e.g.
                                     sketch -> photo; render_size and saturation are ignored)
    POST   /sketch                   multipart: image (a drawing), user_id as above -> {"is_jewelry", "type",
                                     "probability", "probabilities": {class: p}, "result_id", ...}: the jewelry
                                     classifier's answer, and the drawing as a color photo by the best paired
                                     weights in the folder, kept in the user's results (sketch_app)
    GET    /results/{user_id}        -> [{"id", "filename", "width", "height", "seconds", "bytes", "created"}, ...]
    GET    /results/{user_id}/{id}   -> image/png
    DELETE /results/{id}             -> {"deleted": id}

Who asks: `Authorization: Bearer KEY` (keys.py); the key decides the user, and another user's
results answer 404, as if they did not exist. With COLORIZER_API_OPEN=1 (local use) no key is
asked for and the form's user_id decides, as before keys existed; the server says so at start.
Errors are JSON {"detail": ...} (ErrorBody; the OpenAPI schema declares each): 400 unreadable image,
401 missing or unknown key (from the headers, before the body is read: door.py), 403 a form user_id that
is not the key's, 404 unknown result, 408 an upload slower than the upload timeout, 413 too large (a
Content-Length over the limit at once), 422 missing or bad field, 503 no usable weights (for /sketch:
no classifier or no paired weights), busy (with Retry-After) or storage failing, 507 a full disk (faults.py;
/health says so until the disk is writable again). Settings: config.ServeConfig.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import app_logic as logic
from ..checkpoint import WeightsError
from ..images import PhotoError, PhotoTooLarge
from ..limits import ACCEPTED, MAX_HINTS, MAX_PIXELS, MAX_RENDER_SIZE, MAX_UPLOAD_BYTES, MIN_RENDER_SIZE
from ..paired.sketch_app import SketchModels, sketch_result
from .config import ServeConfig
from .door import KEY_HELP, Door
from .faults import STORAGE_ERRORS, Storage, probe_writes
from .gate import Busy, Gate
from .keys import USER_ID, USER_ID_RULE, KeyStore
from .model import ModelHolder
from .store import ResultStore, StoreError

OPEN_NOTE = ("open mode (COLORIZER_API_OPEN=1): no API keys are asked for and the form's user_id decides; "
             "anyone who can reach this server can read and delete anyone's results. For local use only.")
NO_KEYS_NOTE = "no API keys yet: every request will get 401 until one is made: python -m colorizer api-key add USER"
FORM_ALLOWANCE = 2**20  # a request's body: the photo (limits.MAX_UPLOAD_BYTES) and this much for the form
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + FORM_ALLOWANCE
FORM_LIMITS = {"max_files": 1, "max_fields": 16}  # one photo, a handful of fields: more is refused (400)


class ErrorBody(BaseModel):
    """Every error's body: what went wrong, in words (a 422 of a malformed field: FastAPI's list of them)."""

    detail: str | list[dict]


def _declared(*statuses: int) -> dict:
    words = {400: "the photo cannot be read, or the form is malformed", 401: "missing or unknown API key",
             403: "a form user_id that is not the key's user", 404: "no such result (or another user's)",
             408: "the upload did not come within the upload timeout",
             413: "above the upload or pixel limit (a Content-Length over it: at once)",
             422: "a missing or invalid field", 503: "no usable weights, busy (Retry-After), or storage failing",
             507: "the server's disk is full: nothing kept"}
    return {code: {"model": ErrorBody, "description": words[code]} for code in statuses}


PHOTO_ERRORS = _declared(400, 401, 403, 408, 413, 422, 503, 507)
RESULT_ERRORS = _declared(401, 404, 413, 422, 503, 507)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def _busy(message: str, retry_after: int) -> JSONResponse:
    return _error(503, message, {"Retry-After": str(retry_after)})


def memory_mb() -> dict:
    """This process's resident memory now and at its peak, in MB (Linux /proc; else the peak only)."""
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out["rss_mb" if line.startswith("VmRSS") else "peak_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        import resource

        out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def create_app(config: ServeConfig | None = None, **overrides) -> FastAPI:
    """The app for config (default: ServeConfig.from_env()), with overrides (tests, tools) applied."""
    config = dataclasses.replace(config, **overrides) if config else ServeConfig.from_env(**overrides)
    holder = ModelHolder(config.weights, config.weights_dir, config.device)
    sketches = SketchModels(config.weights_dir, config.classifier, device=config.device)
    results = ResultStore.from_config(config)
    keys = KeyStore(config.db_path)
    gate = Gate(config.max_running, config.max_waiting, config.wait_timeout)
    storage = Storage(config.results_dir, probe_writes(results))
    log = logging.getLogger("uvicorn.error")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        removed = results.prepare()  # StoreError naming the folder: the server does not start
        # waiting requests each hold a worker thread: keep threads for /health and /results beside them
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, config.max_running + config.max_waiting + 16)
        if config.open:
            log.warning(OPEN_NOTE)
        elif keys.count() == 0:
            log.warning(NO_KEYS_NOTE)
        log.info(f"results in {config.results_dir}"
                 + (f" ({removed} leftover files of an interrupted write removed)" if removed else "")
                 + f"; at most {config.max_running} colorizing and {config.max_waiting} waiting per worker, "
                   f"{config.wait_timeout:g} s wait")
        yield

    app = FastAPI(title="Colorizer", version="1.2", lifespan=lifespan, form_limits=FORM_LIMITS,
                  description="Colorize black-and-white photos: POST one as multipart `image` with "
                              "`Authorization: Bearer KEY`.")
    app.state.config, app.state.model, app.state.results, app.state.keys, app.state.gate = (
        config, holder, results, keys, gate)
    app.state.sketches, app.state.storage = sketches, storage

    def storage_answer(err: BaseException, what: str) -> JSONResponse:
        status, message = storage.failed(err, what)
        log.error(message)
        return _error(status, message, {"Retry-After": "60"} if status == 503 else None)

    # the key and the declared size before anything reads the body; the body read bounded by size and time
    app.add_middleware(Door, who=None if config.open else lambda token: keys.user_of(token), max_body=MAX_BODY_BYTES,
                       body_timeout=config.upload_timeout,
                       on_error=lambda err: storage.failed(err, "checking the API key")
                       if isinstance(err, STORAGE_ERRORS) else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        """FastAPI says 400 "There was an error parsing the body" for whatever failed while the upload was read:
        a full temp folder is the server's fault (507), not the client's."""
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, STORAGE_ERRORS):
            return storage_answer(cause, "reading the upload")
        return await http_exception_handler(request, exc)

    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    @app.exception_handler(StoreError)
    async def storage_error(request: Request, exc: Exception):
        """The results folder or database failed (a full disk: 507; else 503), said as such, never a 500."""
        return storage_answer(exc, f"{request.method} {request.url.path}")

    bearer = HTTPBearer(auto_error=False, description="an API key: python -m colorizer api-key add USER")

    def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str | None:
        """The key's user, as the door found it (door.py); None in open mode. 401 for a missing or unknown key."""
        if config.open:
            return None
        user = getattr(request.state, "user", None)
        if user is None:  # not through the door (a path it leaves alone): asked here
            user = keys.user_of(credentials.credentials if credentials else None)
        if user is None:
            raise HTTPException(401, f"missing or unknown API key: {KEY_HELP}", headers={"WWW-Authenticate": "Bearer"})
        return user

    def form_user(user: str | None, user_id: str | None, userID: str | None) -> str | JSONResponse:  # noqa: N803
        """Who the result is kept for: the key's user (a form user_id must match it: 403), or in open
        mode the form's user_id (422 when missing or malformed)."""
        asked = (user_id if user_id is not None else userID or "").strip() or None
        if user is None:  # open mode: the form decides
            if asked is None:
                return _error(422, "missing form field user_id")
            if not USER_ID.match(asked):
                return _error(422, f"user_id: {USER_ID_RULE}")
            return asked
        if asked is not None and asked != user:
            return _error(403, f"user_id {asked[:128]!r} is not this API key's user (leave it out: the key decides)")
        return user

    def too_large(image: UploadFile, name: str) -> JSONResponse | None:
        if image.size is not None and image.size > MAX_UPLOAD_BYTES:
            return _error(413, f"{name}: {image.size / 2**20:.0f} MB is above the "
                               f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB upload limit")
        return None

    def keep(user: str, result) -> tuple[str, bool, str | None]:
        """Store a result (logic.PhotoResult or SketchResult) -> (its id, kept, why not). A full disk keeps
        nothing, but the photo made is still answered (X-Result-Kept: false, X-Result-Error saying why), and
        /health says the disk is full until it is writable again."""
        try:
            item = results.add(user, result.filename, result.width, result.height, result.seconds, result.png)
        except STORAGE_ERRORS as err:
            _, message = storage.failed(err, f"result for {user} not kept")
            log.error(message)
            return "", False, message
        storage.ok()
        return item.id, item.kept, None

    @app.get("/health")
    def health():
        out = {"auth": "open" if config.open else "api_key", "queue": gate.snapshot(), "memory": memory_mb(),
               "storage": storage.snapshot(), "pid": os.getpid()}
        if not out["storage"]["ok"]:  # a full disk: nothing can be kept or uploaded until it is freed
            return {"status": out["storage"]["status"], "ready": False, "message": out["storage"]["message"], **out}
        try:
            path = holder.path()
        except WeightsError as err:
            return {"status": "no_weights", "ready": False, "message": str(err), **out}
        if holder.model is None and holder.error:
            return {"status": "weights_error", "ready": False, "weights": str(path), "message": holder.error, **out}
        out = {"status": "ok", "ready": True, "weights": str(path), "model_loaded": holder.model is not None, **out}
        if holder.model is not None:
            model = holder.model
            out.update(task=logic.task_of(model.meta), stage=model.meta.get("stage"), device=str(model.device),
                       backend=model.backend)
            if not logic.is_paired(model):
                out.update(color_strength=model.color_strength)
        return out

    @app.post("/colorize", responses={200: {"content": {"image/png": {}}}, **PHOTO_ERRORS})
    def colorize(image: UploadFile = File(..., description=f"the photo: {ACCEPTED}"),
                 user_id: str | None = Form(None, description="open mode: who the result is kept for; "
                                                               "with a key: optional, must be the key's user"),
                 userID: str | None = Form(None, description="the same as user_id (older clients)"),  # noqa: N803
                 render_size: int | None = Form(None, ge=MIN_RENDER_SIZE, le=MAX_RENDER_SIZE),
                 saturation: float = Form(1.0, ge=0.0, le=3.0),
                 hints: str | None = Form(None, description='color hints, JSON: [{"x": 120, "y": 80, "color": '
                                                            '"#c0392b"}, ...] in the photo\'s pixels, at most '
                                                            f'{MAX_HINTS}; run by the hints weights in the folder'),
                 user: str | None = Depends(caller)):
        user = form_user(user, user_id, userID)
        if isinstance(user, JSONResponse):
            return user
        name = logic.safe_name(image.filename, "upload")
        if (refused := too_large(image, name)) is not None:
            return refused
        given = None
        if hints and hints.strip():
            from ..hints import parse_hints_json  # only here: it imports torch, which the onnx path does without

            try:
                given = parse_hints_json(hints, "hints") or None
            except ValueError as err:  # hints.HintError
                return _error(422, str(err))
        try:
            model = holder.with_hints() if given else holder.get()
        except WeightsError as err:  # hints asked of a server without hints weights: the request's fault
            return _error(422 if given else 503, str(err))
        try:  # the upload is in (a slow one held no place); read into memory only in turn: max_running at once
            with gate.place(), gate.turn() as waited:
                data = image.file.read(MAX_UPLOAD_BYTES + 1)
                result = logic.process_photo(model, data, name, render_size, saturation, max_pixels=MAX_PIXELS,
                                             hints=given)
                png = result.png
        except Busy as err:
            return _busy(str(err), err.retry_after)
        except PhotoTooLarge as err:
            return _error(413, str(err))
        except PhotoError as err:
            return _error(400, str(err))
        except ValueError as err:  # hints.HintError: a hint off the photo, too many
            if not given:
                raise
            return _error(422, f"hints: {err}")
        result_id, kept, why = keep(user, result)
        headers = {
            "Content-Disposition": f'inline; filename="{result.filename}"',
            "X-Result-Id": result_id, "X-Result-Kept": str(kept).lower(),
            "X-Width": str(result.width), "X-Height": str(result.height),
            "X-Seconds": f"{result.seconds:.3f}", "X-Queue-Seconds": f"{waited:.3f}",
            "X-Was-Color": str(result.was_color).lower(), "X-Task": "paired" if result.paired else "colorize",
            "X-Hints": str(len(given or [])),
        }
        if why:
            headers["X-Result-Error"] = why.encode("ascii", "replace").decode()[:300]
        return Response(png, media_type="image/png", headers=headers)

    @app.post("/sketch", responses=PHOTO_ERRORS)
    def sketch(image: UploadFile = File(..., description=f"the drawing (or a photo): {ACCEPTED}"),
               user_id: str | None = Form(None, description="open mode: who the result is kept for; "
                                                             "with a key: optional, must be the key's user"),
               userID: str | None = Form(None, description="the same as user_id (older clients)"),  # noqa: N803
               user: str | None = Depends(caller)):
        """Is it jewelry, which type (every class's probability), and the drawing as a color photo, kept
        in the user's results: GET /results/{user_id}/{result_id} returns its PNG."""
        user = form_user(user, user_id, userID)
        if isinstance(user, JSONResponse):
            return user
        name = logic.safe_name(image.filename, "upload")
        if (refused := too_large(image, name)) is not None:
            return refused
        try:
            classifier, translator = sketches.load()
        except WeightsError as err:  # no classifier, no paired weights: the server's, not the request's
            return _error(503, str(err))
        try:
            with gate.place(), gate.turn() as waited:
                result = sketch_result(classifier, translator, image.file.read(MAX_UPLOAD_BYTES + 1), name,
                                       max_pixels=MAX_PIXELS)
                png = result.png
        except Busy as err:
            return _busy(str(err), err.retry_after)
        except PhotoTooLarge as err:
            return _error(413, str(err))
        except PhotoError as err:
            return _error(400, str(err))
        result_id, kept, why = keep(user, result)
        return {**result.answer(), "result_error": why, "result_id": result_id if kept else None, "result_kept": kept,
                "result_url": f"/results/{user}/{result_id}" if kept else None, "filename": result.filename,
                "width": result.width, "height": result.height, "bytes": len(png),
                "seconds": round(result.seconds, 3), "queue_seconds": round(waited, 3)}

    @app.get("/results/{user_id}", responses=RESULT_ERRORS)
    def list_results(user_id: str, user: str | None = Depends(caller)):
        if user is not None and user_id != user:
            return _error(404, f"no results for user {user_id[:128]}")
        return [r.info() for r in results.list(user_id)]

    @app.get("/results/{user_id}/{result_id}", responses={200: {"content": {"image/png": {}}}, **RESULT_ERRORS})
    def get_result(user_id: str, result_id: str, user: str | None = Depends(caller)):
        found = results.get(user_id, result_id) if user is None or user_id == user else None
        if found is None:
            return _error(404, f"no result {result_id[:64]} for user {user_id[:128]}")
        item, png = found
        return Response(png, media_type="image/png",
                        headers={"Content-Disposition": f'inline; filename="{item.filename}"'})

    @app.delete("/results/{result_id}", responses=RESULT_ERRORS)
    def delete_result(result_id: str, user: str | None = Depends(caller)):
        if not results.delete(user, result_id):
            return _error(404, f"no result {result_id[:64]}" + (f" for user {user}" if user else ""))
        return {"deleted": result_id}

    return app


app = create_app()
