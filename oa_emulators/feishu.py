"""Feishu 飞书 emulator: ``tenant_access_token``, approval v4 instances (create with ``uuid``, get by instance code
or uuid) and ``approval_instance`` event callbacks (encrypted and signed with the Encrypt Key).

Calls need ``Authorization: Bearer <tenant_access_token>`` (HTTP 400 with code 99991663 otherwise). Create checks
the approval code, that ``form`` is a JSON *string* of widgets holding the ``doc_no_field`` widget, and the uuid:
a uuid seen before answers code 60012. Get answers ``data.status`` and echoes ``uuid``; unknown → 60004.

Attachments: ``POST /approval/openapi/v2/file/upload`` (the ``upload`` fault operation; same bearer token)
takes multipart ``name``, ``type`` (``attachment`` | ``image``) and ``content`` and answers ``{"code": 0,
"data": {"code", "url"}}``. Create checks that the ``attachment_field`` widget, when present, lists only codes
of uploaded files; the record's ``attachments`` are those files.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from oa_emulators.crypto import lark_seal


class FeishuEmulator(OaEmulator):
    name = "feishu"

    def __init__(self, *, app_id: str = "cli_a1b2c3d4e5f6a7b8", app_secret: str = "feishu-secret",
                 approval_code: str = "7C468A54-8745-2245-9675-08B7C63E7A85", doc_no_field: str = "widget_doc_no",
                 encrypt_key: str | None = "kudryavka-encrypt-key", verification_token: str = "v3rification-t0ken",
                 attachment_field: str = "widget_attachments", **kwargs: Any):
        self.attachment_field = attachment_field
        self.files: dict[str, tuple[str, bytes]] = {}  # file code -> (name, bytes)
        self.app_id, self.app_secret, self.approval_code = app_id, app_secret, approval_code
        self.doc_no_field, self.encrypt_key, self.verification_token = doc_no_field, encrypt_key, verification_token
        self.tokens: dict[str, float] = {}
        super().__init__(**kwargs)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and self.tokens.get(header[7:], 0) > time.time()

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"code": 1390001, "msg": "param is invalid: form widget not found"})

    def _by_id(self, key: str) -> Record | None:
        record = self.store.get(key)
        if record is not None:
            return record
        return next((r for r in self.store.all() if r.extra["uuid"] == key), None)

    def routes(self, app: FastAPI) -> None:
        denied = JSONResponse({"code": 99991663, "msg": "Invalid access token for authorization."}, status_code=400)

        @app.post("/open-apis/auth/v3/tenant_access_token/internal")
        async def token(request: Request):
            body = await request.json()

            def work():
                if (body.get("app_id"), body.get("app_secret")) != (self.app_id, self.app_secret):
                    return JSONResponse({"code": 10014, "msg": "app secret invalid"})
                value = "t-" + uuid.uuid4().hex
                self.tokens[value] = time.time() + 7200
                return JSONResponse({"code": 0, "msg": "ok", "tenant_access_token": value, "expire": 7200})
            return await self.guarded("token", work)

        @app.post("/open-apis/approval/v4/instances")
        async def create(request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                return self._create(body, request.query_params.get("user_id_type", "open_id")) if ok else denied
            return await self.guarded("create", work)

        @app.post("/approval/openapi/v2/file/upload")
        async def upload(request: Request):
            ok = self._authorised(request)
            form = await request.form()
            content = form.get("content")
            data = await content.read() if content is not None and hasattr(content, "read") else None
            name, kind = form.get("name"), form.get("type")

            def work():
                if not ok:
                    return denied
                if data is None or not name or kind not in ("attachment", "image"):
                    return JSONResponse({"code": 1390001, "msg": "param is invalid: name, type or content"})
                code = str(uuid.uuid4()).upper()
                self.files[code] = (str(name), data)
                return JSONResponse({"code": 0, "msg": "success", "data": {
                    "code": code, "url": f"https://p3-approval-sign.byteimg.com/lark-approval-attachment/{code}"}})
            return await self.guarded("upload", work)

        @app.get("/open-apis/approval/v4/instances/{instance_id}")
        async def get(instance_id: str, request: Request):
            ok = self._authorised(request)

            def work():
                if not ok:
                    return denied
                record = self._by_id(instance_id)
                if record is None:
                    return JSONResponse({"code": 60004, "msg": "instance not found"})
                return JSONResponse({"code": 0, "msg": "success", "data": {
                    "approval_code": self.approval_code, "approval_name": "差旅报销", "instance_code": record.oa_id,
                    "status": record.status, "uuid": record.extra["uuid"], "user_id": record.creator,
                    "serial_number": record.extra["serial"], "form": record.payload["form"],
                    "start_time": str(int(record.created_at * 1000)), "end_time": "0", "task_list": [],
                    "timeline": []}})
            return await self.guarded("status", work)

    def _create(self, body: dict[str, Any], user_id_type: str) -> Response:
        if body.get("approval_code") != self.approval_code:
            return JSONResponse({"code": 1390002, "msg": "approval code not found"})
        if not isinstance(body.get("form"), str):
            return JSONResponse({"code": 1390001, "msg": "param is invalid: form must be a string"})
        try:
            widgets = json.loads(body["form"])
        except json.JSONDecodeError:
            return JSONResponse({"code": 1390001, "msg": "param is invalid: form is not JSON"})
        doc = next((w for w in widgets if w.get("id") == self.doc_no_field), None)
        creator = body.get(user_id_type) or body.get("user_id") or body.get("open_id")
        if doc is None or not doc.get("value") or not creator:
            return JSONResponse({"code": 1390001, "msg": "param is invalid: missing widget or user"})
        attached = []
        for widget in widgets:
            if widget.get("id") == self.attachment_field:
                codes = widget.get("value")
                if not isinstance(codes, list) or any(str(c) not in self.files for c in codes):
                    return JSONResponse({"code": 1390001, "msg": "param is invalid: unknown attachment code"})
                attached = [self.files[str(c)] for c in codes]
        key = body.get("uuid") or str(uuid.uuid4())
        if any(r.extra["uuid"] == key for r in self.store.all()):
            return JSONResponse({"code": 60012, "msg": "uuid conflict"})
        code = str(uuid.uuid4()).upper()
        self.store.add(Record(code, doc["value"], body, "PENDING", creator=creator, attachments=attached,
                              extra={"uuid": key, "serial": f"2026030500{self.next_id():02d}"}))
        return JSONResponse({"code": 0, "msg": "success", "data": {"instance_code": code}})

    def event(self, record: Record, *, token: str | None = None) -> dict[str, Any]:
        return {"uuid": uuid.uuid4().hex, "token": token or self.verification_token, "ts": f"{time.time():.6f}",
                "type": "event_callback",
                "event": {"app_id": self.app_id, "approval_code": self.approval_code, "instance_code": record.oa_id,
                          "instance_operate_time": str(int(time.time() * 1000)),
                          "operate_time": str(int(time.time() * 1000)), "status": record.status,
                          "tenant_key": "2d520d3b434f175e", "type": "approval_instance", "uuid": record.extra["uuid"]}}

    def sealed(self, payload: dict[str, Any], *, encrypt_key: str | None = None) -> OutgoingCallback:
        plain = json.dumps(payload, ensure_ascii=False).encode()
        key = encrypt_key or self.encrypt_key
        if not key:
            return OutgoingCallback("POST", {}, {"Content-Type": "application/json"}, plain)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        body, signature = lark_seal(key, plain, timestamp, nonce)
        return OutgoingCallback("POST", {}, {"Content-Type": "application/json", "X-Lark-Request-Timestamp": timestamp,
                                             "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": signature}, body)

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        return self.sealed(self.event(record))

    def url_check(self) -> OutgoingCallback:
        return self.sealed({"challenge": "ajls384kdjx98XX", "token": self.verification_token,
                            "type": "url_verification"})


__all__ = ["FeishuEmulator"]
