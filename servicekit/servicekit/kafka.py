"""How every orderflow Kafka client connects: bootstrap servers and security, in one place.

    KafkaSettings                 read from KAFKA_* variables (pydantic-settings)
    ├── broker_security()         FastStream's `faststream.security` object for KafkaBroker
    ├── client_kwargs()           the same, as aiokafka keyword arguments (admin, CLI, bench, tests)
    └── check_login()             one connection: a wrong password or certificate fails at once

The services' settings inherit these fields, so a service, the CLI, the bench and the tests
all read the same variables and build their clients the same way (FastStream's own
`parse_security` turns the security object into aiokafka arguments, so the two can't drift).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Literal

from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
# OAUTHBEARER is left out: aiokafka needs a token provider object for it, and FastStream's
# security objects carry none, so it can't be set from the environment alone.
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, f"ORDERFLOW_{name}")


class KafkaLoginError(RuntimeError):
    """The broker refused our credentials or TLS: retrying won't help, so start fails at once."""


class KafkaSettings(BaseSettings):
    """Where Kafka is and how to log in to it; the same for services, CLI, bench and tests."""

    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers, comma separated.",
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        validation_alias=_env("KAFKA_SECURITY_PROTOCOL"),
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (docs/operations.md).",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512",
        validation_alias=_env("KAFKA_SASL_MECHANISM"),
        description="With SASL_*: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.",
    )
    kafka_sasl_username: str = Field(
        default="",
        validation_alias=_env("KAFKA_SASL_USERNAME"),
        description="With SASL_*: the service's principal (one per service).",
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None,
        validation_alias=_env("KAFKA_SASL_PASSWORD"),
        description="With SASL_*: its password (never logged).",
    )
    kafka_ssl_ca_file: str = Field(
        default="",
        validation_alias=_env("KAFKA_SSL_CA_FILE"),
        description="With SSL/SASL_SSL: PEM file of the CA to trust (none: the system's CAs).",
    )
    kafka_ssl_cert_file: str = Field(
        default="",
        validation_alias=_env("KAFKA_SSL_CERT_FILE"),
        description="Mutual TLS: PEM file of this client's certificate (chain).",
    )
    kafka_ssl_key_file: str = Field(
        default="",
        validation_alias=_env("KAFKA_SSL_KEY_FILE"),
        description="Mutual TLS: PEM file of this client's private key.",
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None,
        validation_alias=_env("KAFKA_SSL_KEY_PASSWORD"),
        description="Mutual TLS: password of an encrypted private key.",
    )
    kafka_ssl_check_hostname: bool = Field(
        default=True,
        validation_alias=_env("KAFKA_SSL_CHECK_HOSTNAME"),
        description="With TLS: check that the broker's certificate names the host.",
    )

    @model_validator(mode="after")
    def _complete(self) -> KafkaSettings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if bool(self.kafka_ssl_cert_file) != bool(self.kafka_ssl_key_file):
            raise ValueError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (CA, client certificate, hostname check), or None without TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.kafka_ssl_ca_file or None)
        context.check_hostname = self.kafka_ssl_check_hostname
        if self.kafka_ssl_cert_file:
            password = self.kafka_ssl_key_password
            context.load_cert_chain(
                self.kafka_ssl_cert_file,
                self.kafka_ssl_key_file,
                password.get_secret_value() if password else None,
            )
        return context

    def broker_security(self) -> BaseSecurity | None:
        """FastStream's security object for `KafkaBroker(security=...)`; None for PLAINTEXT."""
        protocol = self.kafka_security_protocol
        if protocol == "PLAINTEXT":
            return None
        context, use_ssl = self.ssl_context(), self.uses_tls
        if protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        sasl = _SASL[self.kafka_sasl_mechanism]
        return sasl(self.kafka_sasl_username, password, ssl_context=context, use_ssl=use_ssl)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: bootstrap servers and security."""
        return {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            **parse_security(self.broker_security()),
        }

    async def check_login(self, timeout: float = 10.0) -> None:
        """Open one connection to a bootstrap server and log in.

        Raises KafkaLoginError when the broker refuses the credentials or the TLS handshake
        fails (retrying can't fix either), and the connection error when no server answers
        (the caller retries that: the broker may still be starting).
        """
        kwargs = parse_security(self.broker_security())
        last: BaseException | None = None
        for server in self.kafka_bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                conn = await asyncio.wait_for(
                    create_conn(host, int(port), request_timeout_ms=int(timeout * 1000), **kwargs),
                    timeout,
                )
            except ssl.SSLEOFError as e:  # the broker hung up mid-handshake: maybe starting
                last = e
                continue
            except ssl.SSLError as e:  # certificate, host name, protocol: a setting is wrong
                raise KafkaLoginError(f"TLS handshake with {server} failed: {e}") from e
            except _REFUSED as e:
                # The broker's own words (which never repeat the password) say why.
                raise KafkaLoginError(
                    f"{server} refused the login of {self.kafka_sasl_username!r} "
                    f"({self.kafka_sasl_mechanism}): {e}"
                ) from e
            except (TimeoutError, OSError, KafkaError) as e:
                last = e
                continue
            conn.close()
            return
        raise ConnectionError(f"no Kafka bootstrap server answered: {last}")


_REFUSED: tuple[type[BaseException], ...] = (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
)


def client_kwargs(bootstrap: str, security: KafkaSettings | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments for `bootstrap`, secured as `security` says.

    Without `security`, the KAFKA_* variables of the environment decide, as they do for
    the services: the CLI, the bench and the test clients all call this.
    """
    base = security if security is not None else KafkaSettings()
    return base.model_copy(update={"kafka_bootstrap_servers": bootstrap}).client_kwargs()
