"""Weaver e-cology E9 adapter (OA_INTEGRATION §1; E9 paService REST, version ≥ 9.00).

Auth (ECOLOGY 开放平台 handshake): the adapter makes an RSA key pair, ``POST /api/ec/dev/auth/regist`` with headers
``appid`` and ``cpk`` (our public key, base64 X.509) → ``spk`` (server key) and ``secrit``; then
``POST /api/ec/dev/auth/applytoken`` with ``appid``, ``secret = RSA(spk, secrit)`` and ``time`` (TTL) → ``token``.
Business calls carry ``appid``, ``token``, ``userid = RSA(spk, user_id)`` (RSA/ECB/PKCS1Padding, base64) and
``skipsession: 1``. A refused token (``status: false``) is dropped and re-applied for once per call.

Create: ``POST /api/workflow/paService/doCreateRequest``, form-encoded (``workflowId``, ``requestName``,
``mainData``, ``detailData``, ``otherParams``, ``remark``; complex values as JSON strings; ``body_format="json"``
sends the same object as a JSON body) → ``{"code": "SUCCESS", "data": {"requestid": …}}``. PARAM_ERROR,
NO_PERMISSION and USER_EXCEPTION are permanent; SYSTEM_INNER_ERROR is retried. Attachments go inline into the
mapping's attachment field as ``[{"filePath": "base64:<…>", "fileName": …}]``.

Dedupe: E9 has no idempotency key. ``requestName`` carries our doc_no (the mapping's title must contain it), and a
retry first searches the user's own requests (``POST /api/workflow/paService/getMyWorkflowRequestList`` with
``conditions: {"requestname": doc_no, createdate window}``), matching the title and ``workflowId``.

Status: ``GET /api/workflow/paService/getRequestStatus?requestId=`` → ``currentNodeType`` (see
``pipeline.sync.status``). Callbacks: E9 has no webhook; a node Action POSTs a Standard Webhooks request signed
with ``callback_secret`` (``common.hook_callback``), ``status`` being the ``currentnodetype``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pipeline.sync.attachments import AttachmentRef, attachment_refs, file_name
from pipeline.sync.base import DeliveryError, OaDecision, OutboundMessage, SubmitResult
from pipeline.sync.common import FormAdapter, hook_callback
from pipeline.sync.http import AuthError, BusinessError, MalformedResponse, OaHttp, TokenCache, json_object, json_value
from pipeline.sync.mapping import FormMapping, RenderedForm, render_form

PERMANENT_CODES = frozenset({"PARAM_ERROR", "NO_PERMISSION", "USER_EXCEPTION"})
TCHINA = timedelta(hours=8)


def rsa_encrypt(public_key_b64: str, text: str) -> str:
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key_b64))
    except ValueError as exc:
        raise MalformedResponse(f"weaver: the server public key (spk) cannot be read: {exc}") from exc
    return base64.b64encode(key.encrypt(text.encode(), padding.PKCS1v15())).decode()


def build_payload(document: Mapping[str, Any], mapping: FormMapping,
                  attachments: list[dict[str, str]] | None = None) -> dict[str, Any]:
    form = render_form(document, mapping)
    return payload_from_form(form, mapping, attachments or [])


def payload_from_form(form: RenderedForm, mapping: FormMapping, attachments: list[dict[str, str]]
                      ) -> dict[str, Any]:
    main = [{"fieldName": f.field, "fieldValue": f.value} for f in form.main]
    if attachments and mapping.attachments and mapping.attachments.field:
        main.append({"fieldName": mapping.attachments.field, "fieldValue": attachments})
    details = [{"tableDBName": table.table, "workflowRequestTableRecords": [
        {"recordOrder": 0, "workflowRequestTableFields": [{"fieldName": f.field, "fieldValue": f.value}
                                                          for f in row]}
        for row in table.rows]} for table in form.details if table.rows]
    other = {"isnextflow": "1", "delReqFlowFaild": "1"}
    other.update({str(k): str(v) for k, v in (form.form.get("other_params") or {}).items()})
    payload: dict[str, Any] = {"workflowId": int(form.form["workflow_id"]), "requestName": form.title,
                               "mainData": main, "detailData": details, "otherParams": other}
    if form.form.get("remark"):
        payload["remark"] = str(form.form["remark"])
    if form.form.get("request_level") is not None:
        payload["requestLevel"] = str(form.form["request_level"])
    return payload


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[dict[str, str]]:
    if not mapping.attachments:
        return []
    return [{"filePath": f"base64:<{ref.name}, sha256 {ref.sha256[:12]}…>", "fileName": file_name(ref)}
            for ref in attachment_refs(document)]


def form_encode(payload: Mapping[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            for k, v in payload.items()}


class WeaverAdapter(FormAdapter):
    name = "weaver"

    def __init__(self, base_url: str, app_id: str, user_id: str, mapping: Any, *, token_ttl: int = 1800,
                 body_format: str = "form", callback_secret: str | None = None, timeout: float = 10.0,
                 client: httpx.Client | None = None, **options: Any):
        super().__init__(mapping, **options)
        if not (app_id and user_id):
            raise ValueError("the weaver adapter needs app_id and user_id")
        if body_format not in ("form", "json"):
            raise ValueError("body_format must be 'form' or 'json'")
        self.http = OaHttp(base_url, self.name, timeout=timeout, client=client)
        self.app_id, self.user_id, self.token_ttl, self.body_format = app_id, str(user_id), token_ttl, body_format
        self.callback_secret = callback_secret
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server: tuple[str, str] | None = None  # (spk, secrit)
        self.tokens = TokenCache(self._apply_token)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------ auth

    def _client_public_key(self) -> str:
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def _register(self) -> tuple[str, str]:
        response = self.http.request("POST", "/api/ec/dev/auth/regist",
                                     headers={"appid": self.app_id, "cpk": self._client_public_key()})
        data = json_object(response, self.name)
        if data.get("status") is False or not data.get("spk") or not data.get("secrit"):
            raise AuthError(f"weaver: regist refused app {self.app_id}: {data.get('msg') or data}")
        return str(data["spk"]), str(data["secrit"])

    def _apply_token(self) -> tuple[str, float]:
        fresh = self._server is None
        for _ in range(2):
            if self._server is None:
                self._server = self._register()
            spk, secrit = self._server
            response = self.http.request("POST", "/api/ec/dev/auth/applytoken", headers={
                "appid": self.app_id, "secret": rsa_encrypt(spk, secrit), "time": str(self.token_ttl)})
            data = json_object(response, self.name)
            if data.get("status") is not False and data.get("token"):
                return str(data["token"]), float(self.token_ttl)
            self._server = None  # the server may have dropped our registration (restart, re-regist elsewhere)
            if fresh:
                break
            fresh = True
        raise AuthError(f"weaver: applytoken refused: {data.get('msg') or data}")

    def _headers(self) -> dict[str, str]:
        token = self.tokens.get()
        spk = self._server[0] if self._server else ""
        return {"appid": self.app_id, "token": token, "userid": rsa_encrypt(spk, self.user_id), "skipsession": "1"}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            response = self.http.request(method, path, headers=self._headers(), **kwargs)
            data = json_value(response, self.name)
            if isinstance(data, dict) and data.get("status") is False and data.get("code") != "SUCCESS":
                self.tokens.invalidate()
                if attempt == 2:
                    raise AuthError(f"weaver: token refused twice on {path}: {data.get('msg') or data}")
                continue
            return data
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ create / look up / status

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        attachments = [{"filePath": "base64:" + base64.b64encode(data).decode(), "fileName": file_name(ref)}
                       for ref, data in files]
        payload = payload_from_form(form, self.mapping, attachments)
        body = {"json": payload} if self.body_format == "json" else {"data": form_encode(payload)}
        data = self._call("POST", "/api/workflow/paService/doCreateRequest", **body)
        if not isinstance(data, dict):
            raise MalformedResponse(f"weaver: doCreateRequest answered {str(data)[:200]!r}")
        code = data.get("code")
        if code != "SUCCESS":
            detail = f"weaver: doCreateRequest {code}: {json.dumps(data.get('errMsg'), ensure_ascii=False)[:300]}"
            if code in PERMANENT_CODES:
                raise BusinessError(detail)
            if code is None:
                raise MalformedResponse(f"weaver: doCreateRequest answer has no code: {str(data)[:200]}")
            raise DeliveryError(detail)
        request_id = (data.get("data") or {}).get("requestid")
        if request_id in (None, "", -1, "-1"):
            raise MalformedResponse(f"weaver: doCreateRequest answered SUCCESS without a requestid: {data}")
        return SubmitResult(oa_request_id=str(request_id), status="pending")

    def lookup(self, doc_no: str, *, since: datetime | None = None) -> SubmitResult | None:
        start = (self.since(since).astimezone(UTC) + TCHINA).date()
        end = (datetime.now(UTC) + TCHINA).date() + timedelta(days=1)
        conditions = {"requestname": doc_no, "createdateselect": "6", "createdatefrom": start.isoformat(),
                      "createdateto": end.isoformat()}
        workflow_id = str(self.mapping.form["workflow_id"])
        page, size = 1, 50
        while True:
            data = self._call("POST", "/api/workflow/paService/getMyWorkflowRequestList", data=form_encode({
                "conditions": conditions, "pageNo": str(page), "pageSize": str(size)}))
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                data = data["data"]
            if not isinstance(data, list):
                raise MalformedResponse(f"weaver: getMyWorkflowRequestList answered {str(data)[:200]!r}")
            for item in data:
                base = item.get("workflowBaseInfo") or {}
                if doc_no in str(item.get("requestName", "")) and str(base.get("workflowId", workflow_id)) \
                        == workflow_id and item.get("requestId"):
                    return SubmitResult(str(item["requestId"]), "pending", deduplicated=True)
            if len(data) < size:
                return None
            page += 1

    def status(self, oa_request_id: str) -> OaDecision | None:
        data = self._call("GET", "/api/workflow/paService/getRequestStatus", params={"requestId": oa_request_id})
        if not isinstance(data, dict):
            raise MalformedResponse(f"weaver: getRequestStatus answered {str(data)[:200]!r}")
        if data.get("code") not in (None, "SUCCESS") or not isinstance(data.get("data"), dict):
            return None
        info = data["data"]
        if info.get("currentNodeType") in (None, ""):
            raise MalformedResponse(f"weaver: getRequestStatus answer has no currentNodeType: {str(info)[:200]}")
        raw = str(info["currentNodeType"])
        return OaDecision(decision=self.normalise(raw), oa_request_id=str(info.get("requestId") or oa_request_id),
                          extra={"oa_status": raw, "node_status": info.get("status")})

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        return hook_callback(self, self.callback_secret, headers, body)


__all__ = ["WeaverAdapter", "build_payload", "form_encode", "payload_from_form", "placeholder_attachments",
           "rsa_encrypt"]
