"""The ``devstack`` command: ``python -m devstack up|down|status|...``."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from devstack import secured, smtp
from devstack.config import HOST, DevstackError, StackConfig
from devstack.stack import NAMES, clean, down, endpoints, ensure_up, start, status, stop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devstack",
        description="Local Kafka, FerretDB and SMTP catcher for orderflow, as plain processes "
        "under .cache/devstack (or $ORDERFLOW_DEVSTACK_DIR).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("up", help="start every server (build on first run), wait until ready")
    commands.add_parser("down", help="stop every server (data stays)")
    commands.add_parser(
        "status", help="pid, ports and readiness of each server (exit 3 if any is down)"
    )
    commands.add_parser("env", help='print export lines for the endpoints (eval "$(devstack env)")')
    commands.add_parser("clean", help="stop and wipe data, mail and logs (builds stay)")
    for name, text in (("start", "start one server"), ("stop", "stop one server")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("server", choices=NAMES)
        if name == "stop":
            sub.add_argument("--kill", action="store_true", help="SIGKILL at once (a crash)")
    serve = commands.add_parser("smtp-serve", help="run the SMTP catcher in the foreground")
    serve.add_argument("--host", default=HOST)
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--maildir", type=Path, required=True)
    refuse = commands.add_parser(
        "smtp-refuse", help="make the catcher answer 451 to the next N mails"
    )
    refuse.add_argument("n", type=int)
    refuse.add_argument(
        "--rcpt-contains", default=None, help="only mails to a recipient containing this"
    )
    refuse.add_argument("--maildir", type=Path, default=None, help="default: the local stack's")
    return parser


def _print_status() -> int:
    rows = status()
    for row in rows:
        ports = ", ".join(f"{k} {v}" for k, v in row.ports.items())
        pid = f"pid {row.pid}" if row.pid is not None else "not running"
        state = "ready" if row.ready else ("NOT READY" if row.running else "down")
        print(f"{row.name:<9} {state:<10} {pid:<16} {ports:<28} log {row.log}")
    return 0 if all(row.ready for row in rows) else 3


def _print_env() -> None:
    for key, value in endpoints().as_env().items():
        print(f"export {key}={shlex.quote(value)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m devstack`` and the ``devstack`` script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        match args.command:
            case "up":
                found = ensure_up()
                print(f"kafka     {found.kafka_bootstrap}")
                print(f"mongodb   {found.mongodb_uri}")
                print(f"smtp      {found.smtp_url}  (mail lands in {found.maildir})")
                config = StackConfig.from_env()
                if config.kafka_sasl_port is not None:
                    print(
                        f"kafka     {secured.bootstrap(config)}  (SASL_SSL, SCRAM users "
                        f"{', '.join(secured.users())}; CA {secured.ca_file(config)})"
                    )
            case "down":
                down()
            case "status":
                return _print_status()
            case "env":
                _print_env()
            case "clean":
                clean()
            case "start":
                start(args.server)
            case "stop":
                if not stop(args.server, kill=args.kill):
                    print(f"{args.server} was not running")
            case "smtp-serve":
                smtp.serve(args.host, args.port, args.maildir)
            case "smtp-refuse":
                smtp.refuse_next(
                    args.n,
                    args.maildir or StackConfig.from_env().maildir,
                    rcpt_contains=args.rcpt_contains,
                )
            case _:  # argparse only lets known commands through
                raise AssertionError(args.command)
    except DevstackError as exc:
        print(f"devstack: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
