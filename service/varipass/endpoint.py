"""The protocol endpoint: the one function every device request passes through.

It is where a flood limit, a metric or an access log sees each request, keyed by action and
result (DESIGN.md §8), and the one place where failures become answers: a protocol error is its
result string, a lost database `error_db` with 503, a bug `error_db` with 500 — never a bare page.
"""

from __future__ import annotations

import logging
import time

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from service.actions.context import Services
from service.core.changes import Change
from service.core.results import Result, VariPassError
from service.db.notify import Notifier
from service.db.pool import DATABASE_ERRORS
from service.metrics import ApiMetrics
from service.varipass import encode, transport
from service.varipass.dispatch import action_of, actor_of, answer_of, dispatch
from service.varipass.floods import FloodLimits

log = logging.getLogger(__name__)

# Of PostgreSQL's errors, those of a server away or overloaded (SQLSTATE classes 08, 53, 57, 58),
# not of a statement it refused.
OUTAGES = (
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresSystemError,
)


class Endpoint:
    """Answers protocol requests with the process's services, and announces what they changed."""

    def __init__(
        self, services: Services, notifier: Notifier, max_body: int, floods: FloodLimits, metrics: ApiMetrics
    ) -> None:
        self.services = services
        self.notifier = notifier
        self.max_body = max_body
        self.floods = floods
        self.metrics = metrics

    async def __call__(self, request: Request) -> Response:
        # The hook point of DESIGN.md §8: every request, its action and its result.
        started = time.perf_counter()
        action, result, response, changes = await self._answer(request)
        self.notifier.notify(changes)
        self.metrics.request(action, result, time.perf_counter() - started)
        return response

    async def _answer(self, request: Request) -> tuple[str | None, Result, Response, tuple[Change, ...]]:
        """(the action asked, its result, the response, the changes it committed)."""
        version = request.scope.get("http_version", "1.1")
        fields = transport.query_fields(request)
        action: str | None = fields.get("action")
        style = answer_of(action)  # styles an error before the body is read
        try:
            raw = await transport.parse(request, fields, self.max_body)
            action, style = raw.action, answer_of(raw.action)
            spec = action_of(raw)
            actor = actor_of(raw)
            # Flood limits: the action (how to answer) and the key are known, no database work is done.
            await self.floods.check(actor.key_hash, raw.client_ip)
            outcome = await dispatch(spec, raw, actor, self.services)
            reply = spec.present(outcome.value)
        except VariPassError as exc:
            return action, exc.result, encode.failure(exc.result, exc.status, style, version, exc.headers), ()
        except DATABASE_ERRORS as exc:
            if isinstance(exc, asyncpg.PostgresError) and not isinstance(exc, OUTAGES):
                log.exception("database failure")  # a statement PostgreSQL refused: a bug, worth its traceback
            else:
                # A database away, frozen or past the deadline: one line per request, not a traceback.
                log.warning("database unavailable, answered error_db: %s: %s", type(exc).__name__, exc)
            return action, Result.ERROR_DB, encode.failure(Result.ERROR_DB, 503, style, version), ()
        except Exception:
            # A bug, not bad input: still a protocol answer, and the worker serves on.
            log.exception("unexpected failure")
            return action, Result.ERROR_DB, encode.failure(Result.ERROR_DB, 500, style, version), ()
        return action, Result.SUCCESS, encode.success(reply, style, version), outcome.changes
