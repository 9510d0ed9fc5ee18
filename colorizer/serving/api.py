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

Here: the app put together (its parts on app.state, the door, the handlers, the router). The routes and
their dependencies: routes.py; the error body and the handlers from exceptions to statuses: errors.py.
"""
from __future__ import annotations

import dataclasses
import logging
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from ..limits import MAX_UPLOAD_BYTES
from ..paired.sketch_app import SketchModels
from .config import ServeConfig
from .door import Door
from .errors import add_handlers
from .faults import STORAGE_ERRORS, Storage, probe_writes
from .gate import Gate
from .keys import KeyStore
from .model import ModelHolder
from .routes import router
from .store import ResultStore

OPEN_NOTE = ("open mode (COLORIZER_API_OPEN=1): no API keys are asked for and the form's user_id decides; "
             "anyone who can reach this server can read and delete anyone's results. For local use only.")
NO_KEYS_NOTE = "no API keys yet: every request will get 401 until one is made: python -m colorizer api-key add USER"
FORM_ALLOWANCE = 2**20  # a request's body: the photo (limits.MAX_UPLOAD_BYTES) and this much for the form
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + FORM_ALLOWANCE
FORM_LIMITS = {"max_files": 1, "max_fields": 16}  # one photo, a handful of fields: more is refused (400)
log = logging.getLogger("uvicorn.error")


@asynccontextmanager
async def lifespan(app: FastAPI):
    """At start: the results folder prepared (a StoreError naming it: the server does not start), enough
    worker threads, and what the operator should know said in the log."""
    config, keys = app.state.config, app.state.keys
    removed = app.state.results.prepare()
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


def create_app(config: ServeConfig | None = None, **overrides) -> FastAPI:
    """The app for config (default: ServeConfig.from_env()), with overrides (tests, tools) applied: the
    server's parts on app.state (the routes get them as dependencies: routes.py), the error handlers
    (errors.py), the door (door.py) and the routes."""
    config = dataclasses.replace(config, **overrides) if config else ServeConfig.from_env(**overrides)
    app = FastAPI(title="Colorizer", version="1.2", lifespan=lifespan, form_limits=FORM_LIMITS,
                  description="Colorize black-and-white photos: POST one as multipart `image` with "
                              "`Authorization: Bearer KEY`.")
    state = app.state
    state.config = config
    state.model = ModelHolder(config.weights, config.weights_dir, config.device)
    state.sketches = SketchModels(config.weights_dir, config.classifier, device=config.device)
    state.results = ResultStore.from_config(config)
    state.keys = KeyStore(config.db_path)
    state.gate = Gate(config.max_running, config.max_waiting, config.wait_timeout)
    state.storage = Storage(config.results_dir, probe_writes(state.results))
    add_handlers(app)
    # the key and the declared size before anything reads the body; the body read bounded by size and time
    app.add_middleware(Door, who=None if config.open else lambda token: state.keys.user_of(token),
                       max_body=MAX_BODY_BYTES, body_timeout=config.upload_timeout,
                       on_error=lambda err: state.storage.failed(err, "checking the API key")
                       if isinstance(err, STORAGE_ERRORS) else None)
    app.include_router(router)
    return app


app = create_app()
