"""The REST API for line integration, served beside the chat by `normalcy serve` under /api/v1:

    POST /api/v1/inspect             multipart: image (file), class (a class name, or "auto"), question (optional)
                                     -> the verdict JSON `normalcy inspect --json` prints, plus its inspection "id"
    GET  /api/v1/inspections/{id}    the same JSON again, from the run log
    POST /api/v1/inspections/{id}/accept   engineers only: add the inspected image to its class's references
    GET  /api/v1/classes             the classes in the store and their number of references
    GET  /api/v1/health              up, and in which mode (no token needed)
    GET  /api/v1/openapi.json        this API's OpenAPI schema (no token needed)

Who may call it: `ui/api_access.py` (bearer tokens with the chat's roles). How it refuses: `ui/api_errors.py`.
An inspection runs like the chat's: the upload is size-checked and decoded before it takes the
`InspectorQueue` lock the chat's handlers share, so one slow upload holds no one else up. Operators read
the inspections their token ran; engineers read any.
"""

from __future__ import annotations

import dataclasses
import functools
import re

import anyio

from fastapi import Depends, FastAPI, File, Form, Path, Request, Security, UploadFile
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from assistant.verdict import Verdict
from retrieval.errors import NormalcyError
from ui.api_access import ApiAccess, Caller
from ui.api_errors import ERROR_RESPONSES, EXCEPTION_HANDLERS, ApiError, Gate, GuardedRoute, refused
from ui.chat_handlers import AUTO_CLASS
from ui.inspector_queue import InspectorQueue

PREFIX = "/api/v1"
API_THREADS = 4             # API inspections and accepts in flight at once (waiting for the lock or decoding)
InspectionResult = dataclasses.make_dataclass(
    "InspectionResult", [("id", str, dataclasses.field(kw_only=True))], bases=(Verdict,), frozen=True)
InspectionResult.__doc__ = "The verdict (assistant/verdict.py) as `normalcy inspect --json` prints it, and its id."


class ClassInfo(BaseModel):
    name: str
    references: int


class Classes(BaseModel):
    classes: list[ClassInfo]


class Health(BaseModel):
    status: str
    mode: str               # "vision-only" or "model"
    model: str | None
    classes: int


class Accepted(BaseModel):
    id: str
    class_name: str
    added: bool             # false: the image already was a reference of the class
    threshold_before: float
    threshold_after: float
    references: int
    summary: str


def _errors(*statuses: int) -> dict:
    described = {409: "the reference store is empty", 404: "no such inspection (for this token)",
                 403: "the token's role may not", 411: "no Content-Length", 413: "the upload is too large",
                 400: "the body is not valid multipart form data"}
    return {**ERROR_RESPONSES, **{s: {"model": ApiError, "description": described[s]} for s in statuses}}


