"""The `varistore` command line."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import asyncpg

from service import embedded, server
from service.core.ids import key_hash, new_key
from service.core.logs import configure_logging
from service.core.settings import Settings, load_settings
from service.core.values import parse_flag
from service.db import accounts as db_accounts
from service.db.pool import connect
from service.passwords import hash_password
from service.server import base_url
from service.supervisor import Child, Supervisor


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server in VARISTORE_DATA (started or joined)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return embedded.start(settings.data_dir)


def _fail(message: str) -> NoReturn:
    print(f"varistore: {message}", file=sys.stderr)
    raise SystemExit(1)


def _flag(text: str) -> bool:
    value = parse_flag(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def migrated_url(settings: Settings) -> str:
    """The database `serve` uses, migrated to the newest schema."""
    from migrations import upgrade

    url = database_url(settings)
    upgrade(url)
    return url


Work = Callable[[asyncpg.Connection], Awaitable[Any]]


def _with_connection(settings: Settings, work: Work) -> Any:
    """Run `work` on the database `serve` uses (migrated first, so a fresh one works at once)."""
    return _run_on(migrated_url(settings), work)


def _run_on(url: str, work: Work) -> Any:
    async def run() -> Any:
        conn = await connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


DEMO_EMAIL = "demo@varistore.localhost"


async def _demo_key(conn: asyncpg.Connection, max_variables: int) -> str:
    """A fresh key for the demo account, created confirmed on first use (`serve --demo`)."""
    key = new_key()
    if await db_accounts.update_key(conn, DEMO_EMAIL, key_hash(key)) is None:
        await db_accounts.insert_account(conn, DEMO_EMAIL, None, key_hash(key), True, max_variables)
    return key


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    host, port = args.host or settings.host, settings.port if args.port is None else args.port
    gateway_port = settings.gateway_port if args.gateway_port is None else args.gateway_port
    url = migrated_url(settings)
    if args.demo:
        key = _run_on(url, lambda conn: _demo_key(conn, settings.plan.max_variables))
        print(f"Demo account {DEMO_EMAIL}, API key {key}. Try:")
        print(f"  curl '{base_url(host, port)}?key={key}&action=create&type=float&name=Temperature'")
        ws = base_url(host, gateway_port).replace("http://", "ws://", 1)
        print(f"and watch for changes at {ws}ws (send `key {key}`, then `ping` every 10 s)", flush=True)
    # The children get the database's URL rather than joining the embedded server, which this
    # process owns and stops last.
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "service"]
    children = [
        Child("the API", [*command, "api", "--host", host, "--port", str(port)], env),
        Child("the gateway", [*command, "gateway", "--host", host, "--port", str(gateway_port)], env),
    ]
    if Supervisor(children).run() != 0:
        raise SystemExit(1)


def cmd_gateway(settings: Settings, args: argparse.Namespace) -> None:
    from ws_gateway.server import run

    host = args.host or settings.gateway_host
    run(settings, database_url(settings), host, settings.gateway_port if args.port is None else args.port)


def cmd_api(settings: Settings, args: argparse.Namespace) -> None:
    configure_logging(settings.log_level)  # uvicorn's lines too (server.run passes log_config=None)
    port = settings.port if args.port is None else args.port
    server.run(settings, database_url(settings), args.host or settings.host, port)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from migrations import upgrade

    upgrade(database_url(settings), args.revision)
    print(f"migrated to {args.revision}")


def cmd_account_create(settings: Settings, args: argparse.Namespace) -> None:
    key = new_key()
    password = hash_password(args.password) if args.password else None

    async def work(conn: asyncpg.Connection) -> None:
        try:
            await db_accounts.insert_account(
                conn, args.email, password, key_hash(key), args.confirmed, settings.plan.max_variables
            )
        except asyncpg.UniqueViolationError:
            _fail(f"an account with the email {args.email} exists")

    _with_connection(settings, work)
    print(f"created account {args.email}{'' if args.confirmed else ' (unconfirmed)'}; its API key:")
    print(key)


def cmd_account_set(settings: Settings, args: argparse.Namespace) -> None:
    async def work(conn: asyncpg.Connection) -> db_accounts.Account | None:
        return await db_accounts.update_flags(
            conn,
            args.email,
            confirmed=True if args.confirmed else None,
            locked=args.locked,
            transfers_enabled=args.transfers,
            banned=args.banned,
            max_variables=args.max_variables,
        )

    account = _with_connection(settings, work)
    if account is None:
        _fail(f"no account with the email {args.email}")
    print(account)


def cmd_account_regenerate_key(settings: Settings, args: argparse.Namespace) -> None:
    key = new_key()

    async def work(conn: asyncpg.Connection) -> db_accounts.Account | None:
        return await db_accounts.update_key(conn, args.email, key_hash(key))

    if _with_connection(settings, work) is None:
        _fail(f"no account with the email {args.email}")
    print(f"new API key of {args.email} (the old one no longer works):")
    print(key)


def cmd_ban_ip(settings: Settings, args: argparse.Namespace) -> None:
    _with_connection(settings, lambda conn: db_accounts.ban_ip(conn, args.ip))
    print(f"banned {args.ip}")


def cmd_unban_ip(settings: Settings, args: argparse.Namespace) -> None:
    removed = _with_connection(settings, lambda conn: db_accounts.unban_ip(conn, args.ip))
    print(f"unbanned {args.ip}" if removed else f"{args.ip} was not banned")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="varistore", description="A variable store that speaks the VariPass API.")
    verbs = parser.add_subparsers(dest="verb", required=True)

    for name, func, text in (
        ("serve", cmd_serve, "database (if embedded), migrations, the API and the gateway, in the foreground"),
        ("api", cmd_api, "the HTTP API alone"),
        ("gateway", cmd_gateway, "the WebSocket gateway alone"),
    ):
        verb = verbs.add_parser(name, help=text)
        verb.add_argument("--host")
        verb.add_argument("--port", type=int)
        verb.set_defaults(func=func)
        if name == "serve":
            verb.add_argument("--gateway-port", type=int, help="the WebSocket gateway's port (default 8001)")
            verb.add_argument("--demo", action="store_true", help="ensure a demo account and print a curl line")

    migrate = verbs.add_parser("migrate", help="migrate the database schema")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(func=cmd_migrate)

    account = verbs.add_parser("account", help="manage accounts").add_subparsers(dest="account_verb", required=True)
    create = account.add_parser("create", help="create an account; prints its API key on the last line")
    create.add_argument("--email", required=True)
    create.add_argument("--password")
    create.add_argument("--confirmed", action="store_true")
    create.set_defaults(func=cmd_account_create)

    change = account.add_parser("set", help="change an account's flags and limits")
    change.add_argument("email")
    change.add_argument("--confirmed", action="store_true")
    change.add_argument("--locked", type=_flag)
    change.add_argument("--transfers", type=_flag)
    change.add_argument("--banned", type=_flag)
    change.add_argument("--max-variables", type=int)
    change.set_defaults(func=cmd_account_set)

    regenerate = account.add_parser("regenerate-key", help="replace an account's API key; prints the new one")
    regenerate.add_argument("email")
    regenerate.set_defaults(func=cmd_account_regenerate_key)

    for name, func in (("ban-ip", cmd_ban_ip), ("unban-ip", cmd_unban_ip)):
        verb = verbs.add_parser(name, help=f"{name.split('-')[0]} an IP address")
        verb.add_argument("ip", type=_ip)
        verb.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        _fail(f"bad configuration: {exc}")
    # Warnings and errors, with keys and passwords redacted: `serve` logs the supervisor's restarts,
    # not the database's and migrations' chatter. The API and the gateway set their own level.
    configure_logging("warning")
    try:
        args.func(settings, args)
    finally:
        embedded.stop_all()
