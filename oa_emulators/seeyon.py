"""Seeyon 致远 emulator: REST token, attachment upload, ``bpm/process/start`` and ``flow/state``.

``POST /seeyon/rest/token`` checks the REST user (401 otherwise) and issues a token expected in the ``token``
header (or ``?token=``); a wrong or expired token answers 401. ``POST /seeyon/rest/attachment`` (multipart
``file``) answers ``{"atts": [{"fileUrl"}]}``. ``bpm/process/start`` checks the template, the main table and the
``doc_no_field`` display name and, with ``unique_doc_no`` (the form's 数据唯一性校验), refuses a second
collaboration for the same value with ``{"code": 1, "message": "…重复…"}``; it answers ``{"code": 0, "data":
{"app_bussiness_data": "<JSON with summaryId, affairId>"}}``. ``flow/state/{summaryId}`` answers the bare state
number. Callbacks are what the plugin listener would send: a Standard Webhooks POST with ``status`` = the state.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record


class SeeyonEmulator(OaEmulator):
    name = "seeyon"

    def __init__(self, *, rest_user: str = "rest", rest_password: str = "rest-pass", template_code: str = "BX_001",
                 main_table: str = "formmain_0018", doc_no_field: str = "单据编号", unique_doc_no: bool = True,
                 token_ttl: float = 900, callback_secret: str | None = None, **kwargs: Any):
        self.rest_user, self.rest_password = rest_user, rest_password
        self.template_code, self.main_table, self.doc_no_field = template_code, main_table, doc_no_field
        self.unique_doc_no, self.token_ttl, self.callback_secret = unique_doc_no, token_ttl, callback_secret
        self.tokens: dict[str, float] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        super().__init__(**kwargs)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _authorised(self, request: Request) -> bool:
        token = request.headers.get("token") or request.query_params.get("token") or ""
        return self.tokens.get(token, 0) > time.time()

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"code": 1001, "data": None, "message": "模板不存在或已停用"})

    def routes(self, app: FastAPI) -> None:
        denied = JSONResponse({"code": 401, "message": "token is invalid"}, status_code=401)

        @app.post("/seeyon/rest/token")
        async def token(request: Request):
            body = await request.json()

            def work():
                if (body.get("userName"), body.get("password")) != (self.rest_user, self.rest_password):
                    return JSONResponse({"message": "用户名或密码错误"}, status_code=401)
                value = str(uuid.uuid4())
                self.tokens[value] = time.time() + self.token_ttl
                return JSONResponse({"id": value, "bindingUser": {"loginName": body.get("loginName")}})
            return await self.guarded("token", work)

        @app.post("/seeyon/rest/attachment")
        async def attachment(request: Request):
            ok = self._authorised(request)
            form = await request.form()
            upload = form.get("file")
            data = await upload.read() if upload is not None and hasattr(upload, "read") else None

            def work():
                if not ok:
                    return denied
                if data is None:
                    return JSONResponse({"code": 1, "message": "no file"}, status_code=400)
                file_id = str(-5960574617853620000 - self.next_id())
                self.files[file_id] = (upload.filename, data)
                return JSONResponse({"atts": [{"fileUrl": file_id, "filename": upload.filename, "size": len(data)}]})
            return await self.guarded("upload", work)

        @app.post("/seeyon/rest/bpm/process/start")
        async def start(request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                return self._start(body) if ok else denied
            return await self.guarded("create", work)

        @app.get("/seeyon/rest/flow/state/{flow_id}")
        async def state(flow_id: str, request: Request):
            ok = self._authorised(request)

            def work():
                if not ok:
                    return denied
                record = self.store.get(flow_id)
                if record is None:
                    return PlainTextResponse("Page Not Found", status_code=404)
                return PlainTextResponse(record.status)
            return await self.guarded("status", work)

    def _start(self, body: dict[str, Any]) -> Response:
        data = body.get("data") or {}
        form = data.get("data") or {}
        main = form.get(self.main_table)
        if body.get("appName") != "collaboration" or data.get("templateCode") != self.template_code:
            return JSONResponse({"code": 1001, "message": "模板不存在或已停用"})
        if not isinstance(main, dict) or not main.get(self.doc_no_field):
            return JSONResponse({"code": 1002, "message": f"主表 {self.main_table} 缺少 {self.doc_no_field}"})
        doc_no = main[self.doc_no_field]
        if self.unique_doc_no and self.store.count(doc_no):
            return JSONResponse({"code": 1, "message": f"{self.doc_no_field}数据唯一性校验不通过：{doc_no} 重复"})
        missing = [a for a in data.get("attachments") or [] if str(a) not in self.files]
        if missing:
            return JSONResponse({"code": 1003, "message": f"附件不存在: {missing}"})
        summary_id = str(3128081619541315000 + self.next_id())
        self.store.add(Record(summary_id, doc_no, body, "3", attachments=[self.files[str(a)]
                                                                           for a in data.get("attachments") or []]))
        business = json.dumps({"summaryId": summary_id, "affairId": str(int(summary_id) + 7)})
        return JSONResponse({"code": 0, "data": {"app_bussiness_data": business, "processId": summary_id},
                             "message": ""})

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        return self.hook_callback(self.callback_secret, {"doc_no": record.doc_no, "oa_request_id": record.oa_id,
                                                         "status": record.status})


__all__ = ["SeeyonEmulator"]
