"""FerretDB v1.24.2: the MongoDB wire protocol on top of SQLite files, as one Go binary.

``devstack/ferretdb`` holds a tiny main.go around the embeddable package
``github.com/FerretDB/FerretDB/ferretdb`` with a pinned go.mod/go.sum; devstack builds
it once into the cache with ``go build``, from a copy of the module with one fix (`PATCH`):
v1.24.2 looks documents up by ``_ferretdb_sjson->'$._id'`` while its unique index is on
``_ferretdb_sjson->"_id"``; SQLite matches index expressions as written, so every
``_id`` lookup, update and delete scanned the whole table (60 ms at 50k documents). With
the lookup written like the index it is 0.7 ms at any size (docs/ferretdb.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from devstack.config import FERRETDB_SOURCE_DIR, DevstackError, StackConfig, say
from devstack.process import NotReadyError, accepts_connections, run_build_step

NAME = "ferretdb"
FERRETDB_VERSION = "1.24.2"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# FerretDB v1.24.2's go.mod says `go 1.24`. Go 1.21+ can fetch a newer toolchain from the
# module proxy by itself (GOTOOLCHAIN=auto); older Go can't build it at all.
GO_NEEDED = (1, 24)
GO_MIN_WITH_TOOLCHAIN_SWITCH = (1, 21)

BUILD_INPUTS = ("go.mod", "go.sum", "main.go")
MODULE = "github.com/FerretDB/FerretDB"

#: (file in the module, text there, what it becomes): applied to a copy, never committed.
PATCH = (
    "internal/backends/sqlite/metadata/metadata.go",
    "IDColumn = DefaultColumn + \"->'$._id'\"",
    """IDColumn = DefaultColumn + `->"_id"`""",
)


def mongodb_uri(config: StackConfig) -> str:
    """The connection string clients use."""
    return f"mongodb://{config.host}:{config.ferretdb_port}/"


def ports(config: StackConfig) -> dict[str, int]:
    """The port FerretDB binds."""
    return {"port": config.ferretdb_port}


def _binary(config: StackConfig) -> Path:
    return config.ferretdb_dir / "ferretdb"


def _data(config: StackConfig) -> Path:
    return config.ferretdb_dir / "data"


def _inputs_hash() -> str:
    digest = hashlib.sha256()
    for name in BUILD_INPUTS:
        digest.update(name.encode() + b"\0" + (FERRETDB_SOURCE_DIR / name).read_bytes() + b"\0")
    digest.update("\0".join(PATCH).encode())
    return digest.hexdigest()


def _go_env(go: str, name: str) -> str:
    out = subprocess.run([go, "env", name], capture_output=True, text=True, check=False)
    return out.stdout.strip()


@functools.cache
def find_go() -> str:
    """Path of a Go toolchain able to build FerretDB, or a DevstackError saying why not."""
    go = shutil.which("go")
    if go is None:
        raise DevstackError(
            "go not found: it builds FerretDB once; install Go >= 1.24 from https://go.dev/dl "
            "(Debian's golang-go is too old)"
        )
    version = _go_env(go, "GOVERSION")  # e.g. go1.26.8
    match = re.match(r"go(\d+)\.(\d+)", version)
    if match is None:
        raise DevstackError(f"cannot tell the version of {go} (GOVERSION={version!r})")
    found = (int(match.group(1)), int(match.group(2)))
    if found >= GO_NEEDED:
        return go
    wanted = "go{}.{}".format(*GO_NEEDED)
    if found < GO_MIN_WITH_TOOLCHAIN_SWITCH or _go_env(go, "GOTOOLCHAIN").startswith("local"):
        raise DevstackError(
            f"{go} is {version}; FerretDB {FERRETDB_VERSION} needs {wanted} or newer: install a "
            "newer Go (or, with Go >= 1.21, set GOTOOLCHAIN=auto to let go fetch it)"
        )
    say(f"{version} is older than {wanted}: go will fetch {wanted} from the module proxy")
    return go


def prepare(config: StackConfig) -> None:
    """Build the FerretDB binary unless the cached one was built from the same inputs."""
    binary = _binary(config)
    stamp = config.ferretdb_dir / "ferretdb.sha256"
    wanted = _inputs_hash()
    _data(config).mkdir(parents=True, exist_ok=True)
    if binary.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return
    go = find_go()
    say(f"building FerretDB {FERRETDB_VERSION} (first run, ~1 min)...")
    partial = binary.with_name("ferretdb.partial")
    env = dict(os.environ)
    # Pure-Go SQLite (modernc.org/sqlite): no C compiler needed. -mod=readonly makes the
    # committed go.sum authoritative; -buildvcs=false because the binary doesn't need the
    # git state (and reading it fails in some checkouts).
    env.update(CGO_ENABLED="0", GOFLAGS="-mod=readonly -buildvcs=false")
    build_dir = _patched_sources(config, go, env)
    run_build_step(
        config,
        "build-ferretdb",
        [go, "build", "-trimpath", "-o", str(partial), "."],
        cwd=build_dir,
        env=env,
        what="go build of FerretDB",
    )
    partial.replace(binary)
    stamp.write_text(wanted + "\n")


def _patched_sources(config: StackConfig, go: str, env: dict[str, str]) -> Path:
    """A build folder whose go.mod points at a patched copy of the FerretDB module."""
    download = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@v{FERRETDB_VERSION}"],
        cwd=FERRETDB_SOURCE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if download.returncode != 0:
        raise DevstackError(f"go mod download of FerretDB failed: {download.stderr.strip()}")
    module_dir = Path(json.loads(download.stdout)["Dir"])
    copy = config.ferretdb_dir / "src" / "FerretDB"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(module_dir, copy)
    for path in copy.rglob("*"):  # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    target, old, new = PATCH
    source = copy / target
    text = source.read_text()
    if old not in text:
        raise DevstackError(f"FerretDB {FERRETDB_VERSION}: {target} no longer says {old!r}")
    source.write_text(text.replace(old, new))
    build = config.ferretdb_dir / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    for name in BUILD_INPUTS:
        shutil.copy2(FERRETDB_SOURCE_DIR / name, build / name)
    run_build_step(
        config,
        "replace-ferretdb",
        [go, "mod", "edit", f"-replace={MODULE}={copy}"],
        cwd=build,
        env=env,
        what="go mod edit",
    )
    return build


def argv(config: StackConfig) -> list[str]:
    """FerretDB's command line."""
    # FerretDB wants a directory URL ending in "/"; quote() keeps odd characters in the
    # cache path from being read as URL syntax.
    sqlite_url = "file:" + urllib.parse.quote(f"{_data(config)}/")
    return [
        str(_binary(config)),
        "-listen-addr",
        f"{config.host}:{config.ferretdb_port}",
        "-sqlite-url",
        sqlite_url,
    ]


def probe(config: StackConfig) -> None:
    """Raise NotReadyError unless FerretDB answers a MongoDB ``ping``."""
    if not accepts_connections(config.host, config.ferretdb_port):
        raise NotReadyError("port closed")
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(
            mongodb_uri(config), serverSelectionTimeoutMS=2000, connectTimeoutMS=2000
        )
        with client:
            client.admin.command("ping")
    except PyMongoError as exc:
        raise NotReadyError(str(exc)) from exc
