"""`orderflow`: the command line (see the package docstring for the commands)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

import orderflow
from contracts import topics
from contracts.envelope import Party, Role
from contracts.orders import ORDER_COMMANDS
from orderflow.bus import Bus, Seen
from servicekit.deadletters import describe

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=escape(orderflow.__doc__ or ""),
    # Said outright: typer's default leaves it unset and joins the command list into
    # one paragraph. Rich markup keeps the docstring's lines (escaped: no markup in it).
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

Bootstrap = Annotated[
    str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
]
MongoUri = Annotated[str, typer.Option(envvar="MONGODB_URI", help="MongoDB connection string.")]
Prefix = Annotated[str, typer.Option(envvar="ORDERFLOW_TOPIC_PREFIX", help="Topic prefix.")]
Database = Annotated[str, typer.Option(envvar="ORDERFLOW_DATABASE", help="Database name.")]


class CliError(Exception):
    """An error worth one line to the user, not a traceback."""


def print_gateway(url: str) -> None:
    """The gateway's address and a demo login per demo party (dev only)."""
    from orderflow.launcher import DEMO_LOGINS, demo_logins

    print(f"\n  gateway    {url}   API docs {url}/docs")
    print(f"  console    {url}/console/login   (demo: press 'Sign in as operator-1')")
    tokens = demo_logins(datetime.now(UTC))
    for (party, role), token in zip(DEMO_LOGINS, tokens, strict=True):
        print(f"  demo login {role} {party}:  Authorization: Bearer {token}")
    body = json.dumps({"party_id": "client-1", "role": "client"})
    print(
        f"  another:   curl -X POST {url}/v1/demo/login -H 'Content-Type: application/json' -d '{body}'"
    )


@app.command()
def run(
    demo: Annotated[
        bool, typer.Option(help="Play the demo scenarios once everything is up.")
    ] = True,
) -> None:
    """Start the local stack and all services, play the demo, keep running until Ctrl-C."""
    from orderflow.demo import play
    from orderflow.launcher import Launcher

    async def main() -> None:
        launcher = Launcher()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            print("orderflow: starting the local stack and the services (first run: ~2 min)...")
            stack = await launcher.start()
            for p in launcher.processes:
                print(f"  {p.module:<10} up   http://127.0.0.1:{p.port}/readyz   log {p.log_path}")
            if launcher.gateway_url:
                print_gateway(launcher.gateway_url)
            async with Bus(stack.kafka_bootstrap) as bus:
                bus.listeners.append(lambda seen: print("  " + seen.line()))
                if demo:
                    print("\norderflow: playing the demo (every event as it happens):")
                    for line in await play(bus):
                        print(f"  ✔ {line}")
                print(
                    "\norderflow: running. Try: orderflow orders --party member-1 --role member"
                    "\n           or: orderflow follow <order-id>.  Ctrl-C stops everything."
                )
                await stop.wait()
        finally:
            print("\norderflow: stopping the services...")
            await launcher.stop()
            print("orderflow: stopped (the stack keeps running: make stack-down stops it).")

    asyncio.run(main())


@app.command()
def send(
    file: Annotated[
        Path | None, typer.Argument(help="A JSON command (or a list of them); - for stdin.")
    ] = None,
    topic: Annotated[str, typer.Option(help="Command topic.")] = topics.ORDERS_COMMANDS,
    type_: Annotated[str | None, typer.Option("--type", help="Command type, with --field.")] = None,
    field: Annotated[
        list[str] | None, typer.Option(help="name=value (JSON value or text); repeatable.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Acting party as id:role.")] = None,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    prefix: Prefix = "",
) -> None:
    """Publish commands as an upstream system would (validated before they are sent)."""
    messages = _commands_from(file, type_, field or [], actor)
    for message in messages:
        _validate(topic, message)

    async def main() -> None:
        async with Bus(bootstrap, prefix) as bus:
            for message in messages:
                key = str(message.get("order_id") or message.get("account_id") or "").encode()
                await bus.send_raw(topic, json.dumps(message).encode(), key or None)
                print(f"sent {message['type']} {message['message_id']} to {prefix}{topic}")

    asyncio.run(main())


@app.command()
def follow(
    order_id: Annotated[
        str, typer.Argument(help="The order to follow: its id, or its first characters.")
    ],
    bootstrap: Bootstrap = "127.0.0.1:9092",
    prefix: Prefix = "",
) -> None:
    """Print an order's timeline from its first event, then live, until Ctrl-C."""
    wanted = order_id.strip().lower()

    async def main() -> None:
        async with Bus(
            bootstrap, prefix, from_beginning=True, keep=lambda o: o.startswith(wanted)
        ) as bus:
            await bus.caught_up()
            full = one_order(wanted, bus.history)
            for seen in sorted(bus.history[full], key=_when):
                print(seen.line(), flush=True)
            if not bus.history[full]:
                print(f"no events of {full} yet; waiting for them", flush=True)
            bus.listeners.append(lambda seen: _show(seen, full))
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@app.command()
def orders(
    party: Annotated[str, typer.Option(help="The viewing party's id.")],
    role: Annotated[Role, typer.Option(help="The viewing party's role.")],
    status: Annotated[str | None, typer.Option(help="Only orders in this status.")] = None,
    mongodb_uri: MongoUri = "mongodb://127.0.0.1:27017/",
    database: Database = "orderflow",
) -> None:
    """List a party's orders by status, newest first (M-17; operators never see drafts, M-02)."""
    from pymongo import AsyncMongoClient

    from ordering.queries import list_orders
    from servicekit.config import service_database

    async def main() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
        try:
            views = await list_orders(
                client[service_database(database, "ordering")], Party(id=party, role=role), status
            )
        finally:
            await client.close()
        if not views:
            print("no orders")
        for view in views:
            o = view.order
            print(
                f"{o.order_id}  {o.flow.value:<9} {o.status.value:<24} v{view.version}  {o.updated_at:%Y-%m-%d %H:%M:%S}"
            )

    asyncio.run(main())


