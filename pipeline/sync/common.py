"""What the form-based OA adapters share: the submit skeleton, status normalisation and hook callbacks.

Contract:
* ``FormAdapter`` (subclassed by weaver, seeyon, landray, dingtalk, wecom, feishu) holds a validated
  ``FormMapping`` and an optional attachment source. ``submit(message)``:
  1. renders the form (a ``MappingError`` becomes a permanent ``BusinessError``);
  2. on a retry (``message.attempt > 1``) of an adapter without a native idempotency key
     (``native_idempotency = False``), ``lookup(doc_no, since=message.created_at - 10 min, **lookup_hints(form))``
     first and returns what it finds (``deduplicated=True``) instead of creating the document again;
  3. loads the attachments when the mapping has an ``attachments`` rule;
  4. calls the subclass's ``create(message, form, files) -> SubmitResult``.
* ``normalise(raw)`` maps the OA's status code through the mapping's ``status_map`` and ``pipeline.sync.status``.
* OAs without a push API of their own (Weaver, Seeyon, Landray) call us from an in-OA hook (an E9 node Action, a
  Seeyon event listener, an EKP robot node) that POSTs a Standard Webhooks request signed with
  ``callback_secret``; ``hook_callback`` verifies it and reads ``{"doc_no" | "claim_id", "oa_request_id",
  "status": <the OA's own code> | "decision": <one of OA_STATUSES>, "comment"?}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.sync import webhook
from pipeline.sync.attachments import AttachmentRef, AttachmentSource, load_attachments
from pipeline.sync.base import (
    OA_STATUSES, BaseOaAdapter, CallbackInvalid, CallbackRejected, OaDecision, OaStatus, OutboundMessage,
    SubmitResult,
)
from pipeline.sync.http import BusinessError, MalformedResponse
from pipeline.sync.mapping import FormMapping, MappingError, RenderedForm, coerce_mapping, render_form
from pipeline.sync.status import UnknownStatus, normalise

LOOKUP_MARGIN = timedelta(minutes=10)


class FormAdapter(BaseOaAdapter):
    name = "form"
    native_idempotency = False

    def __init__(self, mapping: FormMapping | Mapping[str, Any] | str | Path, *,
                 attachment_source: AttachmentSource | None = None, lookup_window_days: int = 30):
        self.mapping = coerce_mapping(mapping, self.name)
        self.attachment_source = attachment_source
        self.lookup_window = timedelta(days=lookup_window_days)

    def submit(self, message: OutboundMessage) -> SubmitResult:
        document = message.payload
        doc_no = document.get("doc_no")
        if not doc_no:
            raise BusinessError(f"{self.name}: the document has no doc_no")
        try:
            form = render_form(document, self.mapping)
        except MappingError as exc:
            raise BusinessError(f"{self.name}: {exc}") from exc
        if message.attempt > 1 and not self.native_idempotency:
            found = self.lookup(str(doc_no), since=message.created_at - LOOKUP_MARGIN, **self.lookup_hints(form))
            if found is not None:
                return found
        files = load_attachments(document, self.attachment_source) if self.mapping.attachments else []
        return self.create(message, form, files)

    def lookup_hints(self, form: RenderedForm) -> dict[str, Any]:
        """Extra keyword arguments for ``lookup`` that narrow the OA-side search (e.g. the creator)."""
        return {}

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        raise NotImplementedError

    def since(self, since: datetime | None) -> datetime:
        return since or datetime.now(UTC) - self.lookup_window

    def normalise(self, raw: object) -> OaStatus:
        try:
            return normalise(self.name, raw, self.mapping.status_map)
        except UnknownStatus as exc:
            raise MalformedResponse(str(exc)) from exc


def hook_callback(adapter: FormAdapter, secret: str | None, headers: Mapping[str, str], body: bytes,
                  tolerance: int = webhook.DEFAULT_TOLERANCE_SECONDS) -> OaDecision:
    if not secret:
        raise CallbackRejected(f"no {adapter.name} callback secret is configured, so no callback can be trusted")
    try:
        webhook.verify(secret, headers, body, tolerance=tolerance)
    except webhook.WebhookVerificationError as exc:
        raise CallbackRejected(str(exc)) from exc
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CallbackInvalid("callback body is not JSON") from exc
    if not isinstance(data, dict):
        raise CallbackInvalid("callback body must be a JSON object")
    if data.get("decision") is not None:
        status = data["decision"]
        if status not in OA_STATUSES:
            raise CallbackInvalid(f"decision must be one of {sorted(OA_STATUSES)}, got {status!r}")
    elif data.get("status") is not None:
        try:
            status = normalise(adapter.name, data["status"], adapter.mapping.status_map)
        except UnknownStatus as exc:
            raise CallbackInvalid(str(exc)) from exc
    else:
        raise CallbackInvalid("callback carries neither status nor decision")
    claim_id, doc_no, request_id = data.get("claim_id"), data.get("doc_no"), data.get("oa_request_id")
    if claim_id is None and not doc_no and not request_id:
        raise CallbackInvalid("callback names no claim: give doc_no, claim_id or oa_request_id")
    if claim_id is not None and (isinstance(claim_id, bool) or not str(claim_id).isdigit()):
        raise CallbackInvalid("claim_id must be a positive integer")
    return OaDecision(decision=status, doc_no=doc_no or None, claim_id=None if claim_id is None else int(claim_id),
                      oa_request_id=None if request_id in (None, "") else str(request_id),
                      comment=data.get("comment") or None,
                      extra={"oa_status": data.get("status")} if data.get("status") is not None else {})


__all__ = ["FormAdapter", "LOOKUP_MARGIN", "hook_callback"]
