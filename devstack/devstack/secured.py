"""The opt-in secured Kafka listener: SASL_SSL with SCRAM users, a throwaway CA, and ACLs.

Set ``ORDERFLOW_DEVSTACK_KAFKA_SASL_PORT`` and the broker listens there too, beside the
plain listener (which stays as it is):

    secured listener (SASL_SSL on 127.0.0.1:<sasl port>)
    ├── TLS       a CA and broker certificate made here with keytool (kafka/tls/), no downloads
    ├── SCRAM     users created when the storage is formatted: `devstack` (super user) and
    │             one per service, password `<name>-secret` (SCRAM-SHA-256 and -512)
    ├── ACLs      KRaft's StandardAuthorizer; `grant()` adds a principal's ACLs (the services'
    │             come from `servicekit` ServiceRuntime.kafka_acls(): own topics and groups)
    └── mTLS      with ``ORDERFLOW_DEVSTACK_KAFKA_MTLS_PORT`` too: an SSL listener that requires
                  a client certificate signed by the CA; `client_certificate(config, name)`
                  makes one, and the principal is ``User:CN=<name>``

The plain and controller listeners' principal (User:ANONYMOUS) is a super user, so every
client of the plain listener works as before and devstack's own admin calls use it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devstack.config import KAFKA_SOURCE_DIR, DevstackError, StackConfig

ACL_TOOL = KAFKA_SOURCE_DIR / "Acls.java"
PEM_KEY_TOOL = KAFKA_SOURCE_DIR / "PemKey.java"
SUPER_USER = "devstack"
SERVICE_USERS = ("ordering", "invoicing", "payments", "notifier", "timers")
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
# Throwaway material for a loopback-only broker: the password only guards local files.
_STORE_PASSWORD = "devstack-tls"


def password(user: str) -> str:
    """The dev-only password of a SCRAM user of the secured listener."""
    return f"{user}-secret"


def users() -> tuple[str, ...]:
    return (SUPER_USER, *SERVICE_USERS)


@dataclass(frozen=True)
class Acl:
    """One ALLOW rule: `principal` may do `operation` on a TOPIC or GROUP named `name`."""

    principal: str
    resource: str
    name: str
    operation: str
    pattern: str = "LITERAL"

    def line(self) -> str:
        return "\t".join((self.principal, self.resource, self.pattern, self.name, self.operation))


def tls_dir(config: StackConfig) -> Path:
    return config.kafka_dir / "tls"


def ca_file(config: StackConfig) -> Path:
    """The PEM file of the throwaway CA: what clients trust (KAFKA_SSL_CA_FILE)."""
    return tls_dir(config) / "ca.pem"


def bootstrap(config: StackConfig) -> str:
    if config.kafka_sasl_port is None:
        raise DevstackError("no secured listener: set ORDERFLOW_DEVSTACK_KAFKA_SASL_PORT")
    return f"{config.host}:{config.kafka_sasl_port}"


def client_env(config: StackConfig, user: str) -> dict[str, str]:
    """The KAFKA_* variables a client of the secured listener needs to log in as `user`."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap(config),
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": password(user),
        "KAFKA_SSL_CA_FILE": str(ca_file(config)),
    }


def _keytool() -> str:
    """keytool of the JDK that runs Kafka (JAVA_HOME, then beside `java`), else PATH's."""
    java_home = os.environ.get("JAVA_HOME", "")
    java = shutil.which("java")
    candidates = [Path(java_home, "bin", "keytool")] if java_home else []
    if java is not None:
        candidates.append(Path(java).resolve().parent / "keytool")
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("keytool")
    if found is None:
        raise DevstackError("keytool not found: it comes with the JDK that runs Kafka")
    return found


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DevstackError(f"{what} failed: {(done.stderr or done.stdout).strip()[:500]}")


def ensure_tls(config: StackConfig) -> Path:
    """Make the CA and the broker's keystore once (keytool, EC keys); return the keystore."""
    folder = tls_dir(config)
    keystore = folder / "broker.p12"
    if keystore.is_file() and ca_file(config).is_file():
        return keystore
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    keytool = _keytool()
    store = ["-storepass", _STORE_PASSWORD]
    pw = [*store, "-keypass", _STORE_PASSWORD]
    ca, csr, crt, ca_pem = (
        folder / "ca.p12",
        folder / "broker.csr",
        folder / "broker.pem",
        ca_file(config),
    )
    key = ["-storetype", "PKCS12", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "3650"]
    steps = {
        "make the CA": [*key, "-genkeypair", "-alias", "ca", "-dname", "CN=orderflow devstack CA",
                        "-ext", "bc:c", "-keystore", str(ca), *pw],
        "export the CA": ["-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca),
                          "-file", str(ca_pem), *store],
        "make the broker key": [*key, "-genkeypair", "-alias", "broker", "-dname", "CN=localhost",
                                "-keystore", str(keystore), *pw],
        "request its certificate": ["-certreq", "-alias", "broker", "-keystore", str(keystore),
                                    "-file", str(csr), *store],
        "sign it": ["-gencert", "-alias", "ca", "-keystore", str(ca), "-infile", str(csr),
                    "-outfile", str(crt), "-rfc", "-validity", "3650",
                    "-ext", "SAN=dns:localhost,ip:127.0.0.1", *store],
        "trust the CA": ["-importcert", "-noprompt", "-alias", "ca", "-file", str(ca_pem),
                         "-keystore", str(keystore), *store],
        "store the certificate": ["-importcert", "-alias", "broker", "-file", str(crt),
                                  "-keystore", str(keystore), *store],
    }  # fmt: skip
    for what, step in steps.items():
        _run([keytool, *step], f"keytool ({what})")
    return keystore


