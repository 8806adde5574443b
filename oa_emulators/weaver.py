"""Weaver e-cology E9 emulator: the ECOLOGY token handshake and the paService workflow endpoints.

Implements ``/api/ec/dev/auth/regist`` (→ ``spk``, ``secrit``), ``/api/ec/dev/auth/applytoken`` (checks
``RSA(spk, secrit)`` with its private key), and, for requests with a valid ``appid`` / ``token`` /
``userid = RSA(spk, user)``: ``doCreateRequest`` (form-encoded or JSON; checks the workflow id, the reserved fields
and that ``doc_no_field`` is present; stores ``base64:`` attachments), ``getMyWorkflowRequestList`` (the caller's
requests, ``conditions.requestname`` as a substring filter) and ``getRequestStatus`` (``currentNodeType``). An
invalid token answers ``{"status": false}``; ``expire_tokens()`` invalidates all of them. Callbacks are what an E9
node Action would send: a Standard Webhooks POST ``{"doc_no", "oa_request_id", "status": <currentNodeType>}``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record

RESERVED = {"requestname", "requestlevel"}


class WeaverEmulator(OaEmulator):
    name = "weaver"

    def __init__(self, *, app_id: str = "EEAA5436-7577-4BE0-8C6C-89E9D88805EA", users: dict[str, str] | None = None,
                 workflow_id: int = 123, doc_no_field: str = "djbh", token_ttl: float = 1800,
                 callback_secret: str | None = None, **kwargs: Any):
        self.app_id, self.workflow_id, self.doc_no_field = app_id, workflow_id, doc_no_field
        self.users = users or {"1": "系统管理员"}
        self.token_ttl, self.callback_secret = token_ttl, callback_secret
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.secrits: dict[str, str] = {}  # appid -> secrit handed out at regist
        self.tokens: dict[str, float] = {}  # token -> expiry
        super().__init__(**kwargs)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _spk(self) -> str:
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def _decrypt(self, text: str | None) -> str | None:
        try:
            return self.key.decrypt(base64.b64decode(text or ""), padding.PKCS1v15()).decode()
        except ValueError:
            return None

    def _user(self, request: Request) -> str | None:
        headers = request.headers
        if headers.get("appid") != self.app_id or self.tokens.get(headers.get("token", ""), 0) < time.time():
            return None
        user = self._decrypt(headers.get("userid"))
        return user if user in self.users else None

    @staticmethod
    async def _params(request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            data = await request.json()
        else:
            data = dict(await request.form())
        for key in ("mainData", "detailData", "otherParams", "conditions"):
            if isinstance(data.get(key), str):
                data[key] = json.loads(data[key])
        return data

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"code": "PARAM_ERROR", "errMsg": {"mainData": "字段 bxje 不存在"}})

    def routes(self, app: FastAPI) -> None:
        unauthorised = JSONResponse({"code": -1, "msg": "token不存在或者超时", "status": False})

        @app.post("/api/ec/dev/auth/regist")
        async def regist(request: Request):
            def work():
                if request.headers.get("appid") != self.app_id or not request.headers.get("cpk"):
                    return JSONResponse({"code": 1, "msg": "appid未注册", "status": False})
                self.secrits[self.app_id] = str(uuid.uuid4())
                return JSONResponse({"code": 0, "msg": "ok", "status": True, "spk": self._spk(),
                                     "secrit": self.secrits[self.app_id], "msgShowType": "none"})
            return await self.guarded("token", work)

        @app.post("/api/ec/dev/auth/applytoken")
        async def applytoken(request: Request):
            def work():
                secret = self._decrypt(request.headers.get("secret"))
                if request.headers.get("appid") != self.app_id or secret != self.secrits.get(self.app_id):
                    return JSONResponse({"code": 1, "msg": "认证信息错误", "status": False})
                token = str(uuid.uuid4())
                ttl = min(float(request.headers.get("time") or self.token_ttl), self.token_ttl)
                self.tokens[token] = time.time() + ttl
                return JSONResponse({"code": 0, "msg": "获取成功!", "status": True, "token": token})
            return await self.guarded("token", work)

        @app.post("/api/workflow/paService/doCreateRequest")
        async def create(request: Request):
            user = self._user(request)
            params = await self._params(request)

            def work():
                if user is None:
                    return unauthorised
                return self._create(user, params)
            return await self.guarded("create", work)

        @app.post("/api/workflow/paService/getMyWorkflowRequestList")
        async def my_requests(request: Request):
            user = self._user(request)
            params = await self._params(request)

            def work():
                if user is None:
                    return unauthorised
                needle = (params.get("conditions") or {}).get("requestname", "")
                page, size = int(params.get("pageNo", 1)), int(params.get("pageSize", 10))
                mine = [r for r in self.store.all() if r.creator == user and needle in r.payload["requestName"]]
                chunk = mine[(page - 1) * size: page * size]
                return JSONResponse([{"requestId": r.oa_id, "requestName": r.payload["requestName"],
                                      "createTime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created_at)),
                                      "creatorId": user, "currentNodeId": "3976", "status": "出口1",
                                      "workflowBaseInfo": {"workflowId": str(self.workflow_id)}} for r in chunk])
            return await self.guarded("lookup", work)

        @app.get("/api/workflow/paService/getRequestStatus")
        async def status(request: Request, requestId: str):
            user = self._user(request)

            def work():
                if user is None:
                    return unauthorised
                record = self.store.get(requestId)
                if record is None:
                    return JSONResponse({"code": "PARAM_ERROR", "errMsg": {"requestId": "流程不存在"}})
                return JSONResponse({"code": "SUCCESS", "errMsg": {}, "data": {
                    "requestId": record.oa_id, "requestName": record.payload["requestName"],
                    "currentNodeType": record.status, "currentNodeId": "3976", "status": "出口1",
                    "workflowId": self.workflow_id}})
            return await self.guarded("status", work)

    def _create(self, user: str, params: dict[str, Any]) -> Response:
        main = params.get("mainData") or []
        names = {f.get("fieldName", "").lower() for f in main}
        if str(params.get("workflowId")) != str(self.workflow_id) or not params.get("requestName"):
            return JSONResponse({"code": "PARAM_ERROR", "errMsg": {"workflowId": "0"}})
        if names & RESERVED or self.doc_no_field not in names:
            return JSONResponse({"code": "PARAM_ERROR", "errMsg": {"mainData": "参数不正确"}})
        attachments = []
        for f in main:
            if isinstance(f.get("fieldValue"), list):
                for item in f["fieldValue"]:
                    path = str(item.get("filePath", ""))
                    if not path.startswith("base64:"):
                        return JSONResponse({"code": "PARAM_ERROR", "errMsg": {"filePath": "附件上传失败"}})
                    attachments.append((item.get("fileName"), base64.b64decode(path[7:])))
        doc_no = next(f["fieldValue"] for f in main if f.get("fieldName") == self.doc_no_field)
        request_id = str(2966060 + self.next_id())
        self.store.add(Record(request_id, doc_no, params, "1", creator=user, attachments=attachments))
        return JSONResponse({"code": "SUCCESS", "data": {"requestid": int(request_id)}, "errMsg": {}})

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        return self.hook_callback(self.callback_secret, {"doc_no": record.doc_no, "oa_request_id": record.oa_id,
                                                         "status": record.status})


__all__ = ["WeaverEmulator"]
