"""The `varistore` command line."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import sys
import threading
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit

import asyncpg
from alembic.util.exc import CommandError

from service import embedded, server
from service.actions import accounts
from service.actions.catalog import USE_CASES
from service.actions.context import Outcome, Services
from service.actions.keys import NewKey
from service.core.access import Actor
from service.core.emails import InvalidEmail, checked_email
from service.core.ids import key_hash, new_key
from service.core.logs import configure_logging
from service.core.results import Result, VariPassError
from service.core.settings import Settings, load_settings
from service.core.values import parse_flag
from service.db import accounts as db_accounts
from service.db.keys import ScopedKey
from service.db.pool import DATABASE_ERRORS, connect, create_database
from service.db.read_batch import ReadBatcher
from service.db.write_batch import WriteBatcher
from service.rendering import Renderer
from service.server import base_url
from service.supervisor import Child, Supervisor

CONNECT_SECONDS = 10.0  # for the command line to reach the database, or say it cannot


def _say(message: str) -> None:
    print(f"varistore: {message}", file=sys.stderr, flush=True)


def _fail(message: str) -> NoReturn:
    _say(message)
    raise SystemExit(1)


def where(url: str) -> str:
    """host:port/database of a PostgreSQL URL, without its user or password.

    Raises:
        ValueError: not a postgresql:// URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(url)
    # As written (host:port, or several for failover), or the socket directory in `?host=`.
    hosts = parts.netloc.rpartition("@")[2] or parse_qs(parts.query).get("host", ["localhost"])[0]
    return f"{hosts}/{parts.path.lstrip('/') or 'postgres'}"


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server in VARISTORE_DATA (started or joined); says which on stderr."""
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        try:
            _say(f"using the database at {where(url)}")
        except ValueError:
            _fail("DATABASE_URL is not a PostgreSQL URL: postgresql://user:password@host:5432/database")
        return url
    data_dir = settings.data_dir.resolve()
    if "data_dir" not in settings.model_fields_set and not data_dir.exists():
        # Run from another folder, a command would otherwise make a second, empty database unnoticed (issue 9).
        _say(f"no data directory here: making a new one, {data_dir} (VARISTORE_DATA names another)")
    else:
        _say(f"using the database in {data_dir}")
    return embedded.start(settings.data_dir)


def _reachable(url: str) -> str:
    """`url`, once a connection to it works; one line and exit status 1 when none does."""
    try:
        _run_on(url, lambda conn: conn.fetchval("SELECT 1"))
    except TimeoutError:
        _fail(f"the database at {where(url)} did not answer in {CONNECT_SECONDS:.0f} s")
    except (*DATABASE_ERRORS, ValueError) as exc:
        _fail(f"cannot use the database at {where(url)}: {exc}")
    return url


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

    url = _reachable(database_url(settings))
    upgrade(url)
    return url


Work = Callable[[asyncpg.Connection], Awaitable[Any]]


def _with_connection(settings: Settings, work: Work) -> Any:
    """Run `work` on the database `serve` uses (migrated first, so a fresh one works at once)."""
    return _run_on(migrated_url(settings), work)


def _run_on(url: str, work: Work) -> Any:
    async def run() -> Any:
        conn = await connect(url, timeout=CONNECT_SECONDS)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


DEMO_EMAIL = "demo@varistore.localhost"
DEMO_KEY_FILE = "demo-key"  # in the data directory: only the key's hash is in the database (DESIGN.md §3)
READY_POLL = 0.1  # seconds between looks at whether the API and the gateway answer


async def _demo_key(conn: asyncpg.Connection, max_variables: int, kept: Path) -> str:
    """The demo account's key: the one kept in `kept` while it still opens the account, else a new one, kept
    there (the account is created, confirmed, the first time). Firmware flashed with it keeps working."""
    key = kept.read_text().strip() if kept.exists() else ""
    if key and await db_accounts.has_key(conn, DEMO_EMAIL, key_hash(key)):
        return key
    key = new_key()
    if await db_accounts.update_key(conn, DEMO_EMAIL, key) is None:
        await db_accounts.insert_account(conn, DEMO_EMAIL, None, key, True, max_variables)
    kept.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        os.fchmod(file.fileno(), 0o600)  # a file kept from before keeps its mode otherwise
        file.write(key + "\n")
    return key


_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # http_proxy is not for 127.0.0.1


def _answers(url: str) -> bool:
    try:
        with _direct.open(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _announce_when_ready(urls: list[str], lines: list[str]) -> None:
    """Print `lines` once every one of `urls` answers 200; in a thread that dies with serve."""

    def wait_then_print() -> None:
        while not all(map(_answers, urls)):
            threading.Event().wait(READY_POLL)
        print("\n".join(lines), flush=True)

    threading.Thread(target=wait_then_print, name="ready", daemon=True).start()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    host, port = args.host or settings.host, settings.port if args.port is None else args.port
    gateway_port = settings.gateway_port if args.gateway_port is None else args.gateway_port
    url = migrated_url(settings)
    api, gateway = base_url(host, port), base_url(host, gateway_port)
    ws = gateway.replace("http://", "ws://", 1) + "ws"
    lines = [f"Varistore is ready: the dashboard at {api}app/, the API at {api}, WebSocket at {ws}"]
    if args.demo:
        kept = settings.data_dir.resolve() / DEMO_KEY_FILE
        key = _run_on(url, lambda conn: _demo_key(conn, settings.plan.max_variables, kept))
        lines += [
            f"Demo account {DEMO_EMAIL}, API key {key} (kept in {kept}: the same after a restart). Try:",
            f"  curl '{api}?key={key}&action=create&type=float&name=Temperature'",
            f"and watch for changes at {ws} (send `key {key}`, then `ping` every 10 s)",
        ]
    _announce_when_ready([f"{api}healthz", f"{gateway}healthz"], lines)
    # The children get the database's URL rather than joining the embedded server, which this
    # process owns and stops last; the API, the gateway's port for the pages' live values.
    env = {**os.environ, "DATABASE_URL": url, "VARISTORE_GATEWAY_PORT": str(gateway_port)}
    command = [sys.executable, "-m", "service"]
    # A child's own graceful stop comes first: requests in flight finish, sockets are closed with 1001.
    stop = settings.shutdown_timeout + 5
    children = [
        Child("the API", [*command, "api", "--host", host, "--port", str(port)], env, stop),
        Child("the gateway", [*command, "gateway", "--host", host, "--port", str(gateway_port)], env, stop),
    ]
    if Supervisor(children).run() != 0:
        raise SystemExit(1)


def cmd_gateway(settings: Settings, args: argparse.Namespace) -> None:
    from ws_gateway.server import run

    host = args.host or settings.gateway_host
    run(settings, database_url(settings), host, settings.gateway_port if args.port is None else args.port)


def cmd_api(settings: Settings, args: argparse.Namespace) -> None:
    # uvicorn's lines too (server.run passes log_config=None).
    configure_logging(settings.log_level, settings.log_format)
    port = settings.port if args.port is None else args.port
    server.run(settings, database_url(settings), args.host or settings.host, port)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from migrations import upgrade

    try:
        upgrade(_reachable(database_url(settings)), args.revision)
    except CommandError as exc:  # an unknown revision
        _fail(f"cannot migrate to {args.revision!r}: {exc}")
    print(f"migrated to {args.revision}")


def cmd_account_create(settings: Settings, args: argparse.Namespace) -> None:
    try:
        email = checked_email(args.email)
    except InvalidEmail as exc:
        _fail(f"not an email address: {args.email!r}: {exc}")

    async def work(conn: asyncpg.Connection) -> accounts.NewAccount:
        try:
            return await accounts.create(
                conn, email, args.password, confirmed=args.confirmed, max_variables=settings.plan.max_variables
            )
        except accounts.AccountError as exc:
            _fail(str(exc))

    made = _with_connection(settings, work)
    print(f"created account {email}{'' if args.confirmed else ' (unconfirmed)'}; its API key:")
    print(made.key)


# What `account set` can change, and how it names each when it says what changed.
_FLAGS = {
    "confirmed": "confirmed",
    "locked": "locked",
    "transfers_enabled": "transfers",
    "banned": "banned",
    "max_variables": "max variables",
}


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def cmd_account_set(settings: Settings, args: argparse.Namespace) -> None:
    async def work(conn: asyncpg.Connection) -> tuple[db_accounts.Account, db_accounts.Account] | None:
        async with conn.transaction():
            before = await db_accounts.select_by_email(conn, args.email, for_update=True)
            if before is None:
                return None
            after = await db_accounts.update_flags(
                conn,
                args.email,
                confirmed=args.confirmed,
                locked=args.locked,
                transfers_enabled=args.transfers,
                banned=args.banned,
                max_variables=args.max_variables,
            )
            assert after is not None  # the row is locked
            return before, after

    changed = _with_connection(settings, work)
    if changed is None:
        _fail(f"no account with the email {args.email}")
    before, after = changed
    changes = [
        f"{name} {_shown(getattr(before, field))} -> {_shown(getattr(after, field))}"
        for field, name in _FLAGS.items()
        if getattr(before, field) != getattr(after, field)
    ]
    print(f"{after.email}: {', '.join(changes) or 'nothing changed'}")


def cmd_account_regenerate_key(settings: Settings, args: argparse.Namespace) -> None:
    async def work(conn: asyncpg.Connection) -> accounts.NewAccount | None:
        account = await db_accounts.select_by_email(conn, args.email)
        return await accounts.regenerate_key(conn, account) if account is not None else None

    made = _with_connection(settings, work)
    if made is None:
        _fail(f"no account with the email {args.email}")
    print(f"new API key of {args.email} (the old one no longer works):")
    print(made.key)


async def _perform_as(url: str, settings: Settings, email: str, action: str, fields: dict[str, Any]) -> Outcome[Any]:
    """Run a use case as the account with `email`, as the dashboard and REST run it (no rule written here)."""
    database = await create_database(url, min_size=1, max_size=1, deadline=CONNECT_SECONDS)
    renderer = Renderer(workers=1, cache_bytes=0)
    services = Services(database, WriteBatcher(database, max_size=1), settings.plan, renderer, ReadBatcher(database, 1))
    try:
        async with database.connection() as conn:
            account = await db_accounts.select_by_email(conn, email)
        if account is None:
            _fail(f"no account with the email {email}")
        return await USE_CASES[action].perform_fields(services, Actor.by_account(account.id, None), fields)
    finally:
        await services.close()
        await database.close()


# What a refusal of a key command means, where the protocol's own words would not say.
_KEY_FAILURES = {
    Result.ERROR_INVALID_ID: "not a variable of this account",
    Result.ERROR_INVALID_PARAMETERS: "a label is at most 64 characters long, a variable id 1 to 64",
    Result.ERROR_UNCONFIRMED: "the account is not confirmed (account set EMAIL --confirmed)",
    Result.ERROR_BANNED: "the account is banned",
}


def _key_command(
    settings: Settings, email: str, action: str, fields: dict[str, Any], failures: dict[Result, str] | None = None
) -> Any:
    """The use case's result; a refusal is one line and exit status 1 (`failures`: this command's words for one)."""
    url = migrated_url(settings)
    try:
        return asyncio.run(_perform_as(url, settings, email, action, fields)).value
    except VariPassError as exc:
        words = {**_KEY_FAILURES, **(failures or {})}.get(exc.result, "refused")
        _fail(f"{exc.result.value}: {words}")


def _access(key: ScopedKey) -> str:
    return "read-write" if key.read and key.write else "read-only" if key.read else "write-only"


def cmd_key_create(settings: Settings, args: argparse.Namespace) -> None:
    fields = {
        "label": args.label,
        "read": not args.write_only,
        "write": not args.read_only,
        "variables": args.variables,
    }
    made: NewKey = _key_command(settings, args.email, "key_create", fields)
    reaches = "all variables" if made.info.variables is None else "variables " + ", ".join(made.info.variables)
    print(f"created key {made.info.id} of {args.email} ({_access(made.info)}, {reaches}); shown only this once:")
    print(made.key)


def cmd_key_list(settings: Settings, args: argparse.Namespace) -> None:
    listed: list[ScopedKey] = _key_command(settings, args.email, "key_list", {})
    if not listed:
        print(f"{args.email} has no scoped keys")
    for key in listed:
        used = "never" if key.last_used is None else f"{key.last_used:%Y-%m-%d %H:%M} UTC"
        reaches = "all" if key.variables is None else ",".join(key.variables)
        print(
            f"{key.id}\t{key.prefix}…\t{_access(key)}\tvariables {reaches}\t"
            f"created {key.created:%Y-%m-%d %H:%M} UTC\tlast used {used}\t{key.label}".rstrip("\t")
        )


def cmd_key_revoke(settings: Settings, args: argparse.Namespace) -> None:
    failures = {Result.ERROR_INVALID_ID: f"{args.email} has no key {args.key_id}"}
    _key_command(settings, args.email, "key_revoke", {"key_id": args.key_id}, failures)
    print(f"revoked key {args.key_id} of {args.email}: it no longer works")


def cmd_ban_ip(settings: Settings, args: argparse.Namespace) -> None:
    _with_connection(settings, lambda conn: db_accounts.ban_ip(conn, args.ip))
    print(f"banned {args.ip}")


def cmd_unban_ip(settings: Settings, args: argparse.Namespace) -> None:
    removed = _with_connection(settings, lambda conn: db_accounts.unban_ip(conn, args.ip))
    print(f"unbanned {args.ip}" if removed else f"{args.ip} was not banned")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="varistore",
        description="A variable store that speaks the VariPass API. The database is DATABASE_URL's, or the "
        "embedded PostgreSQL in VARISTORE_DATA (default ./.varistore); every command says which on stderr.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND", help="what to do")

    for name, func, text in (
        ("serve", cmd_serve, "database (if embedded), migrations, the API and the gateway, in the foreground"),
        ("api", cmd_api, "the HTTP API alone"),
        ("gateway", cmd_gateway, "the WebSocket gateway alone"),
    ):
        verb = verbs.add_parser(name, help=text, description=text)
        verb.add_argument("--host", help="the address to listen on (default VARISTORE_HOST, 127.0.0.1)")
        verb.add_argument("--port", type=int, help="the port to listen on (default VARISTORE_PORT, 8000)")
        verb.set_defaults(func=func)
        if name == "serve":
            verb.add_argument("--gateway-port", type=int, help="the WebSocket gateway's port (default 8001)")
            verb.add_argument(
                "--demo",
                action="store_true",
                help=f"make sure a demo account exists and print its key (kept in VARISTORE_DATA/{DEMO_KEY_FILE}, "
                "the same after a restart) with a curl line to try",
            )

    migrate = verbs.add_parser("migrate", help="migrate the database schema", description="migrate the schema")
    migrate.add_argument("revision", nargs="?", default="head", help="the revision to migrate to (default head)")
    migrate.set_defaults(func=cmd_migrate)

    account = verbs.add_parser("account", help="manage accounts").add_subparsers(
        dest="account_verb", required=True, metavar="COMMAND", help="what to do to an account"
    )
    create = account.add_parser("create", help="create an account; prints its API key on the last line")
    create.add_argument("--email", required=True, help="the account's email address (unique, any case)")
    create.add_argument("--password", help="a password for the dashboard (stored as an argon2 hash)")
    create.add_argument(
        "--confirmed", action="store_true", help="confirmed at once (else the API answers error_unconfirmed)"
    )
    create.set_defaults(func=cmd_account_create)

    change = account.add_parser("set", help="change an account's flags and limits; prints what changed")
    change.add_argument("email", help="the account's email address (any case)")
    # --confirmed alone means true, as it always has; false unconfirms.
    change.add_argument(
        "--confirmed",
        type=_flag,
        nargs="?",
        const=True,
        metavar="true|false",
        help="confirmed (alone: true); false unconfirms",
    )
    for flag, text in (
        ("--locked", "locked: no variable can be created, edited or deleted"),
        ("--transfers", "whether others may transfer variables to this account"),
        ("--banned", "banned: every request with its key answers error_banned"),
    ):
        change.add_argument(flag, type=_flag, metavar="true|false", help=text)
    change.add_argument("--max-variables", type=int, metavar="N", help="how many variables the account may have")
    change.set_defaults(func=cmd_account_set)

    regenerate = account.add_parser("regenerate-key", help="replace an account's API key; prints the new one")
    regenerate.add_argument("email", help="the account's email address (any case)")
    regenerate.set_defaults(func=cmd_account_regenerate_key)

    key = verbs.add_parser("key", help="manage an account's scoped keys (issue 14)").add_subparsers(
        dest="key_verb", required=True, metavar="COMMAND", help="what to do to an account's scoped keys"
    )
    make = key.add_parser(
        "create", help="make a scoped key, limited to some variables and to reading or writing; prints it once"
    )
    make.add_argument("--email", required=True, help="the account's email address (any case)")
    make.add_argument("--label", default="", help="what the key is for, at most 64 characters")
    make.add_argument(
        "--variable",
        dest="variables",
        action="append",
        metavar="ID",
        help="a variable the key may reach (repeat for more; default: all, those made later too)",
    )
    only = make.add_mutually_exclusive_group()
    only.add_argument("--read-only", action="store_true", help="the key may read, not write (default: both)")
    only.add_argument("--write-only", action="store_true", help="the key may write, not read (default: both)")
    make.set_defaults(func=cmd_key_create)
    listing = key.add_parser("list", help="list an account's scoped keys: id, prefix, limits, last use, label")
    listing.add_argument("--email", required=True, help="the account's email address (any case)")
    listing.set_defaults(func=cmd_key_list)
    revoke = key.add_parser("revoke", help="revoke a scoped key: it stops working at once")
    revoke.add_argument("--email", required=True, help="the account's email address (any case)")
    revoke.add_argument("key_id", type=int, metavar="KEY_ID", help="the key's id, as `key list` shows it")
    revoke.set_defaults(func=cmd_key_revoke)

    for name, func in (("ban-ip", cmd_ban_ip), ("unban-ip", cmd_unban_ip)):
        verb = verbs.add_parser(name, help=f"{name.split('-')[0]} an IP address")
        verb.add_argument("ip", type=_ip, help="an IPv4 or IPv6 address")
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
    configure_logging("warning", settings.log_format)
    try:
        args.func(settings, args)
    finally:
        embedded.stop_all()
