"""The gateway's HTTP API (FastAPI): commands in, answers and views out.

    create_api(deps) ─▶ FastAPI app
    ├── problems     every 4xx/5xx as an RFC 9457 problem document
    ├── commands     POST /v1/commands/{service}, GET /v1/commands/{id}
    ├── queries      orders, one order, queues, accounts, reports
    ├── demo         POST /v1/demo/login: tokens for `make run` (off unless demo_logins)
    ├── pages        /confirm: the client's confirmation page (M-08), /review (P-17)
    └── console      /console: the operators' console (orders, queue, dead letters)

Routes read only the gateway's own views (`gateway.store`); see docs/gateway.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from gateway import metrics
from gateway.api import commands, console, pages, problems, queries
from gateway.api.context import ApiDeps, Deps
from gateway.api.problems import ProblemError
from gateway.auth import ROLES, issue
from gateway.domain import Caller

DESCRIPTION = """The HTTP front door of orderflow: send the commands of the command topics,
read the gateway's own views of every order (M-17), the operator's and approver's queues,
accounts (A-02) and reports (A-12). Bearer tokens (JWT) say who is calling; errors are
RFC 9457 problem documents. See docs/gateway.md."""


def create_api(deps: ApiDeps | None = None) -> FastAPI:
    """The app; `deps` is None only to write the OpenAPI document."""
    app = FastAPI(
        title="orderflow gateway",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.deps = deps
    problems.install(app)

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")  # the template: no ids in the labels
        metrics.REQUESTS.labels(path, str(response.status_code)).inc()
        return response

    app.include_router(commands.router, responses=problems.RESPONSES)
    app.include_router(queries.router, responses=problems.RESPONSES)
    if deps is None or deps.settings.demo_logins:
        app.include_router(_demo_router())
    app.include_router(pages.router)
    app.include_router(console.router)
    console.install(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _demo_router() -> APIRouter:
    router = APIRouter(prefix="/v1/demo", tags=["demo (dev only)"])

    @router.post("/login", summary="A token for any party (only with demo_logins on)")
    async def login(
        deps: Deps,
        party_id: Annotated[str, Body(min_length=1, max_length=100)],
        role: Annotated[str, Body()],
        accounts: Annotated[list[str], Body()] = [],  # noqa: B006 (FastAPI copies it)
    ) -> dict[str, str]:
        if role not in ROLES:
            raise ProblemError(422, "unknown_role", f"role must be one of {sorted(ROLES)}")
        who = Caller(id=party_id, role=role, accounts=tuple(accounts))
        return {"token": issue(deps.settings, who, deps.clock()), "token_type": "Bearer"}

    return router


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, with the command contracts as the request schemas."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDocument"] = problems.ProblemDocument.model_json_schema()
    bodies = []
    for name, (_, union) in sorted(commands.SERVICES.items()):
        union_schema = TypeAdapter(union.annotation).json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(union_schema.pop("$defs", {}))
        components[f"{name.capitalize()}Command"] = union_schema
        bodies.append({"$ref": f"#/components/schemas/{name.capitalize()}Command"})
    post = schema["paths"]["/v1/commands/{service}"]["post"]
    post["requestBody"]["content"]["application/json"]["schema"] = {"oneOf": bodies}
    app.openapi_schema = schema
    return schema
