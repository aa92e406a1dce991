"""gateway's settings: the shared ones plus the HTTP API, its tokens and its limits.

Tokens are JWTs: HS256 with `jwt_secret`, or RS256 with `jwt_public_keys` (PEM, several
allowed for key rotation). The demo login (`demo_logins`) is for `make run` only.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from servicekit.config import ServiceSettings, token_secret


class GatewaySettings(ServiceSettings):
    http_port: int = Field(default=8106, description="Port of /metrics, /livez and /readyz.")
    api_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    api_port: int = Field(default=8080, description="Port of the HTTP API (0: any free).")
    public_url: str = Field(
        default="", description="The API's address as clients reach it (default: host:port)."
    )
    jwt_algorithm: str = Field(
        default="HS256", pattern=r"^(HS256|RS256)$", description="HS256 or RS256."
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(""), description="HS256: the shared secret that signs bearer tokens."
    )
    jwt_public_keys: str = Field(
        default="", description="RS256: PEM public keys that may have signed a token, joined."
    )
    jwt_issuer: str = Field(default="", description="The `iss` a token must carry (empty: any).")
    jwt_audience: str = Field(
        default="orderflow", description="The `aud` a token must carry (empty: none checked)."
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Larger request bodies are refused (413)."
    )
    command_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="Longest a command request waits for its answer (?wait= sets it per "
        "request; 0 answers 202 at once with where to read the answer).",
    )
    page_size: int = Field(default=50, ge=1, le=500, description="Orders per page at most.")
    projection_group: str = Field(
        default="",
        description="Consumer group of the projection (default: gateway). A new group and "
        "an empty database replay every topic from the start: a rebuild (docs/gateway.md).",
    )
    token_secret: SecretStr = token_secret()
    demo_logins: bool = Field(
        default=False,
        description="Dev only: POST /v1/demo/login hands out tokens for any party (HS256).",
    )

    @model_validator(mode="after")
    def _keys(self) -> GatewaySettings:
        if self.jwt_algorithm == "RS256" and not self.jwt_public_keys.strip():
            raise ValueError("RS256 needs ORDERFLOW_JWT_PUBLIC_KEYS")
        if self.demo_logins and self.jwt_algorithm != "HS256":
            raise ValueError("demo logins sign with the HS256 secret")
        return self

    def api_url(self, port: int | None = None) -> str:
        return self.public_url or f"http://{self.api_host}:{port or self.api_port}"
