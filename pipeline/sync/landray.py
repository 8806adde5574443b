"""Landray 蓝凌 EKP adapter (OA_INTEGRATION §3; EKP ``kmReviewRestServiceHelp`` and ``kmReviewInstanceRestHelp``).

Auth: HTTP Basic when ``username`` is set (EKP's REST service account), otherwise none (IP allow-list). 401/403
are retried as credential trouble (``AuthError``).

Create: ``POST /api/km-review/kmReviewRestService/addReview`` as multipart form data, the way EKP's own client
sample sends it: ``docSubject``, ``fdTemplateId``, ``docContent``, ``formValues`` (JSON: main fields ``{"fd_x":
v}``, detail columns ``{"<table>.<column>": [row values]}``), ``docStatus`` ("20" submit, "10" draft),
``docCreator`` (JSON ``{"PersonNo": …}``, key type from ``form.creator_type``), ``fdKeyword`` (JSON list: our doc_no)
and one ``attachmentForms[i].fdKey`` / ``.fdFileName`` / ``.fdAttachment`` (file part) per invoice file → the new
document's ``fd_id`` as the body (plain or a JSON string). Other 4xx are permanent refusals.

Dedupe: no idempotency key; ``docSubject`` carries our doc_no (the title must contain it), and a retry first lists
the template's instances created since the message (``POST /api/km-review/instance/list`` with ``fdTemplateId`` and
``docCreateTime``) and matches the subject.

Status: ``POST /api/km-review/instance/get?fdId=`` → ``docStatus`` (see ``pipeline.sync.status``). Callbacks: EKP
has no outbound API; a robot node / event listener POSTs a Standard Webhooks request signed with
``callback_secret`` (``common.hook_callback``).

Transport: ``transport="rest"`` (default) as above; ``transport="soap"`` creates the document with
``IKmReviewWebserviceService.addReview`` instead (``pipeline.sync.ekp_soap``: the same parameters as elements of
``arg0``, files base64 in ``attachmentForms``), POSTed as ``text/xml`` to ``soap_path`` (default
``/sys/webservice/kmReviewWebserviceService``) with ``SOAPAction: ""`` and the same HTTP Basic credentials
(❓ EKP may instead want the account in a SOAP header; not confirmed). A ``soap:Fault`` (HTTP 500 in SOAP 1.1)
is the service refusing the document: permanent. HTTP errors without a SOAP envelope (gateways, 502/503) stay
retryable, an answer that is not an envelope with ``addReviewResponse/return`` is a retryable malformed answer.
Lookup and status still use the REST instance API above (EKP has no SOAP equivalent that we know of).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from pipeline.sync import ekp_soap
from pipeline.sync.attachments import AttachmentRef, attachment_refs, file_name
from pipeline.sync.base import DeliveryError, OaDecision, OutboundMessage, SubmitResult
from pipeline.sync.common import FormAdapter, hook_callback
from pipeline.sync.http import (
    AuthError,
    BusinessError,
    MalformedResponse,
    OaHttp,
    json_object,
)
from pipeline.sync.mapping import FormMapping, RenderedForm, render_form

_FD_ID_CHARS = frozenset("0123456789abcdefABCDEF")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def payload_from_form(form: RenderedForm, document: Mapping[str, Any], attachments: list[dict[str, Any]]
                      ) -> dict[str, Any]:
    values: dict[str, Any] = {f.field: f.value for f in form.main}
    for table in form.details:
        columns: dict[str, list[Any]] = {}
        for index, row in enumerate(table.rows):
            for f in row:
                columns.setdefault(f.field, [None] * len(table.rows))[index] = f.value
        values.update({f"{table.table}.{column}": cells for column, cells in columns.items()})
    payload: dict[str, Any] = {
        "docSubject": form.title, "fdTemplateId": str(form.form["template_id"]),
        "docContent": str(form.form.get("doc_content", "")), "formValues": _dumps(values),
        "docStatus": str(form.form.get("doc_status", "20")),
        "docCreator": _dumps({str(form.form.get("creator_type", "PersonNo")): form.creator}),
        "fdKeyword": _dumps([str(document.get("doc_no"))]),
    }
    if form.form.get("flow_param"):
        payload["flowParam"] = _dumps(form.form["flow_param"])
    for index, attachment in enumerate(attachments):
        for key, value in attachment.items():
            payload[f"attachmentForms[{index}].{key}"] = value
    return payload


def build_payload(document: Mapping[str, Any], mapping: FormMapping,
                  attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return payload_from_form(render_form(document, mapping), document, attachments or [])


def _attachment_key(mapping: FormMapping) -> str:
    return (mapping.attachments.field if mapping.attachments and mapping.attachments.field else "fdAttachment")


def placeholder_attachments(document: Mapping[str, Any], mapping: FormMapping) -> list[dict[str, Any]]:
    if not mapping.attachments:
        return []
    return [{"fdKey": _attachment_key(mapping), "fdFileName": file_name(ref),
             "fdAttachment": f"<file part: {ref.name}, sha256 {ref.sha256[:12]}…>"}
            for ref in attachment_refs(document)]


def _checked_fd_id(text: str, answer: str) -> str:
    text = str(text).strip()
    if not (16 <= len(text) <= 64 and set(text) <= _FD_ID_CHARS):
        raise MalformedResponse(f"landray: addReview answered {answer[:200]!r}, not a document fd_id")
    return text


def _fd_id(response: httpx.Response) -> str:
    text = response.text.strip()
    if text.startswith('"'):
        try:
            text = json.loads(text)
        except json.JSONDecodeError:
            pass
    elif text.startswith("{"):
        data = json_object(response, "landray")
        text = data.get("fdId") or data.get("fd_id") or data.get("data") or ""
    return _checked_fd_id(text, response.text)


class LandrayAdapter(FormAdapter):
    name = "landray"

    def __init__(self, base_url: str, mapping: Any, *, username: str | None = None, password: str | None = None,
                 callback_secret: str | None = None, transport: str = "rest",
                 soap_path: str = ekp_soap.DEFAULT_SOAP_PATH, timeout: float = 10.0,
                 client: httpx.Client | None = None, **options: Any):
        super().__init__(mapping, **options)
        if transport not in ("rest", "soap"):
            raise ValueError(f"landray: transport must be 'rest' or 'soap', not {transport!r}")
        self.transport, self.soap_path = transport, soap_path
        self.http = OaHttp(base_url, self.name, timeout=timeout, client=client)
        self.auth = httpx.BasicAuth(username, password or "") if username else None
        self.callback_secret = callback_secret

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, auth=self.auth, **kwargs) if self.auth else \
            self.http.request(method, path, **kwargs)
        if response.status_code in (401, 403):
            raise AuthError(f"landray: {path} refused our credentials: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise BusinessError(f"landray: {path} HTTP {response.status_code}: {response.text[:300]}")
        return response

    def create(self, message: OutboundMessage, form: RenderedForm,
               files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        if self.transport == "soap":
            return self._create_soap(message, form, files)
        fields = payload_from_form(form, message.payload, [])
        multipart: list[tuple[str, Any]] = [(k, (None, v)) for k, v in fields.items()]
        for index, (ref, data) in enumerate(files):
            multipart += [(f"attachmentForms[{index}].fdKey", (None, _attachment_key(self.mapping))),
                          (f"attachmentForms[{index}].fdFileName", (None, file_name(ref))),
                          (f"attachmentForms[{index}].fdAttachment",
                           (file_name(ref), data, ref.media_type or "application/octet-stream"))]
        response = self._call("POST", "/api/km-review/kmReviewRestService/addReview", files=multipart)
        return SubmitResult(_fd_id(response), "pending")

    def _create_soap(self, message: OutboundMessage, form: RenderedForm,
                     files: list[tuple[AttachmentRef, bytes]]) -> SubmitResult:
        envelope = ekp_soap.add_review_envelope(
            payload_from_form(form, message.payload, []),
            [(_attachment_key(self.mapping), file_name(ref), data) for ref, data in files])
        response = self.http.request("POST", self.soap_path, content=envelope, passthrough=frozenset({500}),
                                     headers={"Content-Type": ekp_soap.CONTENT_TYPE, "SOAPAction": '""'},
                                     **({"auth": self.auth} if self.auth else {}))
        if response.status_code in (401, 403):
            raise AuthError(f"landray: SOAP addReview refused our credentials: HTTP {response.status_code}")
        try:
            fd_id = ekp_soap.parse_add_review_response(response.content)
        except ekp_soap.SoapFault as exc:
            raise BusinessError(f"landray: SOAP addReview refused: {exc}") from exc
        except ekp_soap.SoapMalformed as exc:
            if response.status_code >= 500:
                raise DeliveryError(f"landray: HTTP {response.status_code} on SOAP addReview: "
                                    f"{response.text[:300]}") from exc
            raise MalformedResponse(f"landray: SOAP addReview answer is not a document fd_id: {exc}; "
                                    f"{response.text[:200]!r}") from exc
        if response.status_code >= 400:
            raise BusinessError(f"landray: SOAP addReview HTTP {response.status_code}: {response.text[:300]}")
        return SubmitResult(_checked_fd_id(fd_id, response.text), "pending")

    def lookup(self, doc_no: str, *, since: datetime | None = None) -> SubmitResult | None:
        start = int(self.since(since).timestamp() * 1000)
        end = int(datetime.now(UTC).timestamp() * 1000) + 60_000
        page, size = 1, 50
        while True:
            response = self._call("POST", "/api/km-review/instance/list", json={
                "pageNo": page, "rowSize": size, "docCreateTime": {"start": start, "end": end},
                "fdTemplateId": str(self.mapping.form["template_id"])})
            data = json_object(response, self.name)
            rows = data.get("datas")
            if not isinstance(rows, list):
                raise MalformedResponse(f"landray: instance/list answer has no datas: {response.text[:200]}")
            for row in rows:
                if doc_no in str(row.get("docSubject", "")) and row.get("fdId"):
                    status = self.normalise(row["docStatus"]) if row.get("docStatus") else "pending"
                    return SubmitResult(str(row["fdId"]), status, deduplicated=True)
            if page >= int(data.get("totalPage") or 1) or not rows:
                return None
            page += 1

    def status(self, oa_request_id: str) -> OaDecision | None:
        response = self.http.request("POST", "/api/km-review/instance/get", params={"fdId": oa_request_id},
                                     **({"auth": self.auth} if self.auth else {}))
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise AuthError(f"landray: instance/get refused our credentials: HTTP {response.status_code}")
        data = json_object(response, self.name)
        if response.status_code >= 400 or not data.get("fdId"):
            return None
        if data.get("docStatus") in (None, ""):
            raise MalformedResponse(f"landray: instance/get answer has no docStatus: {response.text[:200]}")
        raw = str(data["docStatus"])
        return OaDecision(decision=self.normalise(raw), oa_request_id=str(data["fdId"]),
                          extra={"oa_status": raw, "node": data.get("wfNode")})

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> OaDecision:
        return hook_callback(self, self.callback_secret, headers, body)


__all__ = ["LandrayAdapter", "build_payload", "payload_from_form", "placeholder_attachments"]
