"""WeCom 企业微信 审批 adapter (OA_INTEGRATION §5; developer.work.weixin.qq.com docs 91853, 91983, 91816, 91815,
90968).

Auth: ``GET /cgi-bin/gettoken?corpid=&corpsecret=`` → ``access_token`` (``expires_in``); every call passes
``?access_token=``. errcode 40001 / 40014 / 42001 drop the token and the call is tried once more; -1 (busy) and
45009 / 45033 (rate limits) are retried; any other non-zero errcode is a permanent refusal.

Create: ``POST /cgi-bin/oa/applyevent`` ``{"creator_userid", "template_id", "use_template_approver",
"process"?, "apply_data": {"contents": [{"control", "id", "value"}]}, "summary_list"}`` → ``sp_no``. Values are
shaped per control (Text/Textarea ``{"text"}``, Number ``{"new_number"}``, Money ``{"new_money"}``, Date
``{"date": {"type": "day", "s_timestamp"}}``, Selector, Contact, File ``{"files": [{"file_id"}]}``, Table
``{"children": [{"list": [...]}]}``). ``form.process`` nodes name their approval mode as "all" / "any" /
"sequential", encoded as ``apv_rel`` 1 会签 / 2 或签 / 3 依次. Attachments are uploaded with
``POST /cgi-bin/media/upload?type=file`` (multipart ``media``) → ``media_id`` and put in the mapping's File control.

Dedupe: ``applyevent`` has no idempotency key (``thirdNo`` belongs to the client-side approval engine, which a
server cannot drive). A retry first lists the template's approvals created since the message
(``POST /cgi-bin/oa/getapprovalinfo``, filtered by template and creator) and reads each
(``POST /cgi-bin/oa/getapprovaldetail``), matching the ``doc_no_field`` Text control.

Status: ``getapprovaldetail`` → ``info.sp_status`` 1/2/3/4/6/7/10; the node trail's ``approverattr`` (1 或签 /
2 会签, inverted against ``apv_rel``) is normalised into ``extra["records"][i]["mode"]``.
Callbacks: ``GET ?msg_signature&timestamp&nonce&echostr`` (URL check: reply the decrypted echostr) and ``POST`` XML
``<Encrypt>`` events, SHA1 signature + AES (``pipeline.sync.msgcrypt``, receive id = CorpID). ``sys_approval_change``
gives a decision keyed by ``SpNo``; ``open_approval_change`` (approval engine) by ``ThirdNo`` = our doc_no.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx
from lxml import etree

from pipeline.sync.attachments import AttachmentRef, attachment_refs, file_name
from pipeline.sync.base import (
    CallbackInvalid, CallbackOutcome, CallbackRejected, CallbackReply, CallbackRequest, DeliveryError, OaDecision,
    OutboundMessage, SubmitResult,
)
from pipeline.sync.common import FormAdapter
from pipeline.sync.http import AuthError, BusinessError, MalformedResponse, OaHttp, TokenCache, json_object
from pipeline.sync.mapping import CHINA, FormMapping, MappingError, RenderedField, RenderedForm, fill_template, \
    render_form
from pipeline.sync.msgcrypt import CryptoError, MsgCrypt
from pipeline.sync.status import UnknownStatus, normalise, wecom_apv_rel, wecom_mode_from_approver_attr

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
RETRY_ERRORS = frozenset({-1, 45009, 45033})
_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def _timestamp(value: Any) -> str:
    text = str(value)
    if text.isdigit():
        return text
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise MappingError(f"wecom Date control: {value!r} is neither a Unix timestamp nor a date") from None
    return str(int(datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp()))


def control_value(f: RenderedField) -> dict[str, Any]:
    kind, value = f.type, f.value
    if kind in ("Text", "Textarea"):
        return {"text": str(value)}
    if kind == "Number":
        return {"new_number": str(value)}
    if kind == "Money":
        return {"new_money": str(value)}
    if kind == "Date":
        return {"date": {"type": "day", "s_timestamp": _timestamp(value)}}
    if kind == "Selector":
        keys = value if isinstance(value, list) else [value]
        return {"selector": {"type": "multi" if len(keys) > 1 else "single",
                             "options": [{"key": str(k)} for k in keys]}}
    if kind == "Contact":
        ids = value if isinstance(value, list) else [value]
        return {"members": [{"userid": str(i)} for i in ids]}
    if kind == "File":
        ids = value if isinstance(value, list) else [value]
        return {"files": [{"file_id": str(i)} for i in ids]}
    raise MappingError(f"wecom: control {f.field!r} of type {kind} cannot be filled by the API here")


def payload_from_form(form: RenderedForm, document: Mapping[str, Any], media_ids: list[str], file_control: str | None
                      ) -> dict[str, Any]:
    contents = [{"control": f.type, "id": f.field, "value": control_value(f)} for f in form.main]
    for table in form.details:
        children = [{"list": [{"control": f.type, "id": f.field, "value": control_value(f)} for f in row]}
                    for row in table.rows]
        contents.append({"control": table.type or "Table", "id": table.table, "value": {"children": children}})
    if media_ids and file_control:
        contents.append({"control": "File", "id": file_control,
                         "value": {"files": [{"file_id": m} for m in media_ids]}})
    payload: dict[str, Any] = {"creator_userid": form.creator, "template_id": str(form.form["template_id"]),
                               "use_template_approver": int(form.form.get("use_template_approver", 1)),
                               "apply_data": {"contents": contents}}
    if form.form.get("process"):
        payload["use_template_approver"] = 0
        payload["process"] = {"node_list": [
            {"type": int(node.get("type", 1)), "apv_rel": wecom_apv_rel(node.get("mode", "all")),
             "userid": [str(u) for u in node.get("userids", [])]} for node in form.form["process"]]}
    if form.form.get("choose_department") is not None:
        payload["choose_department"] = int(form.form["choose_department"])
    summary = [fill_template(str(line), document) for line in form.form.get("summary") or []][:3]
    if summary:
        payload["summary_list"] = [{"summary_info": [{"text": line, "lang": "zh_CN"}]} for line in summary]
    return payload


def _file_control(mapping: FormMapping) -> str | None:
    return mapping.attachments.field if mapping.attachments else None


def build_payload(document: Mapping[str, Any], mapping: FormMapping, attachments: list[str] | None = None
                  ) -> dict[str, Any]:
    return payload_from_form(render_form(document, mapping), document, attachments or [], _file_control(mapping))


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[str]:
    if not mapping.attachments:
        return []
    return [f"<media_id of {ref.name}, sha256 {ref.sha256[:12]}…>" for ref in attachment_refs(document)]


def _records(records: Any) -> list[dict[str, Any]]:
    out = []
    for record in records or []:
        attr = record.get("approverattr") if "approverattr" in record else record.get("ApproverAttr")
        status = record.get("sp_status") if "sp_status" in record else record.get("SpStatus")
        out.append({"mode": wecom_mode_from_approver_attr(attr) if attr not in (None, "") else None,
                    "status": str(status) if status is not None else None})
    return out


class WeComAdapter(FormAdapter):
    name = "wecom"

    def __init__(self, corp_id: str, corp_secret: str, mapping: Any, *,
                 base_url: str = "https://qyapi.weixin.qq.com", callback_token: str | None = None,
                 callback_aes_key: str | None = None, callback_max_age: float | None = 3600,
                 timeout: float = 10.0, client: httpx.Client | None = None, **options: Any):
        super().__init__(mapping, **options)
        if not (corp_id and corp_secret):
            raise ValueError("the wecom adapter needs corp_id and corp_secret")
        self.http = OaHttp(base_url, self.name, timeout=timeout, client=client)
        self.corp_id, self.corp_secret = corp_id, corp_secret
        self.crypt = (MsgCrypt(callback_token, callback_aes_key, corp_id)
                      if callback_token and callback_aes_key else None)
        self.callback_max_age = callback_max_age
        self.tokens = TokenCache(self._fetch_token)

    def close(self) -> None:
        self.http.close()

    def _fetch_token(self) -> tuple[str, float]:
        response = self.http.request("GET", "/cgi-bin/gettoken",
                                     params={"corpid": self.corp_id, "corpsecret": self.corp_secret})
        data = json_object(response, self.name)
        if data.get("errcode") not in (0, None) or not data.get("access_token"):
            raise AuthError(f"wecom: gettoken refused: {data.get('errcode')} {data.get('errmsg')}")
        return str(data["access_token"]), float(data.get("expires_in") or 7200)

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        for _ in range(2):
            query = {"access_token": self.tokens.get(), **(params or {})}
            data = json_object(self.http.request(method, path, params=query, **kwargs), self.name)
            code = data.get("errcode", 0)
            if code in TOKEN_ERRORS:
                self.tokens.invalidate()
                continue
            if code in RETRY_ERRORS:
                raise DeliveryError(f"wecom: {path} busy ({code} {data.get('errmsg')})")
            if code not in (0, None):
                raise BusinessError(f"wecom: {path} refused: {code} {data.get('errmsg')}")
            return data
        raise AuthError(f"wecom: access token refused twice on {path}")

    def _upload(self, ref: AttachmentRef, data: bytes) -> str:
        answer = self._call("POST", "/cgi-bin/media/upload", params={"type": "file"},
                            files={"media": (file_name(ref), data, ref.media_type or "application/octet-stream")})
        if not answer.get("media_id"):
            raise MalformedResponse(f"wecom: media/upload answered no media_id: {str(answer)[:200]}")
        return str(answer["media_id"])

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        media_ids = [self._upload(ref, data) for ref, data in files]
        try:
            payload = payload_from_form(form, message.payload, media_ids, _file_control(self.mapping))
        except MappingError as exc:
            raise BusinessError(str(exc)) from exc
        data = self._call("POST", "/cgi-bin/oa/applyevent", json=payload)
        if not data.get("sp_no"):
            raise MalformedResponse(f"wecom: applyevent answered no sp_no: {str(data)[:200]}")
        return SubmitResult(str(data["sp_no"]), "pending")

    def _detail(self, sp_no: str) -> dict[str, Any]:
        info = self._call("POST", "/cgi-bin/oa/getapprovaldetail", json={"sp_no": sp_no}).get("info")
        if not isinstance(info, dict) or info.get("sp_status") in (None, ""):
            raise MalformedResponse(f"wecom: getapprovaldetail answer has no info.sp_status for {sp_no}")
        return info

    def lookup_hints(self, form: RenderedForm) -> dict[str, Any]:
        return {"creator": form.creator}

    def lookup(self, doc_no: str, *, since: datetime | None = None, creator: str | None = None
               ) -> SubmitResult | None:
        """Lists the template's approvals in the window (by ``creator`` when given), then reads them newest first:
        after a lost answer the one we look for is among the last."""
        start = int(self.since(since).timestamp())
        end = int(datetime.now(UTC).timestamp()) + 60
        filters = [{"key": "template_id", "value": str(self.mapping.form["template_id"])}]
        if creator:
            filters.append({"key": "creator", "value": creator})
        numbers: list[str] = []
        cursor = ""
        while True:
            data = self._call("POST", "/cgi-bin/oa/getapprovalinfo", json={
                "starttime": str(start), "endtime": str(end), "new_cursor": cursor, "size": 100, "filters": filters})
            page = data.get("sp_no_list")
            if not isinstance(page, list):
                raise MalformedResponse(f"wecom: getapprovalinfo answer has no sp_no_list: {str(data)[:200]}")
            numbers += [str(n) for n in page]
            cursor = data.get("new_next_cursor") or ""
            if not cursor or not page:
                break
        for sp_no in sorted(numbers, key=lambda n: (len(n), n), reverse=True):  # sp_no: date + sequence
            info = self._detail(sp_no)
            for control in (info.get("apply_data") or {}).get("contents") or []:
                if control.get("id") == self.mapping.doc_no_field and \
                        (control.get("value") or {}).get("text") == doc_no:
                    return SubmitResult(sp_no, self.normalise(info["sp_status"]), deduplicated=True)
        return None

    def status(self, oa_request_id: str) -> OaDecision | None:
        try:
            info = self._detail(oa_request_id)
        except BusinessError:
            return None  # WeCom answers an unknown sp_no with a non-zero errcode
        raw = str(info["sp_status"])
        return OaDecision(decision=self.normalise(raw), oa_request_id=str(info.get("sp_no") or oa_request_id),
                          extra={"oa_status": raw, "records": _records(info.get("sp_record"))})

    # ------------------------------------------------------------ callbacks

    def handle_callback(self, request: CallbackRequest) -> CallbackOutcome:
        if self.crypt is None:
            raise CallbackRejected("no WeCom callback token / EncodingAESKey is configured, so no callback is trusted")
        query = request.query
        if request.method.upper() == "GET":
            echo = self._open(query, query.get("echostr"))
            return CallbackOutcome(None, CallbackReply(200, echo, "text/plain"))
        try:
            outer = etree.fromstring(request.body, _XML)
            encrypt = outer.findtext("Encrypt")
        except etree.XMLSyntaxError:
            encrypt = None
        plain = self._open(query, encrypt)
        try:
            event = etree.fromstring(plain, _XML)
        except etree.XMLSyntaxError as exc:
            raise CallbackInvalid("decrypted WeCom event is not XML") from exc
        return CallbackOutcome(self._event_decision(event), CallbackReply(200, b"success", "text/plain"))

    def _open(self, query: Mapping[str, str], encrypt: str | None) -> bytes:
        try:
            self.crypt.verify(query.get("msg_signature"), query.get("timestamp"), query.get("nonce"), encrypt,
                              max_age=self.callback_max_age)
            return self.crypt.decrypt(encrypt)
        except CryptoError as exc:
            raise CallbackRejected(f"wecom callback: {exc}") from exc

    def _status(self, raw: str | None) -> str:
        try:
            return normalise(self.name, raw, self.mapping.status_map)
        except UnknownStatus as exc:
            raise CallbackInvalid(str(exc)) from exc

    def _event_decision(self, event: Any) -> OaDecision | None:
        kind = event.findtext("Event")
        if kind == "sys_approval_change":
            info = event.find("ApprovalInfo")
            if info is None or not info.findtext("SpNo"):
                raise CallbackInvalid("sys_approval_change without ApprovalInfo/SpNo")
            raw = info.findtext("SpStatus")
            records = [{"ApproverAttr": r.findtext("ApproverAttr"), "SpStatus": r.findtext("SpStatus")}
                       for r in info.findall("SpRecord")]
            return OaDecision(decision=self._status(raw), oa_request_id=info.findtext("SpNo"),
                              extra={"oa_status": raw, "change_event": info.findtext("StatuChangeEvent"),
                                     "template_id": info.findtext("TemplateId"), "records": _records(records)})
        if kind == "open_approval_change":
            info = event.find("ApprovalInfo")
            third_no = info.findtext("ThirdNo") if info is not None else None
            if not third_no:
                raise CallbackInvalid("open_approval_change without ApprovalInfo/ThirdNo")
            raw = info.findtext("OpenSpStatus")
            return OaDecision(decision=self._status(raw), doc_no=third_no, extra={"oa_status": raw})
        return None

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        raise CallbackRejected("WeCom signs the query string: use handle_callback with the request's query")


__all__ = ["WeComAdapter", "build_payload", "control_value", "payload_from_form", "placeholder_attachments"]
