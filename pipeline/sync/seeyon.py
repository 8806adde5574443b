"""Seeyon 致远 adapter (OA_INTEGRATION §2; REST ``bpm/process/start``, since V8.0SP1).

Auth: ``POST /seeyon/rest/token`` ``{"userName", "password", "loginName"}`` → ``{"id": <token>}``; calls carry
header ``token``. HTTP 401 drops the token and the call is tried once more with a fresh one.

Create: ``POST /seeyon/rest/bpm/process/start`` ``{"appName": "collaboration", "data": {"templateCode", "draft":
"0", "subject", "attachments": [ids], "data": {"formmain_XXXX": {display name: value}, "formson_XXXX": [{…}]},
"useNewDataStructure": false}}`` → ``{"code": 0, "data": {…}}``; the collaboration id is ``data.summaryId`` (or
inside the JSON string ``data.app_bussiness_data``). A non-zero code is permanent. Attachments are uploaded first,
``POST /seeyon/rest/attachment`` (multipart field ``file``) → ``{"atts": [{"fileUrl": id}]}`` (◐ code-search hits),
and listed by id.

Dedupe: Seeyon documents neither an idempotency key nor a way to search collaborations, so ``lookup`` finds
nothing. Guard the form instead: mark the 单据编号 field unique (CAP4 数据唯一性校验); on a retry, a refusal whose
message contains one of ``duplicate_markers`` means the first attempt did create the collaboration, and the
adapter reports it delivered without an id (``deduplicated=True``; the id arrives with the callback).

Status: ``GET /seeyon/rest/flow/state/{summaryId}`` → a bare integer (◐; see ``pipeline.sync.status``).
Callbacks: a plugin event listener (``CollaborationFinishEvent``) POSTs a Standard Webhooks request signed with
``callback_secret`` (``common.hook_callback``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from pipeline.sync.attachments import AttachmentRef, attachment_refs
from pipeline.sync.base import OaDecision, OutboundMessage, SubmitResult
from pipeline.sync.common import FormAdapter, hook_callback
from pipeline.sync.http import AuthError, BusinessError, MalformedResponse, OaHttp, TokenCache, json_object
from pipeline.sync.mapping import FormMapping, RenderedForm, render_form


def build_payload(document: Mapping[str, Any], mapping: FormMapping, attachments: list[Any] | None = None
                  ) -> dict[str, Any]:
    return payload_from_form(render_form(document, mapping), attachments or [])


def payload_from_form(form: RenderedForm, attachments: list[Any]) -> dict[str, Any]:
    tables: dict[str, Any] = {str(form.form["main_table"]): {f.field: f.value for f in form.main}}
    for table in form.details:
        tables[table.table] = [{f.field: f.value for f in row} for row in table.rows]
    data: dict[str, Any] = {"templateCode": str(form.form["template_code"]),
                            "draft": str(form.form.get("draft", "0")), "subject": form.title,
                            "data": tables, "useNewDataStructure": False}
    if attachments:
        data["attachments"] = attachments
    if form.form.get("relate_doc"):
        data["relateDoc"] = str(form.form["relate_doc"])
    return {"appName": str(form.form.get("app_name", "collaboration")), "data": data}


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[str]:
    if not mapping.attachments:
        return []
    return [f"<attachment id of {ref.name}, sha256 {ref.sha256[:12]}…>" for ref in attachment_refs(document)]


def _summary_id(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    for key in ("summaryId", "summary_id", "flowId"):
        if data.get(key) not in (None, ""):
            return str(data[key])
    nested = data.get("app_bussiness_data")
    if isinstance(nested, str):
        try:
            nested = json.loads(nested)
        except json.JSONDecodeError:
            return None
    return _summary_id(nested) if isinstance(nested, dict) else None


class SeeyonAdapter(FormAdapter):
    name = "seeyon"

    def __init__(self, base_url: str, rest_user: str, rest_password: str, mapping: Any, *,
                 login_name: str | None = None, token_ttl: int = 600,
                 duplicate_markers: tuple[str, ...] = ("重复", "唯一", "已存在"),
                 callback_secret: str | None = None, timeout: float = 10.0, client: httpx.Client | None = None,
                 **options: Any):
        super().__init__(mapping, **options)
        if not (rest_user and rest_password):
            raise ValueError("the seeyon adapter needs the REST user and password")
        self.http = OaHttp(base_url, self.name, timeout=timeout, client=client)
        self.rest_user, self.rest_password, self.login_name = rest_user, rest_password, login_name
        self.token_ttl, self.duplicate_markers = token_ttl, duplicate_markers
        self.callback_secret = callback_secret
        self.tokens = TokenCache(self._fetch_token)

    def close(self) -> None:
        self.http.close()

    def _fetch_token(self) -> tuple[str, float]:
        body = {"userName": self.rest_user, "password": self.rest_password}
        if self.login_name:
            body["loginName"] = self.login_name
        response = self.http.request("POST", "/seeyon/rest/token", json=body)
        if response.status_code in (401, 403):
            raise AuthError(f"seeyon: REST user {self.rest_user} refused: {response.text[:200]}")
        data = json_object(response, self.name)
        if not data.get("id"):
            raise AuthError(f"seeyon: token answer has no id: {response.text[:200]}")
        return str(data["id"]), float(self.token_ttl)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for _ in range(2):
            response = self.http.request(method, path, headers={"token": self.tokens.get()}, **kwargs)
            if response.status_code != 401:
                return response
            self.tokens.invalidate()
        raise AuthError(f"seeyon: token refused twice on {path}")

    def _upload(self, ref: AttachmentRef, data: bytes) -> Any:
        part = (ref.name, data, ref.media_type or "application/octet-stream")
        response = self._call("POST", "/seeyon/rest/attachment", files={"file": part})
        if response.status_code >= 400:
            raise BusinessError(f"seeyon: attachment {ref.name} refused: HTTP {response.status_code} "
                                f"{response.text[:200]}")
        atts = json_object(response, self.name).get("atts")
        if not isinstance(atts, list) or not atts or atts[0].get("fileUrl") in (None, ""):
            raise MalformedResponse(f"seeyon: attachment upload answered {response.text[:200]!r}")
        return atts[0]["fileUrl"]

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        attachments = [self._upload(ref, data) for ref, data in files]
        response = self._call("POST", "/seeyon/rest/bpm/process/start", json=payload_from_form(form, attachments))
        if 400 <= response.status_code < 500 and not response.content.strip().startswith(b"{"):
            raise BusinessError(f"seeyon: bpm/process/start HTTP {response.status_code}: {response.text[:300]}")
        data = json_object(response, self.name)
        code = data.get("code")
        if code in (0, "0") and response.status_code < 400:
            summary_id = _summary_id(data.get("data"))
            if not summary_id:
                raise MalformedResponse(f"seeyon: bpm/process/start answered no summaryId: {response.text[:200]}")
            return SubmitResult(summary_id, "pending")
        text = str(data.get("message") or data.get("msg") or data)
        if code is None and "message" not in data:
            raise MalformedResponse(f"seeyon: bpm/process/start answer has no code: {response.text[:200]}")
        if message.attempt > 1 and any(marker in text for marker in self.duplicate_markers):
            return SubmitResult(None, "pending", deduplicated=True)
        raise BusinessError(f"seeyon: bpm/process/start refused (code {code}): {text[:300]}")

    def status(self, oa_request_id: str) -> OaDecision | None:
        response = self._call("GET", f"/seeyon/rest/flow/state/{oa_request_id}")
        if response.status_code == 404:
            return None
        text = response.text.strip()
        if response.status_code >= 400:
            raise MalformedResponse(f"seeyon: flow/state HTTP {response.status_code}: {text[:200]}")
        if text.startswith("{"):
            text = str(json_object(response, self.name).get("state", ""))
        if not text.lstrip("-").isdigit():
            raise MalformedResponse(f"seeyon: flow/state answered {text[:200]!r}, not a state number")
        return OaDecision(decision=self.normalise(text), oa_request_id=oa_request_id, extra={"oa_status": text})

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        return hook_callback(self, self.callback_secret, headers, body)


__all__ = ["SeeyonAdapter", "build_payload", "payload_from_form", "placeholder_attachments"]
