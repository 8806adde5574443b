"""DingTalk 钉钉 OA 审批 adapter (OA_INTEGRATION §4; open.dingtalk.com new API, ``api.dingtalk.com/v1.0``).

Auth: ``POST /v1.0/oauth2/accessToken`` ``{"appKey", "appSecret"}`` → ``{"accessToken", "expireIn"}``; calls carry
``x-acs-dingtalk-access-token``. A 401/403 answer drops the token and the call is tried once more.

Create: ``POST /v1.0/workflow/processInstances`` ``{"originatorUserId", "processCode", "deptId"?,
"microappAgentId"?, "approvers"?, "ccList"?, "formComponentValues": [{"name": <control label>, "value": <text>}]}``
→ ``{"instanceId"}``. A detail table is one component whose value is the JSON text of a 2-D array
``[[{"name", "value"}, …], …]`` (DOMAIN §8.2). Other 4xx answers (``{"code", "message"}``) are permanent.
Attachments: DingTalk wants files in DingPan (钉盘) first; that upload is not implemented, so no files are sent.

Dedupe: no request-level key (❓ in OA_INTEGRATION). A retry first lists the process's instance ids created since
the message (``POST /v1.0/workflow/processes/instanceIds/query``, ❓ not re-verified) and reads each one, matching
the ``doc_no_field`` component.

Status: ``GET /v1.0/workflow/processInstances?processInstanceId=`` → ``result.status`` / ``result.result``.
Callbacks: HTTP push of ``bpms_instance_change`` events: query ``signature`` (or ``msg_signature``), ``timestamp``,
``nonce``; body ``{"encrypt"}``; SHA1 signature + AES (``pipeline.sync.msgcrypt``, receive id = the corpId or app
key); the reply is the encrypted text ``success`` (``{"msg_signature", "timeStamp", "nonce", "encrypt"}``).
``check_url`` and other events give no decision. Events name the instance, not our doc_no: the decision carries
``oa_request_id`` only.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from pipeline.sync.attachments import AttachmentRef
from pipeline.sync.base import (
    CallbackInvalid, CallbackOutcome, CallbackRejected, CallbackReply, CallbackRequest, OaDecision, OutboundMessage,
    SubmitResult,
)
from pipeline.sync.common import FormAdapter
from pipeline.sync.http import AuthError, BusinessError, MalformedResponse, OaHttp, TokenCache, json_object, require
from pipeline.sync.mapping import FormMapping, RenderedForm, render_form
from pipeline.sync.msgcrypt import CryptoError, MsgCrypt
from pipeline.sync.status import UnknownStatus, dingtalk_key, normalise


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def payload_from_form(form: RenderedForm) -> dict[str, Any]:
    components = [{"name": f.field, "value": _text(f.value)} for f in form.main]
    for table in form.details:
        rows = [[{"name": f.field, "value": _text(f.value)} for f in row] for row in table.rows]
        components.append({"name": table.table, "value": _text(rows)})
    payload: dict[str, Any] = {"originatorUserId": form.creator, "processCode": str(form.form["process_code"]),
                               "formComponentValues": components}
    for key, api_key in (("dept_id", "deptId"), ("microapp_agent_id", "microappAgentId")):
        if form.form.get(key) is not None:
            payload[api_key] = int(form.form[key])
    for key, api_key in (("approvers", "approvers"), ("cc_list", "ccList"), ("cc_position", "ccPosition")):
        if form.form.get(key) is not None:
            payload[api_key] = form.form[key]
    return payload


def build_payload(document: Mapping[str, Any], mapping: FormMapping, attachments: list[Any] | None = None
                  ) -> dict[str, Any]:
    return payload_from_form(render_form(document, mapping))


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[Any]:
    return []


class DingTalkAdapter(FormAdapter):
    name = "dingtalk"

    def __init__(self, app_key: str, app_secret: str, mapping: Any, *, base_url: str = "https://api.dingtalk.com",
                 callback_token: str | None = None, callback_aes_key: str | None = None,
                 callback_receive_id: str | None = None, callback_max_age: float | None = 3600,
                 timeout: float = 10.0, client: httpx.Client | None = None, **options: Any):
        super().__init__(mapping, **options)
        if not (app_key and app_secret):
            raise ValueError("the dingtalk adapter needs app_key and app_secret")
        self.http = OaHttp(base_url, self.name, timeout=timeout, client=client)
        self.app_key, self.app_secret = app_key, app_secret
        self.crypt = (MsgCrypt(callback_token, callback_aes_key, callback_receive_id or app_key)
                      if callback_token and callback_aes_key else None)
        self.callback_max_age = callback_max_age
        self.tokens = TokenCache(self._fetch_token)

    def close(self) -> None:
        self.http.close()

    def _fetch_token(self) -> tuple[str, float]:
        response = self.http.request("POST", "/v1.0/oauth2/accessToken",
                                     json={"appKey": self.app_key, "appSecret": self.app_secret})
        data = json_object(response, self.name)
        if response.status_code >= 400 or not data.get("accessToken"):
            raise AuthError(f"dingtalk: accessToken refused: {response.text[:200]}")
        return str(data["accessToken"]), float(data.get("expireIn") or 7200)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        for _ in range(2):
            response = self.http.request(method, path, headers={"x-acs-dingtalk-access-token": self.tokens.get()},
                                         **kwargs)
            if response.status_code in (401, 403):
                self.tokens.invalidate()
                continue
            data = json_object(response, self.name)
            if response.status_code >= 400:
                raise BusinessError(f"dingtalk: {path} refused: {data.get('code')}: {data.get('message')}")
            return data
        raise AuthError(f"dingtalk: access token refused twice on {path}")

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        data = self._call("POST", "/v1.0/workflow/processInstances", json=payload_from_form(form))
        return SubmitResult(str(require(data, "instanceId", self.name, "processInstances")), "pending")

    def _instance(self, instance_id: str) -> dict[str, Any] | None:
        data = self._call("GET", "/v1.0/workflow/processInstances", params={"processInstanceId": instance_id})
        result = data.get("result")
        if not isinstance(result, dict):
            raise MalformedResponse(f"dingtalk: processInstances answer has no result: {str(data)[:200]}")
        return result or None

    def _decision(self, instance_id: str, result: Mapping[str, Any]) -> OaDecision:
        raw = dingtalk_key(str(result.get("status") or ""), result.get("result"))
        return OaDecision(decision=self.normalise(raw), oa_request_id=instance_id,
                          extra={"oa_status": raw, "business_id": result.get("businessId")})

    def lookup_hints(self, form: RenderedForm) -> dict[str, Any]:
        return {"originator": form.creator}

    def lookup(self, doc_no: str, *, since: datetime | None = None, originator: str | None = None
               ) -> SubmitResult | None:
        """Lists the process's instance ids in the window (by ``originator`` when given), then reads them newest
        first: after a lost answer the one we look for is among the last."""
        start = int(self.since(since).timestamp() * 1000)
        end = int(datetime.now(UTC).timestamp() * 1000) + 60_000
        query: dict[str, Any] = {"processCode": str(self.mapping.form["process_code"]), "startTime": start,
                                 "endTime": end, "maxResults": 20}
        if originator:
            query["userIds"] = [originator]
        ids: list[str] = []
        next_token: Any = 0
        while True:
            data = self._call("POST", "/v1.0/workflow/processes/instanceIds/query",
                              json={**query, "nextToken": next_token})
            page = data.get("result")
            if not isinstance(page, dict) or not isinstance(page.get("list"), list):
                raise MalformedResponse(f"dingtalk: instanceIds/query answer has no result.list: {str(data)[:200]}")
            ids += [str(i) for i in page["list"]]
            next_token = page.get("nextToken")
            if next_token in (None, "", 0, "0") or not page["list"]:
                break
        for instance_id in reversed(ids):
            result = self._instance(instance_id)
            values = {c.get("name"): c.get("value") for c in (result or {}).get("formComponentValues") or []}
            if result and values.get(self.mapping.doc_no_field) == doc_no:
                return SubmitResult(instance_id, self._decision(instance_id, result).decision, deduplicated=True)
        return None

    def status(self, oa_request_id: str) -> OaDecision | None:
        try:
            result = self._instance(oa_request_id)
        except BusinessError:
            return None  # DingTalk answers an unknown instance id with a 4xx
        return None if result is None else self._decision(oa_request_id, result)

    # ------------------------------------------------------------ callbacks

    def handle_callback(self, request: CallbackRequest) -> CallbackOutcome:
        if self.crypt is None:
            raise CallbackRejected("no DingTalk callback token / AES key is configured, so no callback can be trusted")
        query = request.query
        try:
            envelope = json.loads(request.body)
            encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            encrypt = None
        try:
            self.crypt.verify(query.get("signature") or query.get("msg_signature"), query.get("timestamp"),
                              query.get("nonce"), encrypt, max_age=self.callback_max_age)
            plain = self.crypt.decrypt(encrypt)
        except CryptoError as exc:
            raise CallbackRejected(f"dingtalk callback: {exc}") from exc
        try:
            event = json.loads(plain)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CallbackInvalid("decrypted DingTalk event is not JSON") from exc
        return CallbackOutcome(self._event_decision(event), self._reply())

    def _event_decision(self, event: Any) -> OaDecision | None:
        if not isinstance(event, dict):
            raise CallbackInvalid("DingTalk event must be a JSON object")
        if event.get("EventType") != "bpms_instance_change":
            return None
        instance_id = event.get("processInstanceId")
        if not instance_id:
            raise CallbackInvalid("bpms_instance_change without processInstanceId")
        raw = dingtalk_key(str(event.get("type") or ""), event.get("result"))
        try:
            status = normalise(self.name, raw, self.mapping.status_map)
        except UnknownStatus as exc:
            raise CallbackInvalid(str(exc)) from exc
        return OaDecision(decision=status, oa_request_id=str(instance_id), comment=event.get("remark") or None,
                          extra={"oa_status": raw, "process_code": event.get("processCode"),
                                 "business_id": event.get("businessId"), "staff_id": event.get("staffId")})

    def _reply(self) -> CallbackReply:
        timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(8)
        encrypt, signature = self.crypt.seal("success", timestamp, nonce)
        body = json.dumps({"msg_signature": signature, "timeStamp": timestamp, "nonce": nonce, "encrypt": encrypt})
        return CallbackReply(200, body.encode())

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        raise CallbackRejected("DingTalk signs the query string: use handle_callback with the request's query")


__all__ = ["DingTalkAdapter", "build_payload", "payload_from_form", "placeholder_attachments"]
