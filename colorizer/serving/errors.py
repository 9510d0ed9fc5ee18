"""The API's errors: one JSON body, {"detail": ...} (ErrorBody), the statuses each route declares in the
OpenAPI schema, and the app-level handlers that turn the project's exceptions into them:

    PhotoError                                400 the photo cannot be read
    PhotoTooLarge                             413 above the pixel limit
    Busy                                      503 with Retry-After: no place in the queue, or waited too long
    WeightsError                              503 no usable weights on the server
    OSError, sqlite3.Error, StoreError        507 a full disk, else 503: the server's storage failed (faults.py)
    HTTPException                             as raised (routes: 403, 404, 413, 422), except FastAPI's 400 for
                                              an upload that failed to spool because the disk is full: 507

A route raises and the handler answers; a refusal of the request's own (a bad field, another user's
result) is an HTTPException raised where it is found.
"""
from __future__ import annotations

import logging
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..checkpoint import WeightsError
from ..images import PhotoError, PhotoTooLarge
from .faults import STORAGE_ERRORS, Storage
from .gate import Busy
from .store import StoreError

log = logging.getLogger("uvicorn.error")


class ErrorBody(BaseModel):
    """Every error's body: what went wrong, in words (a 422 of a malformed field: FastAPI's list of them)."""

    detail: str | list[dict]


WORDS = {400: "the photo cannot be read, or the form is malformed", 401: "missing or unknown API key",
         403: "a form user_id that is not the key's user", 404: "no such result (or another user's)",
         408: "the upload did not come within the upload timeout",
         413: "above the upload or pixel limit (a Content-Length over it: at once)",
         422: "a missing or invalid field", 503: "no usable weights, busy (Retry-After), or storage failing",
         507: "the server's disk is full: nothing kept"}


def declared(*statuses: int) -> dict:
    """A route's `responses=`: each status with ErrorBody and what it means."""
    return {code: {"model": ErrorBody, "description": WORDS[code]} for code in statuses}


PHOTO_ERRORS = declared(400, 401, 403, 408, 413, 422, 503, 507)
RESULT_ERRORS = declared(401, 404, 413, 422, 503, 507)


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def storage_failed(storage: Storage, err: BaseException, what: str) -> tuple[int, str]:
    """Record (and log) a storage failure met while doing `what`: (507 for a full disk, else 503; message)."""
    status, message = storage.failed(err, what)
    log.error(message)
    return status, message


def storage_answer(storage: Storage, err: BaseException, what: str) -> JSONResponse:
    status, message = storage_failed(storage, err, what)
    return error(status, message, {"Retry-After": "60"} if status == 503 else None)


async def http_error(request: Request, exc: StarletteHTTPException):
    """FastAPI says 400 "There was an error parsing the body" for whatever failed while the upload was read:
    a full temp folder is the server's fault (507), not the client's."""
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, STORAGE_ERRORS):
        return storage_answer(request.app.state.storage, cause, "reading the upload")
    return await http_exception_handler(request, exc)


async def storage_error(request: Request, exc: Exception):
    """The results folder or database failed (a full disk: 507; else 503), said as such, never a 500."""
    return storage_answer(request.app.state.storage, exc, f"{request.method} {request.url.path}")


async def busy(request: Request, exc: Busy):
    return error(503, str(exc), {"Retry-After": str(exc.retry_after)})


async def photo_too_large(request: Request, exc: PhotoTooLarge):
    return error(413, str(exc))


async def photo_error(request: Request, exc: PhotoError):
    return error(400, str(exc))


async def no_weights(request: Request, exc: WeightsError):
    """No usable weights (none in the folder, no classifier, no paired weights): the server's, not the request's."""
    return error(503, str(exc))


HANDLERS = {StarletteHTTPException: http_error, OSError: storage_error, sqlite3.Error: storage_error,
            StoreError: storage_error, Busy: busy, PhotoTooLarge: photo_too_large, PhotoError: photo_error,
            WeightsError: no_weights}


def add_handlers(app: FastAPI) -> None:
    """The handlers above on app; they find the server's Storage on app.state.storage."""
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