def uploaded_name(upload: UploadFile) -> str:
    """The file name the client sent, as one safe line (errors and History name it)."""
    name = re.split(r"[\\/]", upload.filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or "the uploaded image"


def create_api(inspector, queue: InspectorQueue, access: ApiAccess) -> FastAPI:
    """The API over `inspector` (mount it at PREFIX); `queue`: the lock the chat's handlers hold."""
    api = FastAPI(title="Normalcy inspection API", version="1", docs_url=None, redoc_url=None,
                  exception_handlers=EXCEPTION_HANDLERS)
    api.router.route_class = GuardedRoute
    api.add_middleware(Gate, access=access, max_bytes=inspector.config.inputs.max_bytes)
    routes = ApiRoutes(inspector, queue, access)
    api.add_api_route("/health", routes.health, response_model=Health, responses=_errors())
    api.add_api_route("/classes", routes.classes, response_model=Classes, responses=_errors())
    api.add_api_route("/inspect", routes.inspect, methods=["POST"], response_model=InspectionResult,
                      responses=_errors(400, 409, 411, 413))
    api.add_api_route("/inspections/{inspection_id}", routes.inspection, response_model=InspectionResult,
                      responses=_errors(404))
    api.add_api_route("/inspections/{inspection_id}/accept", routes.accept, methods=["POST"],
                      response_model=Accepted, responses=_errors(400, 403, 404, 411))
    return api


_bearer = HTTPBearer(auto_error=False, description="A token from the server's --api-tokens file")


def caller(request: Request, _=Security(_bearer)) -> Caller:     # Security: the scheme shows in the schema
    return request.state.caller                                   # set by the Gate


class ApiRoutes:
    """The endpoints. Reads are plain functions (FastAPI runs them on its worker threads); what takes the
    Inspector lock runs on `API_THREADS` threads of its own (`_on_own_threads`)."""

    def __init__(self, inspector, queue: InspectorQueue, access: ApiAccess):
        self.inspector, self.queue, self.access = inspector, queue, access
        self.threads = anyio.CapacityLimiter(API_THREADS)

    def health(self) -> Health:
        model = self.inspector.model_id()
        return Health(status="ok", mode="model" if model else "vision-only", model=model,
                      classes=len(self.inspector.classes()))

    def classes(self, who: Caller = Depends(caller)) -> Classes:
        return Classes(classes=[ClassInfo(name=n, references=k) for n, k in self.inspector.classes().items()])

    async def inspect(self, image: UploadFile = File(description="The part: PNG, JPEG, BMP, TIFF, WEBP or GIF"),
                      class_name: str = Form(alias="class", min_length=1, max_length=200,
                                             description=f'The product class, or "{AUTO_CLASS}" (the nearest class)'),
                      question: str | None = Form(None, max_length=4000, description="The operator's question"),
                      who: Caller = Depends(caller)):
        limit, name = self.inspector.config.inputs.max_bytes, uploaded_name(image)
        data = await image.read(limit + 1)
        if len(data) > limit:
            return refused(413, f"{name} is over the limit of {limit} bytes; downscale it or raise inputs.max_bytes")
        question = (question or "").strip() or None
        return await self._on_own_threads(self._inspect, data, name, class_name, question, who)

    def _inspect(self, data: bytes, name: str, class_name: str, question: str | None, who: Caller) -> dict:
        inspector = self.inspector
        query = inspector.load(data, name=name, class_name=class_name)        # decoded outside the lock
        query = dataclasses.replace(query, path=name)
        with self.queue.lock:
            if query.rendered is not None:                 # a point cloud / series: rendered for its class
                class_name = query.rendered.class_name
            elif class_name == AUTO_CLASS:
                class_name = inspector.guess_class(query)[0]
            inspection = inspector.inspect(query, class_name, question=question)
            inspector.history.claim(inspection.id, who.owner)
        return {"id": inspection.id, **inspection.verdict.to_dict()}

    def inspection(self, inspection_id: str = Path(max_length=64), who: Caller = Depends(caller)):
        return {"id": inspection_id, **_past(self.inspector, inspection_id, who).verdict}

    async def accept(self, inspection_id: str = Path(max_length=64), who: Caller = Depends(caller)) -> Accepted:
        self.access.require_engineer(who, "accept an image as normal")
        return await self._on_own_threads(self._accept, inspection_id, who)

    async def _on_own_threads(self, work, *args):
        """Work that may wait for the lock runs on the API's own few threads, never on the pool Gradio's
        handlers share: a queue of line machines cannot starve the chat of threads."""
        return await anyio.to_thread.run_sync(functools.partial(work, *args), limiter=self.threads)

    def _accept(self, inspection_id: str, who: Caller) -> Accepted:
        _past(self.inspector, inspection_id, who)
        with self.queue.lock:
            addition = self.inspector.accept_as_normal(self.inspector.reopen(inspection_id))
        return Accepted(id=inspection_id, class_name=addition.class_name, added=addition.added,
                        threshold_before=addition.threshold_before, threshold_after=addition.threshold_after,
                        references=addition.n_references, summary=addition.summary())


def _past(inspector, inspection_id: str, who: Caller):
    """The logged inspection: any for an engineer, only the token's own for an operator; else 404."""
    try:
        return inspector.history.get(inspection_id, None if who.role == "engineer" else who.owner)
    except NormalcyError:
        raise HTTPException(404, f"no inspection {inspection_id!r} in the run log"
                                 f"{'' if who.role == 'engineer' else ' run with this token'}") from None


def mounted(inspector, queue: InspectorQueue, access: ApiAccess) -> list:
    """The API as the routes to hand the chat's FastAPI app (`chat_app.launch(routes=...)`)."""
    mount = Mount(PREFIX, app=create_api(inspector, queue, access))
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)   # an id holding a newline is still ours
    return [mount]
