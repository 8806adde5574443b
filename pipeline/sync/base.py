"""What an OA adapter is, and the registry that finds one by name.

Contract:
* An adapter delivers one ``OutboundMessage`` (the canonical 报销单 of DOMAIN §8.1 in ``payload``) with
  ``submit(message) -> SubmitResult`` and turns an OA callback request into an ``OaDecision`` with
  ``parse_callback(headers, body)``. Adapters do no database work and keep no state between calls, so the relay
  may call ``submit`` again for the same message: they must pass ``message.idempotency_key`` (one per claim) and
  ``message.message_id`` (one per message, stable across retries) to the OA in whatever form it understands, or,
  where the OA has no such key, look the document up (``lookup``) before creating it again on a retry
  (``message.attempt > 1``).
* ``submit`` raises ``DeliveryError``; ``retryable=False`` means trying again cannot help (e.g. the OA refused the
  form), so the relay dead-letters the message at once.
* ``parse_callback`` raises ``CallbackRejected`` when the request is not authentic and ``CallbackInvalid`` when it
  is authentic but malformed.
* ``create_adapter(name, **options)`` builds a registered adapter; ``register(name, factory)`` adds one.

Optional members (defaults in ``BaseOaAdapter``; the module functions ``lookup``, ``poll_status`` and
``handle_callback`` fall back to them for adapters that do not inherit it):
* ``lookup(doc_no, *, since=None) -> SubmitResult | None``: the approval the OA already holds for our document
  number (``deduplicated=True``), or None when it has none or the adapter cannot search.
* ``status(oa_request_id) -> OaDecision | None``: the OA's current status, normalised; None when the adapter cannot
  poll or the OA does not know the id.
* ``handle_callback(CallbackRequest) -> CallbackOutcome``: the full callback exchange, for OAs that sign the query
  string (DingTalk, WeCom), send URL-verification handshakes (``decision`` None) or expect a particular reply body.

Statuses: ``OaDecision.decision`` is one of ``OA_STATUSES`` (pending, approved, rejected, withdrawn, deleted, paid,
reverted), every OA's own codes normalised (``pipeline.sync.status``). ``OaDecision.claim_decision`` turns it into
the three outcomes a claim can take (``DECISIONS``) or None while it is still open.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Decision = Literal["approved", "rejected", "withdrawn"]
DECISIONS: frozenset[str] = frozenset({"approved", "rejected", "withdrawn"})

OaStatus = Literal["pending", "approved", "rejected", "withdrawn", "deleted", "paid", "reverted"]
OA_STATUSES: frozenset[str] = frozenset({"pending", "approved", "rejected", "withdrawn", "deleted", "paid",
                                         "reverted"})
# What each OA status means for the claim. "reverted" (approval revoked afterwards) and "deleted" release the claim
# like a withdrawal; "paid" implies approval.
CLAIM_DECISION: dict[str, Decision | None] = {
    "pending": None, "approved": "approved", "paid": "approved", "rejected": "rejected", "withdrawn": "withdrawn",
    "deleted": "withdrawn", "reverted": "withdrawn",
}


@dataclass(frozen=True)
class OutboundMessage:
    message_id: str  # stable across retries: the receiver's de-duplication key
    idempotency_key: str  # one per claim
    topic: str  # e.g. "claim.submitted"
    payload: dict[str, Any]
    created_at: datetime
    attempt: int = 1


@dataclass(frozen=True)
class SubmitResult:
    oa_request_id: str | None  # the OA's id of the approval it created, when it tells us
    status: str  # the OA-side status as reported, e.g. "pending"
    deduplicated: bool = False  # True: the OA already had this document (found by lookup or its own key)


@dataclass(frozen=True)
class OaDecision:
    decision: OaStatus  # normalised; callbacks of the generic webhook only carry DECISIONS
    doc_no: str | None = None
    claim_id: int | None = None
    oa_request_id: str | None = None
    comment: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def claim_decision(self) -> Decision | None:
        return CLAIM_DECISION[self.decision]

    @property
    def is_final(self) -> bool:
        return self.claim_decision is not None


@dataclass(frozen=True)
class CallbackRequest:
    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class CallbackReply:
    status_code: int = 200
    body: bytes = b'{"ok":true}'
    media_type: str = "application/json"


@dataclass(frozen=True)
class CallbackOutcome:
    decision: OaDecision | None  # None: a handshake or an event that is not about an approval's status
    reply: CallbackReply = field(default_factory=CallbackReply)


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class CallbackRejected(Exception):
    """The callback is not authentic (bad or missing signature, stale timestamp)."""

    code = "callback_rejected"


class CallbackInvalid(Exception):
    """The callback is authentic but its content cannot be understood."""

    code = "callback_invalid"


class OaAdapter(Protocol):
    name: str

    def submit(self, message: OutboundMessage) -> SubmitResult: ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision: ...


class BaseOaAdapter:
    """Defaults for the optional members: no search, no polling, callbacks through ``parse_callback``."""

    name = "base"

    def lookup(self, doc_no: str, *, since: datetime | None = None) -> SubmitResult | None:
        return None

    def status(self, oa_request_id: str) -> OaDecision | None:
        return None

    def handle_callback(self, request: CallbackRequest) -> CallbackOutcome:
        return CallbackOutcome(self.parse_callback(request.headers, request.body))

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        raise CallbackRejected(f"the {self.name} adapter accepts no callbacks")

    def close(self) -> None:
        pass


def lookup(adapter: OaAdapter, doc_no: str, *, since: datetime | None = None) -> SubmitResult | None:
    method = getattr(adapter, "lookup", None)
    return method(doc_no, since=since) if method else None


def poll_status(adapter: OaAdapter, oa_request_id: str) -> OaDecision | None:
    method = getattr(adapter, "status", None)
    return method(oa_request_id) if method else None


def handle_callback(adapter: OaAdapter, request: CallbackRequest) -> CallbackOutcome:
    method = getattr(adapter, "handle_callback", None)
    if method:
        return method(request)
    return CallbackOutcome(adapter.parse_callback(request.headers, request.body))


_BUILTIN: dict[str, str] = {
    "generic_webhook": "pipeline.sync.generic_webhook:GenericWebhookAdapter",
    "weaver": "pipeline.sync.weaver:WeaverAdapter",
    "seeyon": "pipeline.sync.seeyon:SeeyonAdapter",
    "landray": "pipeline.sync.landray:LandrayAdapter",
    "dingtalk": "pipeline.sync.dingtalk:DingTalkAdapter",
    "wecom": "pipeline.sync.wecom:WeComAdapter",
    "feishu": "pipeline.sync.feishu:FeishuAdapter",
}
_REGISTERED: dict[str, Callable[..., OaAdapter]] = {}


def register(name: str, factory: Callable[..., OaAdapter]) -> None:
    _REGISTERED[name] = factory


def adapter_names() -> list[str]:
    return sorted(set(_BUILTIN) | set(_REGISTERED))


def builtin_module(name: str) -> str:
    """The module path of a built-in adapter (its ``build_payload`` is what the dry run renders)."""
    if name not in _BUILTIN:
        raise ValueError(f"unknown OA adapter {name!r}; known: {', '.join(adapter_names())}")
    return _BUILTIN[name].split(":")[0]


def create_adapter(name: str, **options: Any) -> OaAdapter:
    factory = _REGISTERED.get(name)
    if factory is None:
        module_name = builtin_module(name)
        factory = getattr(importlib.import_module(module_name), _BUILTIN[name].split(":")[1])
    return factory(**options)


__all__ = ["CLAIM_DECISION", "BaseOaAdapter", "CallbackInvalid", "CallbackOutcome", "CallbackRejected",
           "CallbackReply", "CallbackRequest", "DECISIONS", "Decision", "DeliveryError", "OA_STATUSES", "OaAdapter",
           "OaDecision", "OaStatus", "OutboundMessage", "SubmitResult", "adapter_names", "builtin_module",
           "create_adapter", "handle_callback", "lookup", "poll_status", "register"]
