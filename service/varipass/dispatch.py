"""The protocol's table of actions and its first checks (DESIGN.md §3, checks 1 and 2).

Each action names the use case it runs (service/actions/catalog.py, which applies checks 3 to
7), how its result is presented, and how it answers. Several actions share a use case and
differ only in presentation: `sread` is `read` in the simple format.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from service.actions.catalog import USE_CASES, UseCase
from service.actions.context import Outcome, Services
from service.actions.params import Params
from service.core.access import Actor
from service.core.records import record
from service.core.results import Result, VariPassError
from service.varipass import presenter
from service.varipass.presenter import Answer, Present
from service.varipass.transport import RawRequest


@record
class ActionSpec:
    use_case: UseCase
    present: Present
    answer: Answer = Answer.JSON

    @property
    def params(self) -> type[Params]:
        return self.use_case.params

    @property
    def public(self) -> bool:
        return self.use_case.public


def _spec(use_case: str, present: Present, answer: Answer = Answer.JSON) -> ActionSpec:
    return ActionSpec(USE_CASES[use_case], present, answer)


ACTIONS: dict[str, ActionSpec] = {
    "create": _spec("create", presenter.created),
    "edit": _spec("edit", presenter.nothing),
    "info": _spec("info", presenter.info),
    "delete": _spec("delete", presenter.nothing),
    "ordprev": _spec("ordprev", presenter.nothing),
    "ordnext": _spec("ordnext", presenter.nothing),
    "list": _spec("list", presenter.id_list),
    "read": _spec("read", presenter.read),
    "sread": _spec("read", presenter.sread, Answer.SIMPLE),
    "history": _spec("history", presenter.history),
    "write": _spec("write", presenter.nothing),
    "swrite": _spec("write", presenter.nothing, Answer.SIMPLE),
    "toggle": _spec("toggle", presenter.toggled),
    "stoggle": _spec("toggle", presenter.stoggled, Answer.SIMPLE),
    "all": _spec("all", presenter.all_data),
    "latest": _spec("latest", presenter.latest),
    "slatest": _spec("latest", presenter.slatest, Answer.SIMPLE),
    "transfer": _spec("transfer", presenter.nothing),
    # Both answer an image; they differ in how they answer errors.
    "graph": _spec("graph", presenter.graph),
    "sgraph": _spec("graph", presenter.graph, Answer.SIMPLE),
}


def changes_nothing(action: str | None) -> bool:
    """Whether asking `action` can change nothing, so that HEAD may ask it (an unknown one is refused)."""
    spec = ACTIONS.get(action or "")
    return spec is None or spec.use_case.safe


def answer_of(action: str | None) -> Answer:
    """How errors of this action are written: simple actions answer a bare result string."""
    spec = ACTIONS.get(action) if action else None
    return spec.answer if spec is not None else Answer.JSON


def action_of(raw: RawRequest) -> ActionSpec:
    """The request's action (checks 1 and 2: first failure wins).

    Raises:
        VariPassError: error_no_request, error_invalid_action.
    """
    if raw.action is None:
        raise VariPassError(Result.ERROR_NO_REQUEST)
    spec = ACTIONS.get(raw.action)
    if spec is None:
        raise VariPassError(Result.ERROR_INVALID_ACTION)
    return spec


def actor_of(raw: RawRequest) -> Actor:
    """The party the request's key names, or nobody without a key."""
    return Actor.public(raw.client_ip) if raw.key is None else Actor.of_secret(raw.key, raw.client_ip)


def dispatch(spec: ActionSpec, raw: RawRequest, actor: Actor, services: Services) -> Awaitable[Outcome[Any]]:
    """Run the request's use case as `actor`."""
    return spec.use_case.perform_fields(services, actor, raw.fields, conditions=raw.conditions)
