"""What the routes need, and who is calling (FastAPI dependencies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.envelope import Message
from gateway.api.problems import ProblemError
from gateway.auth import TokenError, Verifier
from gateway.config import GatewaySettings
from gateway.domain import Caller
from gateway.handlers import Waiters
from gateway.store import Commands, Directory, Views

Publish = Callable[[str, Message], Awaitable[None]]


@dataclass(frozen=True)
class ApiDeps:
    """Built once by the composition root (`app.build`), shared by every request."""

    settings: GatewaySettings
    verifier: Verifier
    views: Views
    commands: Commands
    directory: Directory
    waiters: Waiters
    publish: Publish
    clock: Callable[[], datetime]


def deps(request: Request) -> ApiDeps:
    found: ApiDeps = request.app.state.deps
    return found


_BEARER = HTTPBearer(auto_error=False, description="A JWT: sub, role, exp (docs/gateway.md)")


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
) -> Caller:
    """The caller named by a valid bearer token; 401 otherwise."""
    header = None if credentials is None else f"Bearer {credentials.credentials}"
    try:
        return deps(request).verifier.caller(header)
    except TokenError as e:
        raise ProblemError(
            401,
            "invalid_token",
            str(e),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from e


def require(*roles: str) -> Callable[..., Caller]:
    """A dependency that admits callers of `roles` only (403 for anyone else)."""

    def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.role not in roles:
            raise ProblemError(403, "forbidden", f"only {', '.join(roles)} may ask this")
        return who

    return check


Who = Annotated[Caller, Depends(caller)]
Deps = Annotated[ApiDeps, Depends(deps)]
