"""Landray 蓝凌 EKP emulator: ``kmReviewRestService/addReview`` (multipart) and the review-instance REST API.

``addReview`` reads the multipart form as EKP's client sample sends it (``docSubject``, ``fdTemplateId``,
``formValues`` JSON, ``docCreator`` JSON, ``attachmentForms[i].fdKey/fdFileName/fdAttachment``), checks the
template and the ``doc_no_field`` control, and answers the new ``fd_id`` as plain text; a wrong template answers
HTTP 400. ``instance/list`` filters by ``fdTemplateId`` and ``docCreateTime``; ``instance/get?fdId=`` answers the
document with its ``docStatus`` (404 when unknown). With ``username`` set, every call needs HTTP Basic auth.
Callbacks are what an EKP robot node would send: a Standard Webhooks POST with ``status`` = ``docStatus``.

SOAP: ``POST /sys/webservice/kmReviewWebserviceService`` takes the ``addReview`` envelope of
``pipeline.sync.ekp_soap`` (parsed with the hostile-XML-safe reader), runs the same checks as the REST route (the
same ``create`` fault operation) and answers ``addReviewResponse/return`` = fd_id; a refusal is a ``soap:Fault``
with HTTP 500, as SOAP 1.1 servers do.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from pipeline.sync import ekp_soap

_SOAP_ANSWER = ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{env}"><soap:Body>{body}'
                '</soap:Body></soap:Envelope>')


class LandrayEmulator(OaEmulator):
    name = "landray"

    def __init__(self, *, template_id: str = "17433b9ebc7c1a30e2c49764fc380fec",
                 doc_no_field: str = "fd_38e05de1b7d2a0", username: str | None = None, password: str | None = None,
                 callback_secret: str | None = None, **kwargs: Any):
        self.template_id, self.doc_no_field = template_id, doc_no_field
        self.username, self.password, self.callback_secret = username, password, callback_secret
        super().__init__(**kwargs)

    def _authorised(self, request: Request) -> bool:
        if not self.username:
            return True
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
        return request.headers.get("authorization") == expected

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"success": False, "msg": "流程模板不存在"}, status_code=400)

    def routes(self, app: FastAPI) -> None:
        denied = JSONResponse({"success": False, "msg": "Unauthorized"}, status_code=401)

        @app.post("/api/km-review/kmReviewRestService/addReview")
        async def add_review(request: Request):
            ok = self._authorised(request)
            form = await request.form()
            fields: dict[str, Any] = {}
            for key, value in form.multi_items():
                fields[key] = (value.filename, await value.read()) if hasattr(value, "read") else value

            def work():
                return self._add(fields) if ok else denied
            return await self.guarded("create", work)

        @app.post(ekp_soap.DEFAULT_SOAP_PATH)
        async def add_review_soap(request: Request):
            ok = self._authorised(request)
            raw = await request.body()

            def work():
                if not ok:
                    return denied
                try:
                    fields, files = ekp_soap.parse_add_review_request(raw)
                except ekp_soap.SoapMalformed as exc:
                    return self._soap_fault("soap:Client", str(exc))
                for index, (key, name, data) in enumerate(files):
                    fields[f"attachmentForms[{index}].fdKey"] = key
                    fields[f"attachmentForms[{index}].fdFileName"] = name
                    fields[f"attachmentForms[{index}].fdAttachment"] = (name, data)
                answer = self._add(fields)
                if answer.status_code != 200:
                    return self._soap_fault("soap:Server", json.loads(answer.body)["msg"])
                fd_id = answer.body.decode()
                return Response(_SOAP_ANSWER.format(env=ekp_soap.SOAP_ENV, body=(
                    f'<ns2:addReviewResponse xmlns:ns2="{ekp_soap.NAMESPACE}"><return>{fd_id}</return>'
                    '</ns2:addReviewResponse>')), media_type="text/xml; charset=utf-8")
            return await self.guarded("create", work, reject=lambda: self._soap_fault("soap:Server", "流程模板不存在"))

        @app.post("/api/km-review/instance/list")
        async def instance_list(request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                if not ok:
                    return denied
                window = body.get("docCreateTime") or {}
                rows = [r for r in self.store.all()
                        if r.payload["fdTemplateId"] == body.get("fdTemplateId", r.payload["fdTemplateId"])
                        and window.get("start", 0) <= r.created_at * 1000 <= window.get("end", 1e15)]
                page, size = int(body.get("pageNo", 1)), int(body.get("rowSize", 10))
                chunk = rows[(page - 1) * size: page * size]
                return JSONResponse({"pageNo": page, "rowSize": size, "totalSize": len(rows),
                                     "totalPage": max(1, -(-len(rows) // size)),
                                     "datas": [self._summary(r) for r in chunk]})
            return await self.guarded("lookup", work)

        @app.post("/api/km-review/instance/get")
        async def instance_get(request: Request, fdId: str):
            ok = self._authorised(request)

            def work():
                if not ok:
                    return denied
                record = self.store.get(fdId)
                if record is None:
                    return JSONResponse({"success": False, "msg": "文档不存在"}, status_code=404)
                return JSONResponse({**self._summary(record), "fdTemplate": {"fdId": self.template_id},
                                     "modelData": record.payload["formValues"]})
            return await self.guarded("status", work)

    @staticmethod
    def _summary(record: Record) -> dict[str, Any]:
        return {"fdId": record.oa_id, "docSubject": record.payload["docSubject"], "fdNumber": record.extra["number"],
                "docCreateTime": int(record.created_at * 1000), "docStatus": record.status,
                "docCreator": {"fdId": "175110cca34aa96b5fdcea94d1899733", "fdName": record.creator},
                "wfNode": "审批节点"}

    def _add(self, fields: dict[str, Any]) -> Response:
        if fields.get("fdTemplateId") != self.template_id:
            return self.reject_response("create")
        try:
            values = json.loads(fields.get("formValues") or "{}")
            creator = json.loads(fields.get("docCreator") or "null")
        except json.JSONDecodeError:
            return JSONResponse({"success": False, "msg": "formValues/docCreator 不是 JSON"}, status_code=400)
        if not fields.get("docSubject") or not isinstance(creator, dict) or not values.get(self.doc_no_field):
            return JSONResponse({"success": False, "msg": "docSubject、docCreator 或单据编号为空"}, status_code=400)
        attachments = []
        index = 0
        while f"attachmentForms[{index}].fdAttachment" in fields:
            _, data = fields[f"attachmentForms[{index}].fdAttachment"]
            attachments.append((fields.get(f"attachmentForms[{index}].fdFileName"), data))
            index += 1
        fd_id = uuid.uuid4().hex
        record = Record(fd_id, values[self.doc_no_field], {**fields, "formValues": values}, "20",
                        creator=next(iter(creator.values()), None), attachments=attachments,
                        extra={"number": time.strftime("%Y%m%d") + f"{self.next_id():03d}"})
        self.store.add(record)
        return PlainTextResponse(fd_id)

    @staticmethod
    def _soap_fault(code: str, text: str) -> Response:
        fault = f"<soap:Fault><faultcode>{escape(code)}</faultcode><faultstring>{escape(text)}</faultstring></soap:Fault>"
        return Response(_SOAP_ANSWER.format(env=ekp_soap.SOAP_ENV, body=fault), status_code=500,
                        media_type="text/xml; charset=utf-8")

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        return self.hook_callback(self.callback_secret, {"doc_no": record.doc_no, "oa_request_id": record.oa_id,
                                                         "status": record.status})


__all__ = ["LandrayEmulator"]