@app.command()
def schedule(
    order_id: Annotated[str, typer.Argument(help="The order whose deadlines to show.")],
    mongodb_uri: MongoUri = "mongodb://127.0.0.1:27017/",
    database: Database = "orderflow",
) -> None:
    """Show an order's deadlines in the timer service's schedule (X-02), by due time."""
    from pymongo import AsyncMongoClient

    from servicekit.config import service_database
    from timers.queries import deadlines_of

    async def main() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
        try:
            deadlines = await deadlines_of(client[service_database(database, "timers")], order_id)  # type: ignore[arg-type]
        finally:
            await client.close()
        if not deadlines:
            print("no deadlines")
        for d in deadlines:
            print(
                f"{d.due_at:%Y-%m-%d %H:%M:%S}  {d.status.value:<10} {d.owner:<10} {d.kind:<22} {d.deadline_id}"
            )

    asyncio.run(main())


@app.command("dlq")
def dead_letters(
    topic: Annotated[str, typer.Argument(help="The source topic, e.g. orders.commands.")],
    replay: Annotated[
        int | None, typer.Option(help="Re-publish the dead letter at this offset to its topic.")
    ] = None,
    bootstrap: Bootstrap = "127.0.0.1:9092",
    prefix: Prefix = "",
) -> None:
    """List the dead letters of a topic, or replay one (after the fix) to the topic."""
    from orderflow.deadletters import list_letters, replay_letter

    if replay is None:
        for letter in asyncio.run(list_letters(bootstrap, prefix + topic + topics.DLQ_SUFFIX)):
            print(letter.summary())
    else:
        target = asyncio.run(replay_letter(bootstrap, prefix + topic + topics.DLQ_SUFFIX, replay))
        print(f"replayed offset {replay} to {target}")


def one_order(wanted: str, history: Mapping[str, Sequence[Seen]]) -> str:
    """The one order whose id starts with `wanted` (the demo prints the first 8 characters).

    A full id with no events yet is taken as it is (follow waits for them); a short one
    must name exactly one order that has events.
    """
    found = sorted(o for o, events in history.items() if o.startswith(wanted) and events)
    if len(found) == 1:
        return found[0]
    if not found:
        with contextlib.suppress(ValueError):
            return str(uuid.UUID(wanted))
        raise CliError(f"no order whose id starts with {wanted!r} has events on the topics")
    listed = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
    raise CliError(f"{len(found)} orders' ids start with {wanted!r} ({listed}): give more of it")


def _when(seen: Seen) -> datetime:
    """When an event happened, to print an order's past in order across topics."""
    try:
        return datetime.fromisoformat(str(seen.body.get("occurred_at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _show(seen: Seen, order_id: str) -> None:
    if seen.order_id == order_id:
        print(seen.line(), flush=True)


def _commands_from(
    file: Path | None, type_: str | None, fields: list[str], actor: str | None
) -> list[dict[str, Any]]:
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
        try:
            data = json.loads(text)
        except ValueError as e:
            raise CliError(f"{file}: not JSON ({e})") from e
        items = data if isinstance(data, list) else [data]
    elif type_ is not None:
        items = [{"type": type_, **dict(_field(f) for f in fields)}]
    else:
        raise CliError("give a JSON file, or --type with --field name=value")
    return [_with_envelope(item, actor) for item in items]


def _field(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep:
        raise CliError(f"--field {text!r}: expected name=value")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _with_envelope(item: dict[str, Any], actor: str | None) -> dict[str, Any]:
    from datetime import UTC, datetime

    out = dict(item)
    out.setdefault("message_id", str(uuid.uuid4()))
    out.setdefault("occurred_at", datetime.now(UTC).isoformat())
    out.setdefault("correlation_id", str(uuid.uuid4()))
    if actor is not None:
        pid, _, role = actor.partition(":")
        out["actor"] = {"id": pid, "role": role}
    return out


def _validate(topic: str, message: dict[str, Any]) -> None:
    if topic != topics.ORDERS_COMMANDS:
        return  # other services validate their own commands; send them as they are
    try:
        ORDER_COMMANDS.parse(json.dumps(message))
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CliError(f"invalid {message.get('type')}: {where}: {first['msg']}") from e


def main() -> None:
    """Entry point: errors are one clear line, not a traceback."""
    # aiokafka warns about every topic a service has not created yet; the CLI says what matters.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        app()
    except CliError as e:
        print(f"orderflow: {e}", file=sys.stderr)
        raise SystemExit(2) from e
    except ValidationError as e:  # the KAFKA_* settings: say what is wrong, never their values
        print(f"orderflow: invalid settings: {describe(e)}", file=sys.stderr)
        raise SystemExit(2) from e
    except (OSError, TimeoutError, RuntimeError, LookupError) as e:
        print(f"orderflow: {type(e).__name__}: {e}", file=sys.stderr)
        raise SystemExit(1) from e


if __name__ == "__main__":
    main()