def mtls_bootstrap(config: StackConfig) -> str:
    if config.kafka_mtls_port is None:
        raise DevstackError("no mutual-TLS listener: set ORDERFLOW_DEVSTACK_KAFKA_MTLS_PORT")
    return f"{config.host}:{config.kafka_mtls_port}"


def client_certificate(config: StackConfig, java: str, name: str) -> tuple[Path, Path]:
    """A client certificate for ``CN=<name>`` signed by the CA, and its key (PEM files)."""
    ensure_tls(config)
    folder = tls_dir(config) / "clients"
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    if cert.is_file() and key.is_file():
        return cert, key
    folder.mkdir(exist_ok=True)
    store, csr = folder / f"{name}.p12", folder / f"{name}.csr"
    store.unlink(missing_ok=True)
    keytool, pw = _keytool(), ["-storepass", _STORE_PASSWORD]
    key_args = ["-storetype", "PKCS12", "-keyalg", "EC", "-groupname", "secp256r1"]
    steps = {
        "make the client key": [*key_args, "-genkeypair", "-alias", "client",
                                "-dname", f"CN={name}", "-validity", "3650",
                                "-keystore", str(store), *pw, "-keypass", _STORE_PASSWORD],
        "request its certificate": ["-certreq", "-alias", "client", "-keystore", str(store),
                                    "-file", str(csr), *pw],
        "sign it": ["-gencert", "-alias", "ca", "-keystore", str(tls_dir(config) / "ca.p12"),
                    "-infile", str(csr), "-outfile", str(cert), "-rfc", "-validity", "3650", *pw],
    }  # fmt: skip
    for what, step in steps.items():
        _run([keytool, *step], f"keytool ({what})")
    _run([java, str(PEM_KEY_TOOL), str(store), _STORE_PASSWORD, "client", str(key)], "PemKey")
    return cert, key


def server_properties(config: StackConfig) -> list[str]:
    """The broker settings of the secured listener (added to the plain ones)."""
    keystore = ensure_tls(config)
    jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return [
        f"sasl.enabled.mechanisms={','.join(MECHANISMS)}",
        *(f"listener.name.sasl_ssl.{m.lower()}.sasl.jaas.config={jaas}" for m in MECHANISMS),
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={keystore}",
        f"ssl.keystore.password={_STORE_PASSWORD}",
        f"ssl.key.password={_STORE_PASSWORD}",
        # Clients may present a certificate (mutual TLS); SCRAM is what identifies them.
        "ssl.client.auth=none",
        *(
            [
                "listener.name.ssl.ssl.client.auth=required",
                "listener.name.ssl.ssl.truststore.type=PEM",
                f"listener.name.ssl.ssl.truststore.location={ca_file(config)}",
            ]
            if config.kafka_mtls_port
            else []
        ),
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:ANONYMOUS;User:{SUPER_USER}",
    ]


def scram_arguments() -> list[str]:
    """`kafka-storage format` arguments that create every SCRAM user with its password."""
    return [
        arg
        for user in users()
        for mechanism in MECHANISMS
        for arg in ("--add-scram", f"{mechanism}=[name={user},password={password(user)}]")
    ]


def grant(config: StackConfig, java: str, acls: Iterable[Acl]) -> int:
    """Add ALLOW ACLs through the plain listener (its principal is a super user).

    aiokafka has no CreateAcls call, so Kafka's own Admin client does it: a one-file Java
    program (devstack/kafka/Acls.java) run from source on the broker's jars.
    """
    rules = list(acls)
    if not rules:
        return 0
    spec = config.kafka_dir / "acls.tsv"
    spec.write_text("".join(rule.line() + "\n" for rule in rules))
    libs = config.kafka_dir / "libs"
    _run(
        [
            java,
            f"-Dlog4j2.configurationFile={KAFKA_SOURCE_DIR / 'log4j2.properties'}",
            f"-Ddevstack.kafka.log={config.logs_dir / 'kafka-acls.log'}",
            "-cp",
            f"{libs}/*",
            str(ACL_TOOL),
            f"{config.host}:{config.kafka_port}",
            str(spec),
        ],
        "creating ACLs",
    )
    return len(rules)
