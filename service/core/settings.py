"""The one place that reads the environment (and an optional `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Plan(BaseSettings):
    """Limits an operator may change; DESIGN.md §3 "Cooldown and expiry"."""

    model_config = SettingsConfigDict(env_prefix="VARISTORE_PLAN_", env_file=".env", extra="ignore", frozen=True)

    max_history_points: int = Field(1440, ge=1)
    min_cooldown: int = Field(60, ge=1)
    zero_expire_cooldown: int = Field(1, ge=1)
    max_variables: int = Field(100, ge=0)

    def cooldown(self, expire: int) -> int:
        """Seconds between two writes to a variable that keeps `expire` seconds of history."""
        if expire == 0:
            return self.zero_expire_cooldown
        return max(self.min_cooldown, -(-expire // self.max_history_points))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VARISTORE_", env_file=".env", extra="ignore", frozen=True)

    # DATABASE_URL is the conventional name; unset means "run our own PostgreSQL in data_dir".
    database_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "VARISTORE_DATABASE_URL")
    )
    data_dir: Path = Field(Path(".varistore"), validation_alias=AliasChoices("VARISTORE_DATA", "VARISTORE_DATA_DIR"))
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # The API's pool of connections to PostgreSQL.
    pool_min_size: int = Field(2, ge=0)
    pool_max_size: int = Field(20, ge=1)
    # "transaction": the API's DATABASE_URL is a transaction-mode pooler, PgBouncer (infra/pgbouncer/), which
    # sets the statement timeout; asyncpg then keeps no prepared statements (a Parse per query).
    db_pooler: Literal["none", "transaction"] = "none"
    # Group commit: the most writes sent to PostgreSQL as one statement and one commit (service/db/write_batch.py);
    # near half the writers expected at once, so two batches alternate (service/db/batches.py).
    write_batch_max: int = Field(32, ge=1)
    max_body_bytes: int = Field(65536, ge=1024)
    prune_interval: float = Field(60.0, gt=0)
    # The WebSocket gateway (ws_gateway/): where it listens and how it treats its sockets.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(8001, ge=0, le=65535)
    ws_auth_timeout: float = Field(10.0, gt=0)  # to send `key <key>` after connecting
    ws_idle_timeout: float = Field(60.0, gt=0)  # without a `ping` before the socket is closed
    ws_send_timeout: float = Field(5.0, gt=0)  # a client that reads nothing for this long is closed
    ws_max_per_account: int = Field(100, ge=1)
    ws_max_connections: int = Field(20_000, ge=1)
    # The gateway's own pool, for key checks only (its LISTEN connection is apart).
    gateway_pool_min_size: int = Field(1, ge=0)
    gateway_pool_max_size: int = Field(5, ge=1)
    # Graphs: renders running at once per process, and the bytes of recent pictures kept.
    render_workers: int = Field(2, ge=1)
    render_cache_bytes: int = Field(32 * 1024 * 1024, ge=0)
    # Defences of a public endpoint (DESIGN.md §8, SECURITY.md).
    head_timeout: float = Field(10.0, gt=0)  # to send a whole request head, else the connection closes
    body_timeout: float = Field(10.0, gt=0)  # to send the body once its head is in
    max_head_bytes: int = Field(16384, ge=1024)  # request line and headers; past it 431
    max_connections: int = Field(4096, ge=1)  # open connections per API process; past it new ones close
    db_deadline: float = Field(5.0, gt=0)  # a request's database work; past it error_db (503)
    # On SIGTERM, requests in flight get this long to finish before they are cut (rolling restarts).
    shutdown_timeout: float = Field(20.0, gt=0)
    # Flood limits in slowapi's (the `limits` library's) notation, e.g. "25/second;600/minute";
    # empty turns one off. Counted per API process with the default memory storage.
    limit_per_key: str = "25/second"
    limit_per_ip: str = "100/second"
    limit_storage: str = "memory://"
    # A refusal is answered after about this many seconds (jittered), so that a client in a loop
    # costs one answer a second per connection rather than all the CPU (service/varipass/floods.py).
    limit_hold: float = Field(1.0, ge=0)
    log_level: str = "info"
    access_log: bool = False
    log_format: Literal["text", "json"] = "text"  # json: one object per line, for log collectors
    # Proxies whose X-Forwarded-For is believed: the banned-IP check needs the real client.
    forwarded_allow_ips: str = "127.0.0.1"
    # Who may read GET /metrics on the API and the gateway: addresses and networks, comma-separated.
    metrics_allow_ips: str = "127.0.0.1,::1"
    # The dashboard (service/web/) and its emails.
    public_url: str = ""  # the base URL put in emailed links, e.g. https://varistore.example; empty: the request's
    # The WebSocket the pages listen on, e.g. wss://varistore.example/ws; empty: the page's host at gateway_port.
    gateway_url: str = ""
    session_days: int = Field(30, ge=1)  # a session not used for this long ends
    token_minutes: int = Field(60 * 24, ge=1)  # confirmation and reset links expire after this long
    limit_per_ip_accounts: str = "10/minute;100/hour"  # log-in, sign-up and reset, per client address
    limit_per_account: str = "5/minute;30/hour"  # log-in and reset, per email address
    smtp_host: str = ""  # empty: emails are written to the log instead of sent
    smtp_port: int = Field(0, ge=0, le=65535)  # 0: 25, 587 with starttls, 465 with tls
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(10.0, gt=0)
    mail_from: str = "Varistore <varistore@localhost>"
    plan: Plan = Field(default_factory=Plan)


def load_settings() -> Settings:
    """Read the settings once; a bad value raises here, at startup."""
    return Settings()
