"""The API's routes (one APIRouter) and what they depend on.

The server's parts live on app.state (api.create_app puts them there) and reach a route as typed
dependencies: Config, Holder (the colorizer), Sketches, Results, Keys, Turns (the gate), Disk (storage).
Who asks is the `caller` dependency (the door found the key's user: door.py). Failures are raised and
answered by the app's exception handlers (errors.py), so a route reads as what it does.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import app_logic as logic
from ..card import WeightsCard
from ..checkpoint import WeightsError
from ..images import PhotoError
from ..limits import ACCEPTED, MAX_HINTS, MAX_PIXELS, MAX_RENDER_SIZE, MAX_UPLOAD_BYTES, MIN_RENDER_SIZE
from ..paired.sketch_app import SketchModels, sketch_result
from .config import ServeConfig
from .door import KEY_HELP
from .errors import PHOTO_ERRORS, RESULT_ERRORS, storage_failed
from .faults import STORAGE_ERRORS, Storage
from .gate import Gate
from .keys import USER_ID, USER_ID_RULE, KeyStore
from .model import ModelHolder
from .store import ResultStore

router = APIRouter()


def _on_state(name: str):
    def part(request: Request):
        return getattr(request.app.state, name)

    part.__name__ = f"state_{name}"
    return Depends(part)


Config = Annotated[ServeConfig, _on_state("config")]
Holder = Annotated[ModelHolder, _on_state("model")]
Sketches = Annotated[SketchModels, _on_state("sketches")]
Results = Annotated[ResultStore, _on_state("results")]
Keys = Annotated[KeyStore, _on_state("keys")]
Turns = Annotated[Gate, _on_state("gate")]
Disk = Annotated[Storage, _on_state("storage")]

bearer = HTTPBearer(auto_error=False, description="an API key: python -m colorizer api-key add USER")


def caller(request: Request, config: Config, keys: Keys,
           credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str | None:
    """The key's user, as the door found it (door.py); None in open mode. 401 for a missing or unknown key."""
    if config.open:
        return None
    user = getattr(request.state, "user", None)
    if user is None:  # not through the door (a path it leaves alone): asked here
        user = keys.user_of(credentials.credentials if credentials else None)
    if user is None:
        raise HTTPException(401, f"missing or unknown API key: {KEY_HELP}", headers={"WWW-Authenticate": "Bearer"})
    return user


Caller = Annotated[str | None, Depends(caller)]

USER_ID_HELP = "open mode: who the result is kept for; with a key: optional, must be the key's user"
OLD_USER_ID_HELP = "the same as user_id (older clients)"


def kept_for(user: str | None, user_id: str | None, userID: str | None) -> str:  # noqa: N803
    """Who the result is kept for: the key's user (a form user_id must match it: 403), or in open
    mode the form's user_id (422 when missing or malformed)."""
    asked = (user_id if user_id is not None else userID or "").strip() or None
    if user is None:  # open mode: the form decides
        if asked is None:
            raise HTTPException(422, "missing form field user_id")
        if not USER_ID.match(asked):
            raise HTTPException(422, f"user_id: {USER_ID_RULE}")
        return asked
    if asked is not None and asked != user:
        raise HTTPException(403, f"user_id {asked[:128]!r} is not this API key's user (leave it out: the key decides)")
    return user


def upload_name(image: UploadFile) -> str:
    """The upload's safe file name; 413 when the file alone is above the upload limit."""
    name = logic.safe_name(image.filename, "upload")
    if image.size is not None and image.size > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"{name}: {image.size / 2**20:.0f} MB is above the "
                                 f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB upload limit")
    return name


def read_upload(image: UploadFile) -> bytes:
    return image.file.read(MAX_UPLOAD_BYTES + 1)


def given_hints(hints: str | None) -> list | None:
    """The form's hints parsed (None without any); 422 when they are malformed."""
    if not (hints and hints.strip()):
        return None
    from ..hints import parse_hints_json  # only here: it imports torch, which the onnx path does without

    try:
        return parse_hints_json(hints, "hints") or None
    except ValueError as err:  # hints.HintError
        raise HTTPException(422, str(err)) from err


def colorizer_for(holder: ModelHolder, given: list | None):
    """The model a photo is colorized by: the hints weights when hints are given (none on the server: 422,
    the request asked for what the server does not do), else the served weights (none: 503)."""
    if not given:
        return holder.get()
    try:
        return holder.with_hints()
    except WeightsError as err:
        raise HTTPException(422, str(err)) from err


@contextmanager
def hints_refused(given: list | None):
    """A hint the photo refuses (off the photo, too many) is 422; without hints a ValueError is a bug, passed on."""
    try:
        yield
    except ValueError as err:
        if not given or isinstance(err, PhotoError):
            raise
        raise HTTPException(422, f"hints: {err}") from err


def keep(results: ResultStore, storage: Storage, user: str, result) -> tuple[str, bool, str | None]:
    """Store a result (logic.PhotoResult or SketchResult) -> (its id, kept, why not). A full disk keeps
    nothing, but the photo made is still answered (X-Result-Kept: false, X-Result-Error saying why), and
    /health says the disk is full until it is writable again."""
    try:
        item = results.add(user, result.filename, result.width, result.height, result.seconds, result.png)
    except STORAGE_ERRORS as err:
        _, message = storage_failed(storage, err, f"result for {user} not kept")
        return "", False, message
    storage.ok()
    return item.id, item.kept, None


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


