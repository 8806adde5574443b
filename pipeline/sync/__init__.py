"""Delivery to OA systems: the adapter protocol and registry (``base``), status normalisation (``status``), field
mapping per OA form (``mapping``), attachments (``attachments``), the callback crypto of WeCom / DingTalk
(``msgcrypt``) and Feishu (``feishu_crypto``), Standard Webhooks signing (``webhook``) and the adapters themselves,
one module each (``generic_webhook``, ``weaver``, ``seeyon``, ``landray``, ``dingtalk``, ``wecom``, ``feishu``).
No database, no web framework."""

from pipeline.sync.base import (
    OA_STATUSES, BaseOaAdapter, CallbackInvalid, CallbackOutcome, CallbackRejected, CallbackReply, CallbackRequest,
    DeliveryError, OaAdapter, OaDecision, OutboundMessage, SubmitResult, adapter_names, create_adapter,
    handle_callback, lookup, poll_status, register,
)

__all__ = ["OA_STATUSES", "BaseOaAdapter", "CallbackInvalid", "CallbackOutcome", "CallbackRejected", "CallbackReply",
           "CallbackRequest", "DeliveryError", "OaAdapter", "OaDecision", "OutboundMessage", "SubmitResult",
           "adapter_names", "create_adapter", "handle_callback", "lookup", "poll_status", "register"]
