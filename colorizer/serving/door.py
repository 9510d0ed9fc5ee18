"""The door: what a request must show before anything reads its body (a pure ASGI middleware).

    1. its API key, from the Authorization header (not in open mode): 401 at once when missing or unknown,
       so a client without a key never gets its upload read, a temp file, a thread or a queue place;
    2. its declared size: a Content-Length above the body limit is 413 at once;
    3. then the body, read as the route asks for it, bounded by size (413 when it grows past the limit
       without a Content-Length) and by time (408 when the whole of it has not come within the timeout);
       a multipart body that ends without its closing boundary is 400 (cut short), not a "Field required"
       422 about the file that was cut.

The key's user is left in the request's state (`request.state.user`) for the routes. Public paths
(/health, the docs) pass as they are. Answers are JSON {"detail": ...}, as everywhere in the API.
"""
from __future__ import annotations

import json
import time
from typing import Callable

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from fastapi import HTTPException  # FastAPI passes its own on from the body read; others become a 400
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PUBLIC = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
KEY_HELP = "send 'Authorization: Bearer KEY' (python -m colorizer api-key add USER makes one)"


def bearer_token(headers: Headers) -> str | None:
    """The key of an 'Authorization: Bearer KEY' header, else None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def send_json(send: Send, status: int, body: dict, headers: dict | None = None) -> None:
    """A whole JSON answer, sent straight to the server (no app behind it)."""
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


TAIL_BYTES = 4096  # the close delimiter is looked for in the body's last bytes (an epilogue after it: at most this)


def multipart_close(headers: Headers) -> bytes | None:
    """The close delimiter (--BOUNDARY--) a multipart/form-data body must hold at its end, else None."""
    from python_multipart.multipart import parse_options_header

    kind, options = parse_options_header(headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    return b"--" + boundary + b"--" if kind == b"multipart/form-data" and boundary else None


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def too_large_message(size: int | None, limit: int) -> str:
    said = _size(size) if size is not None else "the request body"
    return f"{said} is above the {_size(limit)} limit of a request (the photo and its form fields)"


class Door:
    """The middleware; who(token) -> the key's user or None (run in a worker thread: it reads SQLite);
    on_error(exception) -> (status, message) or None, for a key store that fails (a full disk)."""

    def __init__(self, app: ASGIApp, who: Callable[[str | None], str | None] | None, max_body: int,
                 body_timeout: float, on_error: Callable[[BaseException], tuple[int, str] | None] = lambda e: None):
        self.app, self.who, self.max_body, self.body_timeout, self.on_error = (
            app, who, max_body, body_timeout, on_error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC:
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        if self.who is not None:  # keys asked for (not open mode)
            try:
                user = await anyio.to_thread.run_sync(self.who, bearer_token(headers))
            except Exception as err:  # noqa: BLE001 - the key store failed: the server's fault, said as such
                answer = self.on_error(err)
                if answer is None:
                    raise
                return await send_json(send, answer[0], {"detail": answer[1]})
            if user is None:
                return await send_json(send, 401, {"detail": f"missing or unknown API key: {KEY_HELP}"},
                                       {"WWW-Authenticate": "Bearer"})
            scope.setdefault("state", {})["user"] = user
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return await send_json(send, 413, {"detail": too_large_message(int(declared), self.max_body)},
                                   {"Connection": "close"})
        await self.app(scope, self._bounded(receive, multipart_close(headers)), send)

    def _bounded(self, receive: Receive, close: bytes | None) -> Receive:
        """receive, refusing a body past max_body (413), one still coming body_timeout after the first read
        (408), or a multipart body without its close delimiter (400); raised as HTTPException, which FastAPI's
        body parsing passes on to the exception handlers."""
        read, deadline, done, tail = 0, None, False, b""

        async def bounded() -> Message:
            nonlocal read, deadline, done, tail
            if done:  # the body is in: what follows is a disconnect, however long it takes
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + self.body_timeout
            try:
                with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408, f"the request body did not come within {self.body_timeout:g} s "
                                         f"({read} bytes read)", headers={"Connection": "close"}) from None
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                read += len(chunk)
                if read > self.max_body:
                    raise HTTPException(413, too_large_message(None, self.max_body), headers={"Connection": "close"})
                done = not message.get("more_body", False)
                if close is not None:
                    tail = (tail + chunk)[-(len(close) + TAIL_BYTES):]
                    if done and read and close not in tail:
                        raise HTTPException(400, f"the multipart body ends before its closing boundary "
                                                 f"({close.decode('latin-1')[:80]}): cut short after {read} bytes")
            return message

        return bounded
