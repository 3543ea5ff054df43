"""How the REST API (`ui/rest_api.py`) says no: every refusal is one line of JSON, `{"error": "..."}`, with a
4xx status — never a traceback, never a 5xx for bad input. The CLI's operator errors keep their text:

    401 no or a wrong token          403 the role may not (an operator accepting as normal)
    404 no such inspection or path   405 wrong method            409 the reference store is empty
    411 no Content-Length            413 upload over inputs.max_bytes
    422 missing / bad field, not an image or corrupt (naming the uploaded file), unknown class (naming
        the known ones)
    503 the server's own setup is broken (damaged store, missing weights): the message says what to run.
Anything else is an internal error: 500 with one line; the traceback goes to the server's log only.

`Gate` (ASGI, in front of the routes) checks the token and the upload's declared size before any body is
read, so an unauthenticated or oversized upload is refused without being parsed.
"""

from __future__ import annotations

import logging

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from retrieval.errors import BadInput, EmptyStore, NormalcyError, UnknownClass
from ui.api_access import ApiAccess, Unauthorized

FORM_SLACK = 1 << 20        # a multipart body may exceed its file by this much (boundaries, the other fields)
OPEN_PATHS = ("/health", "/openapi.json")
log = logging.getLogger("normalcy.api")


class ApiError(BaseModel):
    error: str


def refused(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status, headers=headers)


def status_of(exc: NormalcyError) -> int:
    """An operator error's HTTP status: the request's fault (4xx) or the server's setup (503)."""
    if isinstance(exc, EmptyStore):
        return 409
    if isinstance(exc, (UnknownClass, BadInput)):
        return 422
    return 503


def validation_line(exc: RequestValidationError) -> str:
    """FastAPI's list of field errors -> one line naming each field and what is wrong with it."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{field or 'request'}: {error.get('msg', 'invalid')}")
    return ("; ".join(parts) or "invalid request") + " (send multipart form fields image=@FILE and class=NAME)"


def _unauthorized(request, exc: Unauthorized):
    return refused(exc.status, exc, {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)


def _http(request, exc: HTTPException):
    return refused(exc.status_code, exc.detail, getattr(exc, "headers", None))


EXCEPTION_HANDLERS = {
    Unauthorized: _unauthorized,
    NormalcyError: lambda request, exc: refused(status_of(exc), exc),
    RequestValidationError: lambda request, exc: refused(422, validation_line(exc)),
    HTTPException: _http,
}
ERROR_RESPONSES = {status: {"model": ApiError, "description": what} for status, what in (
    (401, "no or an unknown token"), (422, "a missing or bad field"), (500, "internal error (one line)"),
    (503, "the server's setup is broken"))}


class GuardedRoute(APIRoute):
    """A route whose unexpected errors answer 500 with one line (traceback logged), not Starlette's page."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def guarded(request):
            try:
                return await handler(request)
            except (HTTPException, RequestValidationError, NormalcyError, Unauthorized):
                raise
            except Exception as exc:
                log.exception("internal error in %s %s", request.method, request.url.path)
                return refused(500, f"internal error: {type(exc).__name__}: {exc}")
        return guarded


class Gate:
    """ASGI: the caller (from `Authorization`) into `scope["state"]["caller"]`; a POST must declare a
    Content-Length no larger than `max_bytes` + FORM_SLACK (a body without one is refused: 411)."""

    def __init__(self, app, access: ApiAccess, max_bytes: int):
        self.app, self.access, self.max_bytes = app, access, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"][len(scope.get("root_path", "")):] if scope["path"].startswith(
            scope.get("root_path", "")) else scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        answer = None
        if path.rstrip("/") not in OPEN_PATHS:
            try:
                scope.setdefault("state", {})["caller"] = self.access.caller(headers.get("authorization"))
            except Unauthorized as exc:
                answer = _unauthorized(None, exc)
        if answer is None and scope["method"] == "POST":
            answer = self._size_refusal(headers.get("content-length"), "transfer-encoding" in headers)
        if answer is not None:
            return await answer(scope, receive, send)
        return await self.app(scope, receive, send)

    def _size_refusal(self, length: str | None, chunked: bool):
        if length is None:
            return refused(411, "send a Content-Length header with the upload (chunked uploads are not accepted)") \
                if chunked else None
        if not length.strip().isdigit():
            return refused(400, f"the Content-Length header {length[:40]!r} is not a number of bytes")
        if int(length) > self.max_bytes + FORM_SLACK:
            return refused(413, f"the upload is {int(length)} bytes, over the limit of {self.max_bytes}; "
                                "downscale the image or raise inputs.max_bytes")
        return None
