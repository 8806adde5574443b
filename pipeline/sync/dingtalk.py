"""DingTalk 钉钉 OA 审批 adapter (OA_INTEGRATION §4; open.dingtalk.com new API, ``api.dingtalk.com/v1.0``).

Auth: ``POST /v1.0/oauth2/accessToken`` ``{"appKey", "appSecret"}`` → ``{"accessToken", "expireIn"}``; calls carry
``x-acs-dingtalk-access-token``. A 401/403 answer drops the token and the call is tried once more.

Create: ``POST /v1.0/workflow/processInstances`` ``{"originatorUserId", "processCode", "deptId"?,
"microappAgentId"?, "approvers"?, "ccList"?, "formComponentValues": [{"name": <control label>, "value": <text>}]}``
→ ``{"instanceId"}``. A detail table is one component whose value is the JSON text of a 2-D array
``[[{"name", "value"}, …], …]`` (DOMAIN §8.2). Other 4xx answers (``{"code", "message"}``) are permanent.
Attachments (when the mapping has ``attachments: {field: <DDAttachment control label>}``): each file goes to the
approval's DingPan (钉盘) space first, then the control's value is the JSON text of ``[{"spaceId", "fileName",
"fileSize", "fileType", "fileId"}]``:
1. ``POST /v1.0/workflow/processInstances/spaces/infos/query`` ``{"userId": <originator>, "agentId"}`` →
   ``result.spaceId`` (once per submit);
2. ``POST /v1.0/storage/spaces/{spaceId}/files/uploadInfos/query?unionId=`` ``{"protocol": "HEADER_SIGNATURE",
   "multipart": false}`` → ``uploadKey`` and ``headerSignatureInfo`` (``resourceUrls``, ``headers``);
3. ``PUT`` the bytes to ``resourceUrls[0]`` with exactly those headers (object storage, no DingTalk token);
4. ``POST /v1.0/storage/spaces/{spaceId}/files/commit?unionId=`` ``{"uploadKey", "name", "parentId": "0",
   "option": {"size", "conflictStrategy": "AUTO_RENAME"}}`` → ``dentry`` (``id``, ``spaceId``, ``size``).
The storage API wants the uploader's ``unionId`` (not the userId): the mapping's ``form.union_id_list`` names a
code list from the originator's userId to their unionId, or the adapter's ``union_id`` option gives one fixed
uploader. ❓ Unconfirmed against a live tenant: the ``agentId`` the space query needs (``form.microapp_agent_id``
here), whether the uploader must be the originator for the approvers to see the file, and the exact types in the
DDAttachment value (strings here). Files uploaded by an attempt whose create then failed stay in DingPan,
unreferenced; a retry after an ambiguous create finds the instance (below) before uploading anything again.

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
    require,
)
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


def attachment_component(label: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    """The DDAttachment control: ``files`` are ``{"spaceId", "fileName", "fileSize", "fileType", "fileId"}``."""
    return {"name": label, "value": _text(files)}


def build_payload(document: Mapping[str, Any], mapping: FormMapping, attachments: list[Any] | None = None
                  ) -> dict[str, Any]:
    payload = payload_from_form(render_form(document, mapping))
    if attachments and mapping.attachments and mapping.attachments.field:
        payload["formComponentValues"].append(attachment_component(mapping.attachments.field, attachments))
    return payload


def _file_type(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[Any]:
    if not mapping.attachments:
        return []
    return [{"spaceId": "<approval space>", "fileName": file_name(ref), "fileSize": "<size>",
             "fileType": _file_type(file_name(ref)), "fileId": f"<DingPan file of {ref.name}, sha256 "
                                                             f"{ref.sha256[:12]}…>"}
            for ref in attachment_refs(document)]


class DingTalkAdapter(FormAdapter):
    name = "dingtalk"

    def __init__(self, app_key: str, app_secret: str, mapping: Any, *, base_url: str = "https://api.dingtalk.com",
                 callback_token: str | None = None, callback_aes_key: str | None = None,
                 callback_receive_id: str | None = None, callback_max_age: float | None = 3600,
                 union_id: str | None = None, timeout: float = 10.0, client: httpx.Client | None = None,
                 **options: Any):
        super().__init__(mapping, **options)
        if not (app_key and app_secret):
            raise ValueError("the dingtalk adapter needs app_key and app_secret")
        self.union_id = union_id
        union_list = self.mapping.form.get("union_id_list")
        self.union_ids = self.mapping.code_lists.get(str(union_list)) if union_list else None
        if self.mapping.attachments:
            if not self.mapping.attachments.field:
                raise ValueError("dingtalk: attachments need a field (the DDAttachment control's label)")
            if union_list and self.union_ids is None:
                raise ValueError(f"dingtalk: form.union_id_list names no code list {union_list!r}")
            if self.union_ids is None and not union_id:
                raise ValueError("dingtalk: attachments need the uploader's unionId: set form.union_id_list or "
                                 "the union_id option")
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
        payload = payload_from_form(form)
        if files and self.mapping.attachments:
            uploaded = self._upload_all(form, files)
            payload["formComponentValues"].append(attachment_component(self.mapping.attachments.field, uploaded))
        data = self._call("POST", "/v1.0/workflow/processInstances", json=payload)
        return SubmitResult(str(require(data, "instanceId", self.name, "processInstances")), "pending")

    def _union_id(self, originator: str | None) -> str:
        if self.union_ids is not None:
            union_id = self.union_ids.get(str(originator))
            if not union_id:
                raise BusinessError(f"dingtalk: no unionId for originator {originator!r} in form.union_id_list")
            return union_id
        return str(self.union_id)

    def _upload_all(self, form: RenderedForm, files: list[tuple[AttachmentRef, bytes]]) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"userId": form.creator}
        if form.form.get("microapp_agent_id") is not None:
            query["agentId"] = int(form.form["microapp_agent_id"])
        space = self._call("POST", "/v1.0/workflow/processInstances/spaces/infos/query", json=query).get("result")
        if not isinstance(space, dict) or space.get("spaceId") in (None, ""):
            raise MalformedResponse(f"dingtalk: spaces/infos/query answered no result.spaceId: {str(space)[:200]}")
        space_id = str(space["spaceId"])
        union_id = self._union_id(form.creator)
        return [self._upload(space_id, union_id, ref, data) for ref, data in files]

    def _upload(self, space_id: str, union_id: str, ref: AttachmentRef, data: bytes) -> dict[str, Any]:
        base = f"/v1.0/storage/spaces/{space_id}/files"
        info = self._call("POST", f"{base}/uploadInfos/query", params={"unionId": union_id},
                          json={"protocol": "HEADER_SIGNATURE", "multipart": False})
        signature = info.get("headerSignatureInfo")
        urls = signature.get("resourceUrls") if isinstance(signature, dict) else None
        if not info.get("uploadKey") or not isinstance(urls, list) or not urls:
            raise MalformedResponse(f"dingtalk: uploadInfos/query answered no uploadKey / resourceUrls: "
                                    f"{str(info)[:200]}")
        headers = {str(k): str(v) for k, v in (signature.get("headers") or {}).items()}
        stored = self.http.request("PUT", str(urls[0]), content=data, headers=headers)
        if stored.status_code >= 400:
            raise BusinessError(f"dingtalk: object storage refused {ref.name}: HTTP {stored.status_code} "
                                f"{stored.text[:200]}")
        name = file_name(ref)
        committed = self._call("POST", f"{base}/commit", params={"unionId": union_id},
                               json={"uploadKey": info["uploadKey"], "name": name, "parentId": "0",
                                     "option": {"size": len(data), "conflictStrategy": "AUTO_RENAME"}})
        dentry = committed.get("dentry")
        if not isinstance(dentry, dict) or not dentry.get("id"):
            raise MalformedResponse(f"dingtalk: files/commit answered no dentry.id: {str(committed)[:200]}")
        final_name = str(dentry.get("name") or name)
        return {"spaceId": str(dentry.get("spaceId") or space_id), "fileName": final_name,
                "fileSize": str(dentry.get("size") or len(data)), "fileType": _file_type(final_name),
                "fileId": str(dentry["id"])}

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


__all__ = ["DingTalkAdapter", "attachment_component", "build_payload", "payload_from_form", "placeholder_attachments"]