def weights_status(holder: ModelHolder, out: dict) -> dict:
    """/health's answer from the weights' state: no_weights, weights_error, or ok with what is loaded."""
    try:
        path = holder.path()
    except WeightsError as err:
        return {"status": "no_weights", "ready": False, "message": str(err), **out}
    if holder.model is None and holder.error:
        return {"status": "weights_error", "ready": False, "weights": str(path), "message": holder.error, **out}
    out = {"status": "ok", "ready": True, "weights": str(path), "model_loaded": holder.model is not None, **out}
    if holder.model is not None:
        model, card = holder.model, WeightsCard.from_meta(holder.model.meta)
        out.update(task=card.task, stage=card.stage, device=str(model.device), backend=model.backend)
        if not logic.is_paired(model):
            out.update(color_strength=model.color_strength)
    return out


@router.get("/health")
def health(config: Config, holder: Holder, gate: Turns, storage: Disk):
    out = {"auth": "open" if config.open else "api_key", "queue": gate.snapshot(), "memory": memory_mb(),
           "storage": storage.snapshot(), "pid": os.getpid()}
    if not out["storage"]["ok"]:  # a full disk: nothing can be kept or uploaded until it is freed
        return {"status": out["storage"]["status"], "ready": False, "message": out["storage"]["message"], **out}
    return weights_status(holder, out)


@router.post("/colorize", responses={200: {"content": {"image/png": {}}}, **PHOTO_ERRORS})
def colorize(user: Caller, holder: Holder, gate: Turns, results: Results, storage: Disk,
             image: UploadFile = File(..., description=f"the photo: {ACCEPTED}"),
             user_id: str | None = Form(None, description=USER_ID_HELP),
             userID: str | None = Form(None, description=OLD_USER_ID_HELP),  # noqa: N803
             render_size: int | None = Form(None, ge=MIN_RENDER_SIZE, le=MAX_RENDER_SIZE),
             saturation: float = Form(1.0, ge=0.0, le=3.0),
             hints: str | None = Form(None, description='color hints, JSON: [{"x": 120, "y": 80, "color": '
                                                        '"#c0392b"}, ...] in the photo\'s pixels, at most '
                                                        f'{MAX_HINTS}; run by the hints weights in the folder')):
    owner = kept_for(user, user_id, userID)
    name = upload_name(image)
    given = given_hints(hints)
    model = colorizer_for(holder, given)
    # the upload is in (a slow one held no place); read into memory only in turn: max_running at once
    with gate.place(), gate.turn() as waited, hints_refused(given):
        result = logic.process_photo(model, read_upload(image), name, render_size, saturation,
                                     max_pixels=MAX_PIXELS, hints=given)
        png = result.png
    result_id, kept, why = keep(results, storage, owner, result)
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


@router.post("/sketch", responses=PHOTO_ERRORS)
def sketch(user: Caller, sketches: Sketches, gate: Turns, results: Results, storage: Disk,
           image: UploadFile = File(..., description=f"the drawing (or a photo): {ACCEPTED}"),
           user_id: str | None = Form(None, description=USER_ID_HELP),
           userID: str | None = Form(None, description=OLD_USER_ID_HELP)):  # noqa: N803
    """Is it jewelry, which type (every class's probability), and the drawing as a color photo, kept
    in the user's results: GET /results/{user_id}/{result_id} returns its PNG."""
    owner = kept_for(user, user_id, userID)
    name = upload_name(image)
    classifier, translator = sketches.load()  # no classifier, no paired weights: 503
    with gate.place(), gate.turn() as waited:
        result = sketch_result(classifier, translator, read_upload(image), name, max_pixels=MAX_PIXELS)
        png = result.png
    result_id, kept, why = keep(results, storage, owner, result)
    return {**result.answer(), "result_error": why, "result_id": result_id if kept else None, "result_kept": kept,
            "result_url": f"/results/{owner}/{result_id}" if kept else None, "filename": result.filename,
            "width": result.width, "height": result.height, "bytes": len(png),
            "seconds": round(result.seconds, 3), "queue_seconds": round(waited, 3)}


@router.get("/results/{user_id}", responses=RESULT_ERRORS)
def list_results(user_id: str, user: Caller, results: Results):
    if user is not None and user_id != user:
        raise HTTPException(404, f"no results for user {user_id[:128]}")
    return [r.info() for r in results.list(user_id)]


@router.get("/results/{user_id}/{result_id}", responses={200: {"content": {"image/png": {}}}, **RESULT_ERRORS})
def get_result(user_id: str, result_id: str, user: Caller, results: Results):
    found = results.get(user_id, result_id) if user is None or user_id == user else None
    if found is None:
        raise HTTPException(404, f"no result {result_id[:64]} for user {user_id[:128]}")
    item, png = found
    return Response(png, media_type="image/png", headers={"Content-Disposition": f'inline; filename="{item.filename}"'})


@router.delete("/results/{result_id}", responses=RESULT_ERRORS)
def delete_result(result_id: str, user: Caller, results: Results):
    if not results.delete(user, result_id):
        raise HTTPException(404, f"no result {result_id[:64]}" + (f" for user {user}" if user else ""))
    return {"deleted": result_id}
