"""Errors as RFC 9457 problem details (`application/problem+json`), for every 4xx and 5xx.

    {"type": "https://orderflow.example/problems/<code>", "title": ..., "status": 4xx,
     "detail": ..., "code": "<code>", "errors": [...field errors, when there are some]}

`code` is stable and machine-readable; `title` and `detail` are for people. No detail
repeats a token, an email address or the body that was sent.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("gateway.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://orderflow.example/problems/"


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, as every 4xx and 5xx of the gateway answers."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


#: The error responses of every route, for the OpenAPI document.
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "A problem document (RFC 9457)",
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}},
    }
}


class ProblemError(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors = errors
        self.headers = headers


def response(problem: ProblemError) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.code,
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=MEDIA_TYPE)


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors without the input values (they may be personal data)."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
        for e in errors
    ]


def install(app: FastAPI) -> None:
    """Answer every error the app or the framework raises with a problem document."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        return response(ProblemError(422, "invalid_request", "the request is not valid", errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        headers = dict(exc.headers) if exc.headers else None
        return response(ProblemError(exc.status_code, code, str(exc.detail), headers=headers))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", extra={"error": type(exc).__name__})
        return response(ProblemError(500, "internal_error", "the gateway failed; try again"))
