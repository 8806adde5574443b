"""Feishu 飞书 审批 v4 adapter (OA_INTEGRATION §6; open.feishu.cn approval-v4 and event-subscription docs).

Auth: ``POST /open-apis/auth/v3/tenant_access_token/internal`` ``{"app_id", "app_secret"}`` →
``tenant_access_token`` (``expire``); calls carry ``Authorization: Bearer``. Codes 99991661 / 99991663 /
99991668 (token missing, invalid, expired) drop the token and the call is tried once more.

Create: ``POST /open-apis/approval/v4/instances?user_id_type=`` ``{"approval_code", "user_id" | "open_id",
"department_id"?, "form": <JSON text of [{"id", "type", "value"}]>, "uuid", "title"?}`` → ``data.instance_code``.
A detail table (``fieldList``) holds a list of rows, each a list of widgets. Any other non-zero code is a permanent
refusal.

Attachments (when the mapping has ``attachments: {field: <widget id>, ...}``): each file is uploaded first with the
approval file API ``POST https://www.feishu.cn/approval/openapi/v2/file/upload`` (another host than the open API:
the adapter's ``upload_url`` option; ``Authorization: Bearer`` the same tenant token), multipart ``name``, ``type``
= ``attachment``, ``content`` (the file) → ``{"code": 0, "data": {"code", "url"}}``; the attachment widget
(``{"id", "type": <the rule's type, default attachmentV2>, "value": [<data.code>, …]}``) lists the codes. ❓ Not
confirmed against a live tenant: that this v2 upload still takes the v4 tenant token, and whether the widget type
is ``attachmentV2`` or ``attachment`` for every form (``attachments.type`` in the mapping overrides it). A retry
(``attempt > 1``) reads the instance by its uuid before uploading, so the files are not uploaded again for an
instance that already exists.

Dedupe: native. ``uuid`` = ``uuid_prefix + doc_no``; the same uuid again is refused with 60012, upon which the
adapter reads the instance by its uuid (``GET /open-apis/approval/v4/instances/{uuid}`` accepts the uuid in place
of the instance code) and reports it delivered (``deduplicated=True``). ``lookup(doc_no)`` is that read.

Status: ``GET /open-apis/approval/v4/instances/{instance_code}`` → ``data.status``; the decision names our doc_no
(from the echoed uuid). Callbacks: event ``approval_instance`` (1.0 ``event_callback`` or 2.0 ``schema``), with an
Encrypt Key: ``X-Lark-Signature`` check and AES body (``pipeline.sync.feishu_crypto``), then the Verification
Token inside; without one, the Verification Token alone. ``url_verification`` is answered ``{"challenge"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from pipeline.sync import feishu_crypto
from pipeline.sync.attachments import AttachmentRef, attachment_refs, file_name
from pipeline.sync.base import (
    CallbackInvalid,
    CallbackOutcome,
    CallbackRejected,
    CallbackReply,
    CallbackRequest,
    OaDecision,
    OutboundMessage,
    SubmitResult,
)
from pipeline.sync.common import FormAdapter
from pipeline.sync.http import (
    AuthError,
    BusinessError,
    MalformedResponse,
    OaHttp,
    TokenCache,
    json_object,
)
from pipeline.sync.mapping import FormMapping, RenderedForm, render_form
from pipeline.sync.msgcrypt import CryptoError
from pipeline.sync.status import UnknownStatus, normalise

TOKEN_ERRORS = frozenset({99991661, 99991663, 99991668})
UUID_CONFLICT = 60012
NOT_FOUND = frozenset({60001, 60002, 60003, 60004, 60005})


def _widgets(fields: list[Any]) -> list[dict[str, Any]]:
    return [{"id": f.field, "type": f.type, "value": f.value} for f in fields]


DEFAULT_UPLOAD_URL = "https://www.feishu.cn/approval/openapi/v2/file/upload"


def payload_from_form(form: RenderedForm, uuid: str, attachment: dict[str, Any] | None = None) -> dict[str, Any]:
    widgets = _widgets(form.main)
    if attachment is not None:
        widgets.append(attachment)
    for table in form.details:
        widgets.append({"id": table.table, "type": table.type or "fieldList",
                        "value": [_widgets(row) for row in table.rows]})
    payload: dict[str, Any] = {"approval_code": str(form.form["approval_code"]),
                               "form": json.dumps(widgets, ensure_ascii=False, separators=(",", ":")), "uuid": uuid}
    user_key = "open_id" if form.form.get("user_id_type") == "open_id" else "user_id"
    payload[user_key] = form.creator
    if form.form.get("department_id"):
        payload["department_id"] = str(form.form["department_id"])
    if form.title:
        payload["title"] = form.title
        payload["title_display_method"] = int(form.form.get("title_display_method", 0))
    return payload


def _uuid(mapping: FormMapping, doc_no: str) -> str:
    return f"{mapping.form.get('uuid_prefix', '')}{doc_no}"


def attachment_widget(mapping: FormMapping, codes: list[str]) -> dict[str, Any] | None:
    """The attachment widget listing uploaded file codes, or None when the mapping sends no files."""
    if not codes or not mapping.attachments or not mapping.attachments.field:
        return None
    return {"id": mapping.attachments.field, "type": mapping.attachments.type or "attachmentV2", "value": codes}


def build_payload(document: Mapping[str, Any], mapping: FormMapping, attachments: list[Any] | None = None
                  ) -> dict[str, Any]:
    return payload_from_form(render_form(document, mapping), _uuid(mapping, str(document.get("doc_no"))),
                             attachment_widget(mapping, [str(a) for a in attachments or []]))


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[Any]:
    if not mapping.attachments:
        return []
    return [f"<file code of {ref.name}, sha256 {ref.sha256[:12]}…>" for ref in attachment_refs(document)]


class FeishuAdapter(FormAdapter):
    name = "feishu"
    native_idempotency = True

    def __init__(self, app_id: str, app_secret: str, mapping: Any, *, base_url: str = "https://open.feishu.cn",
                 encrypt_key: str | None = None, verification_token: str | None = None,
                 callback_max_age: float | None = 3600, upload_url: str = DEFAULT_UPLOAD_URL,
                 timeout: float = 10.0, client: httpx.Client | None = None, **options: Any):
        super().__init__(mapping, **options)
        if self.mapping.attachments and not self.mapping.attachments.field:
            raise ValueError("feishu: attachments need a field (the attachment widget id)")
        self.upload_url = upload_url
        if not (app_id and app_secret):
            raise ValueError("the feishu adapter needs app_id and app_secret")
        self.http = OaHttp(base_url, self.name, timeout=timeout, client=client)
        self.app_id, self.app_secret = app_id, app_secret
        self.encrypt_key, self.verification_token = encrypt_key, verification_token
        self.callback_max_age = callback_max_age
        self.user_id_type = "open_id" if self.mapping.form.get("user_id_type") == "open_id" else "user_id"
        self.tokens = TokenCache(self._fetch_token)

    def close(self) -> None:
        self.http.close()

    def _fetch_token(self) -> tuple[str, float]:
        response = self.http.request("POST", "/open-apis/auth/v3/tenant_access_token/internal",
                                     json={"app_id": self.app_id, "app_secret": self.app_secret})
        data = json_object(response, self.name)
        if data.get("code") != 0 or not data.get("tenant_access_token"):
            raise AuthError(f"feishu: tenant_access_token refused: {data.get('code')} {data.get('msg')}")
        return str(data["tenant_access_token"]), float(data.get("expire") or 7200)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        for _ in range(2):
            response = self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens.get()}"},
                                         **kwargs)
            data = json_object(response, self.name)
            if data.get("code") in TOKEN_ERRORS:
                self.tokens.invalidate()
                continue
            if "code" not in data:
                raise MalformedResponse(f"feishu: {path} answer has no code: {response.text[:200]}")
            return data
        raise AuthError(f"feishu: tenant access token refused twice on {path}")

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        doc_no = str(message.payload["doc_no"])
        if files and message.attempt > 1:
            found = self.lookup(doc_no)
            if found is not None:
                return found
        codes = [self._upload(ref, data) for ref, data in files]
        data = self._call("POST", "/open-apis/approval/v4/instances", params={"user_id_type": self.user_id_type},
                          json=payload_from_form(form, _uuid(self.mapping, doc_no),
                                                 attachment_widget(self.mapping, codes)))
        code = data.get("code")
        if code == 0:
            instance = (data.get("data") or {}).get("instance_code")
            if not instance:
                raise MalformedResponse(f"feishu: create answered no instance_code: {str(data)[:200]}")
            return SubmitResult(str(instance), "pending")
        if code == UUID_CONFLICT:
            found = self.lookup(doc_no)
            if found is None:
                raise MalformedResponse(f"feishu: uuid {_uuid(self.mapping, doc_no)} conflicts (60012) but no "
                                        "instance can be read by it")
            return found
        raise BusinessError(f"feishu: create refused: {code} {data.get('msg')}")

    def _upload(self, ref: AttachmentRef, data: bytes) -> str:
        name = file_name(ref)
        answer = self._call("POST", self.upload_url, data={"name": name, "type": "attachment"},
                            files={"content": (name, data, ref.media_type or "application/octet-stream")})
        if answer.get("code") != 0:
            raise BusinessError(f"feishu: file upload of {name} refused: {answer.get('code')} {answer.get('msg')}")
        info = answer.get("data")
        if not isinstance(info, dict) or not info.get("code"):
            raise MalformedResponse(f"feishu: file upload answered no data.code: {str(answer)[:200]}")
        return str(info["code"])

    def _instance(self, instance_id: str) -> dict[str, Any] | None:
        data = self._call("GET", f"/open-apis/approval/v4/instances/{instance_id}",
                          params={"user_id_type": self.user_id_type})
        if data.get("code") in NOT_FOUND:
            return None
        if data.get("code") != 0:
            raise BusinessError(f"feishu: instance {instance_id}: {data.get('code')} {data.get('msg')}")
        info = data.get("data")
        if not isinstance(info, dict) or not info.get("status"):
            raise MalformedResponse(f"feishu: instance answer has no data.status: {str(data)[:200]}")
        return info

    def _doc_no(self, uuid: str | None) -> str | None:
        prefix = str(self.mapping.form.get("uuid_prefix", ""))
        return uuid[len(prefix):] if uuid and uuid.startswith(prefix) else None

    def lookup(self, doc_no: str, *, since: datetime | None = None) -> SubmitResult | None:
        info = self._instance(_uuid(self.mapping, doc_no))
        if info is None or not info.get("instance_code"):
            return None
        return SubmitResult(str(info["instance_code"]), self.normalise(info["status"]), deduplicated=True)

    def status(self, oa_request_id: str) -> OaDecision | None:
        info = self._instance(oa_request_id)
        if info is None:
            return None
        raw = str(info["status"])
        return OaDecision(decision=self.normalise(raw), oa_request_id=str(info.get("instance_code") or oa_request_id),
                          doc_no=self._doc_no(info.get("uuid")), extra={"oa_status": raw})

    # ------------------------------------------------------------ callbacks

    def handle_callback(self, request: CallbackRequest) -> CallbackOutcome:
        if not (self.encrypt_key or self.verification_token):
            raise CallbackRejected("no Feishu Encrypt Key or Verification Token is configured, so no callback is "
                                   "trusted")
        event = self._open(request.headers, request.body)
        token = event.get("token") or (event.get("header") or {}).get("token")
        if self.verification_token and token != self.verification_token:
            raise CallbackRejected("Feishu Verification Token does not match")
        if event.get("type") == "url_verification":
            return CallbackOutcome(None, CallbackReply(200, json.dumps({"challenge": event.get("challenge")})
                                                       .encode()))
        return CallbackOutcome(self._event_decision(event))

    def _open(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CallbackInvalid("Feishu callback body is not JSON") from exc
        if not isinstance(envelope, dict):
            raise CallbackInvalid("Feishu callback body must be a JSON object")
        if not self.encrypt_key:
            if "encrypt" in envelope:
                raise CallbackRejected("Feishu sent an encrypted event but no Encrypt Key is configured")
            return envelope
        if "encrypt" not in envelope:
            raise CallbackRejected("an Encrypt Key is configured but the event is not encrypted")
        try:
            is_handshake_probe = not any(k.lower() == "x-lark-signature" for k in headers)
            if not is_handshake_probe:
                feishu_crypto.verify(headers, body, self.encrypt_key, max_age=self.callback_max_age)
            plain = json.loads(feishu_crypto.decrypt(str(envelope["encrypt"]), self.encrypt_key))
        except CryptoError as exc:
            raise CallbackRejected(f"feishu callback: {exc}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CallbackInvalid("decrypted Feishu event is not JSON") from exc
        if is_handshake_probe and plain.get("type") != "url_verification":
            raise CallbackRejected("Feishu event without X-Lark-Signature")
        return plain

    def _event_decision(self, envelope: dict[str, Any]) -> OaDecision | None:
        event = envelope.get("event")
        if not isinstance(event, dict) or event.get("type") != "approval_instance":
            return None
        instance = event.get("instance_code")
        if not instance or not event.get("status"):
            raise CallbackInvalid("approval_instance event without instance_code or status")
        raw = str(event["status"])
        try:
            status = normalise(self.name, raw, self.mapping.status_map)
        except UnknownStatus as exc:
            raise CallbackInvalid(str(exc)) from exc
        return OaDecision(decision=status, oa_request_id=str(instance), doc_no=self._doc_no(event.get("uuid")),
                          extra={"oa_status": raw, "operate_time": event.get("operate_time"),
                                 "approval_code": event.get("approval_code")})

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        outcome = self.handle_callback(CallbackRequest("POST", {}, headers, body))
        if outcome.decision is None:
            raise CallbackInvalid("this Feishu callback carries no approval status")
        return outcome.decision


__all__ = ["DEFAULT_UPLOAD_URL", "FeishuAdapter", "attachment_widget", "build_payload", "payload_from_form", "placeholder_attachments"]
