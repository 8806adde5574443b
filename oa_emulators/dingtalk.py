"""DingTalk 钉钉 emulator: ``/v1.0/oauth2/accessToken``, ``/v1.0/workflow/processInstances`` (create, get),
``/v1.0/workflow/processes/instanceIds/query`` and encrypted ``bpms_instance_change`` HTTP-push callbacks.

Calls need ``x-acs-dingtalk-access-token`` (401 ``InvalidAuthentication`` otherwise). Create checks the process
code, the originator and the ``doc_no_field`` component and answers ``{"instanceId"}``; the instance answers
``{"result": {"status", "result", "formComponentValues", …}, "success": true}``. Statuses are set as
``"STATUS/result"`` (``COMPLETED/agree``, ``COMPLETED/refuse``, ``TERMINATED/``, ``RUNNING/``) or ``deleted``;
each change is pushed as the matching event (``finish`` + result, ``terminate``, ``start``, ``delete``), encrypted
with the callback token / AES key, and the answer must be the encrypted ``success``.

Attachments (DingPan 钉盘): ``/v1.0/workflow/processInstances/spaces/infos/query`` → the approval space id;
``/v1.0/storage/spaces/{spaceId}/files/uploadInfos/query?unionId=`` → an ``uploadKey`` and a signed object-storage
URL on this server (``PUT /_oss/{uploadKey}``, which checks the signed headers); ``…/files/commit?unionId=`` turns
an uploaded key into a file (``dentry``). All are the ``upload`` fault operation. Create checks that the
``attachment_field`` component, when present, is a JSON array of ``{spaceId, fileName, fileSize, fileType,
fileId}`` naming committed files of that space with their real sizes; the record's ``attachments`` are those files.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from oa_emulators.crypto import wx_open, wx_seal

EVENT_TYPE = {"RUNNING": "start", "COMPLETED": "finish", "TERMINATED": "terminate", "deleted": "delete"}


class DingTalkEmulator(OaEmulator):
    name = "dingtalk"

    def __init__(self, *, app_key: str = "dingx2kvjmsrwi5l", app_secret: str = "ding-secret",
                 process_code: str = "PROC-EF6YJI6N-BX2026", doc_no_field: str = "单据编号",
                 callback_token: str = "123456", callback_aes_key: str | None = None,
                 corp_id: str = "ding9f50b15bccd16741", attachment_field: str = "附件", space_id: str = "20000331",
                 **kwargs: Any):
        self.attachment_field, self.space_id = attachment_field, space_id
        self.uploads: dict[str, dict[str, Any]] = {}  # uploadKey -> {"signature", "data"}
        self.files: dict[str, tuple[str, bytes]] = {}  # committed file id -> (name, bytes)
        self.app_key, self.app_secret, self.process_code = app_key, app_secret, process_code
        self.doc_no_field, self.callback_token = doc_no_field, callback_token
        self.callback_aes_key = callback_aes_key or "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij"
        self.receive_id = app_key  # HTTP push to an internal app: the app key closes the plaintext
        self.corp_id = corp_id
        self.tokens: dict[str, float] = {}
        super().__init__(**kwargs)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _authorised(self, request: Request) -> bool:
        return self.tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""), 0) > time.time()

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"code": "processCodeNotExist", "message": "审批模板不存在", "requestid": "x"},
                            status_code=400)

    def routes(self, app: FastAPI) -> None:
        denied = JSONResponse({"code": "InvalidAuthentication", "message": "不合法的access_token"}, status_code=401)

        @app.post("/v1.0/oauth2/accessToken")
        async def token(request: Request):
            body = await request.json()

            def work():
                if (body.get("appKey"), body.get("appSecret")) != (self.app_key, self.app_secret):
                    return JSONResponse({"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"},
                                        status_code=400)
                value = uuid.uuid4().hex
                self.tokens[value] = time.time() + 7200
                return JSONResponse({"accessToken": value, "expireIn": 7200})
            return await self.guarded("token", work)

        @app.post("/v1.0/workflow/processInstances")
        async def create(request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                return self._create(body) if ok else denied
            return await self.guarded("create", work)

        @app.post("/v1.0/workflow/processInstances/spaces/infos/query")
        async def space(request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                if not ok:
                    return denied
                if not body.get("userId"):
                    return JSONResponse({"code": "paramError", "message": "userId 为空"}, status_code=400)
                return JSONResponse({"success": True, "result": {"spaceId": int(self.space_id)}})
            return await self.guarded("upload", work)

        @app.post("/v1.0/storage/spaces/{space_id}/files/uploadInfos/query")
        async def upload_info(space_id: str, request: Request):
            ok = self._authorised(request)
            body = await request.json()
            base = str(request.base_url).rstrip("/")

            def work():
                if not ok:
                    return denied
                if space_id != self.space_id or not request.query_params.get("unionId"):
                    return JSONResponse({"code": "paramError", "message": "spaceId 或 unionId 无效"}, status_code=400)
                if body.get("protocol") != "HEADER_SIGNATURE":
                    return JSONResponse({"code": "paramError", "message": "protocol"}, status_code=400)
                key = uuid.uuid4().hex
                signature = f"OSS4-HMAC-SHA256 Credential={secrets.token_hex(8)}"
                self.uploads[key] = {"signature": signature, "data": None}
                return JSONResponse({"uploadKey": key, "storageDriver": "DINGTALK", "protocol": "HEADER_SIGNATURE",
                                     "headerSignatureInfo": {"resourceUrls": [f"{base}/_oss/{key}"],
                                                             "headers": {"Authorization": signature,
                                                                         "x-oss-date": time.strftime("%Y%m%dT%H%M%SZ")},
                                                             "expirationSeconds": 900, "region": "ZHANGJIAKOU"}})
            return await self.guarded("upload", work)

        @app.put("/_oss/{key}")
        async def oss_put(key: str, request: Request):
            data = await request.body()

            def work():
                upload = self.uploads.get(key)
                if upload is None or request.headers.get("authorization") != upload["signature"]:
                    return Response(b"<Error><Code>SignatureDoesNotMatch</Code></Error>", status_code=403,
                                    media_type="application/xml")
                upload["data"] = data
                return Response(b"", status_code=200)
            return await self.guarded("upload", work)

        @app.post("/v1.0/storage/spaces/{space_id}/files/commit")
        async def commit(space_id: str, request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                if not ok:
                    return denied
                upload = self.uploads.get(str(body.get("uploadKey")))
                if space_id != self.space_id or upload is None or upload["data"] is None or not body.get("name"):
                    return JSONResponse({"code": "paramError", "message": "uploadKey 无效或文件未上传"}, status_code=400)
                if int((body.get("option") or {}).get("size", -1)) != len(upload["data"]):
                    return JSONResponse({"code": "paramError", "message": "size 与上传内容不符"}, status_code=400)
                file_id = str(120000000 + self.next_id())
                self.files[file_id] = (body["name"], upload["data"])
                del self.uploads[str(body["uploadKey"])]
                return JSONResponse({"dentry": {"id": file_id, "spaceId": self.space_id, "name": body["name"],
                                                "size": len(upload["data"]), "type": "FILE",
                                                "extension": body["name"].rsplit(".", 1)[-1], "parentId": "0"}})
            return await self.guarded("upload", work)

        @app.get("/v1.0/workflow/processInstances")
        async def get(request: Request, processInstanceId: str):
            ok = self._authorised(request)

            def work():
                if not ok:
                    return denied
                record = self.store.get(processInstanceId)
                if record is None or record.status == "deleted":
                    return JSONResponse({"code": "instanceNotExist", "message": "审批实例不存在"}, status_code=400)
                return JSONResponse({"success": True, "result": self._instance(record)})
            return await self.guarded("status", work)

        @app.post("/v1.0/workflow/processes/instanceIds/query")
        async def ids(request: Request):
            ok = self._authorised(request)
            body = await request.json()

            def work():
                if not ok:
                    return denied
                users = body.get("userIds") or None
                matching = [r.oa_id for r in self.store.all()
                            if r.payload["processCode"] == body.get("processCode")
                            and body.get("startTime", 0) <= r.created_at * 1000 <= body.get("endTime", 1e15)
                            and (users is None or r.creator in users)]
                start, size = int(body.get("nextToken") or 0), int(body.get("maxResults") or 10)
                chunk = matching[start:start + size]
                more = start + size < len(matching)
                return JSONResponse({"success": True, "result": {"list": chunk,
                                                                 "nextToken": str(start + size) if more else None}})
            return await self.guarded("lookup", work)

    @staticmethod
    def _instance(record: Record) -> dict[str, Any]:
        status, _, result = record.status.partition("/")
        return {"title": record.extra["title"], "status": status, "result": result, "businessId": record.extra["bid"],
                "originatorUserId": record.creator, "formComponentValues": record.payload["formComponentValues"],
                "createTime": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(record.created_at))}

    def _create(self, body: dict[str, Any]) -> Response:
        if body.get("processCode") != self.process_code:
            return self.reject_response("create")
        components = body.get("formComponentValues") or []
        values = {c.get("name"): c.get("value") for c in components}
        if not body.get("originatorUserId") or not values.get(self.doc_no_field):
            return JSONResponse({"code": "paramError", "message": "originatorUserId 或 单据编号 为空"}, status_code=400)
        for component in components:
            if not isinstance(component.get("value"), str):
                return JSONResponse({"code": "paramError", "message": "value must be a string"}, status_code=400)
        attachments = self._attached(values.get(self.attachment_field))
        if isinstance(attachments, Response):
            return attachments
        instance_id = f"{uuid.uuid4().hex[:8]}-{self.next_id():04d}-d0e0"
        self.store.add(Record(instance_id, values[self.doc_no_field], body, "RUNNING/",
                              creator=body["originatorUserId"], attachments=attachments,
                              extra={"title": f"{body['originatorUserId']}提交的报销",
                                     "bid": f"2026030510{self.next_id():04d}"}))
        return JSONResponse({"instanceId": instance_id})

    def _attached(self, value: str | None) -> list[tuple[str, bytes]] | Response:
        if value is None:
            return []
        refused = JSONResponse({"code": "paramError", "message": "附件控件的值无效"}, status_code=400)
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            return refused
        if not isinstance(items, list):
            return refused
        attached = []
        for item in items:
            if not isinstance(item, dict) or set(item) < {"spaceId", "fileName", "fileSize", "fileType", "fileId"}:
                return refused
            stored = self.files.get(str(item["fileId"]))
            if (stored is None or str(item["spaceId"]) != self.space_id or str(item["fileSize"]) != str(len(stored[1]))
                    or item["fileName"] != stored[0]):
                return refused
            attached.append(stored)
        return attached

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        status, _, result = record.status.partition("/")
        event = {"EventType": "bpms_instance_change", "processInstanceId": record.oa_id, "corpId": self.corp_id,
                 "createTime": int(record.created_at * 1000), "title": record.extra["title"],
                 "type": EVENT_TYPE.get(status, status.lower()), "staffId": record.creator,
                 "url": f"https://aflow.dingtalk.com/dingtalk/mobile/homepage.htm#approval?procInsId={record.oa_id}",
                 "processCode": self.process_code, "businessId": record.extra["bid"]}
        if result:
            event["result"] = result
        return self.sealed_event(event)

    def sealed_event(self, event: dict[str, Any], *, token: str | None = None) -> OutgoingCallback:
        timestamp, nonce = str(int(time.time() * 1000)), secrets.token_hex(4)
        encrypt, signature = wx_seal(token or self.callback_token, self.callback_aes_key, self.receive_id,
                                     json.dumps(event, ensure_ascii=False).encode(), timestamp, nonce)
        return OutgoingCallback("POST", {"signature": signature, "timestamp": timestamp, "nonce": nonce},
                                {"Content-Type": "application/json"}, json.dumps({"encrypt": encrypt}).encode())

    def callback_acknowledged(self, response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        try:
            reply = response.json()
            plain = wx_open(self.callback_token, self.callback_aes_key, self.receive_id, reply["encrypt"],
                            reply["timeStamp"], reply["nonce"], reply["msg_signature"])
        except (ValueError, KeyError):
            return False
        return plain == b"success"


__all__ = ["DingTalkEmulator"]
