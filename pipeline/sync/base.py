"""What an OA adapter is, and the registry that finds one by name.

Contract:
* An adapter delivers one ``OutboundMessage`` (the canonical 报销单 of DOMAIN §8.1 in ``payload``) with
  ``submit(message) -> SubmitResult`` and turns an OA callback request into an ``OaDecision`` with
  ``parse_callback(headers, body)``. Adapters do no database work and keep no state between calls, so the relay
  may call ``submit`` again for the same message: they must pass ``message.idempotency_key`` (one per claim) and
  ``message.message_id`` (one per message, stable across retries) to the OA in whatever form it understands.
* ``submit`` raises ``DeliveryError``; ``retryable=False`` means trying again cannot help (e.g. the OA refused the
  form), so the relay dead-letters the message at once.
* ``parse_callback`` raises ``CallbackRejected`` when the request is not authentic and ``CallbackInvalid`` when it
  is authentic but malformed.
* ``create_adapter(name, **options)`` builds a registered adapter; ``register(name, factory)`` adds one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Decision = Literal["approved", "rejected", "withdrawn"]
DECISIONS: frozenset[str] = frozenset({"approved", "rejected", "withdrawn"})


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


@dataclass(frozen=True)
class OaDecision:
    decision: Decision
    doc_no: str | None = None
    claim_id: int | None = None
    oa_request_id: str | None = None
    comment: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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


_BUILTIN: dict[str, str] = {"generic_webhook": "pipeline.sync.generic_webhook:GenericWebhookAdapter"}
_REGISTERED: dict[str, Callable[..., OaAdapter]] = {}


def register(name: str, factory: Callable[..., OaAdapter]) -> None:
    _REGISTERED[name] = factory


def adapter_names() -> list[str]:
    return sorted(set(_BUILTIN) | set(_REGISTERED))


def create_adapter(name: str, **options: Any) -> OaAdapter:
    factory = _REGISTERED.get(name)
    if factory is None:
        if name not in _BUILTIN:
            raise ValueError(f"unknown OA adapter {name!r}; known: {', '.join(adapter_names())}")
        module_name, attr = _BUILTIN[name].split(":")
        factory = getattr(importlib.import_module(module_name), attr)
    return factory(**options)


__all__ = ["CallbackInvalid", "CallbackRejected", "DECISIONS", "Decision", "DeliveryError", "OaAdapter", "OaDecision",
           "OutboundMessage", "SubmitResult", "adapter_names", "create_adapter", "register"]
