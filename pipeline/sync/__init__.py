"""Delivery to OA systems: the adapter protocol and registry (``base``), Standard Webhooks signing
(``webhook``) and the adapters themselves, one module each (``generic_webhook``). No database, no web framework."""

from pipeline.sync.base import (
    CallbackInvalid, CallbackRejected, DeliveryError, OaAdapter, OaDecision, OutboundMessage, SubmitResult,
    adapter_names, create_adapter, register,
)

__all__ = ["CallbackInvalid", "CallbackRejected", "DeliveryError", "OaAdapter", "OaDecision", "OutboundMessage",
           "SubmitResult", "adapter_names", "create_adapter", "register"]
