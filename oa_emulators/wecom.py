"""WeCom 企业微信 emulator: ``gettoken``, ``media/upload``, ``oa/applyevent``, ``oa/getapprovaldetail``,
``oa/getapprovalinfo`` and encrypted ``sys_approval_change`` callbacks (plus the GET URL check).

Every call needs ``?access_token=`` (errcode 40014 otherwise, 42001 once ``expire_tokens()`` ran). applyevent
checks the template, the creator, the ``doc_no_field`` Text control and that File controls name uploaded media,
and keeps the approval nodes: the ``apv_rel`` it receives (1 会签 / 2 或签) is reported back, as WeCom does, as
``approverattr`` / ``ApproverAttr`` with the opposite codes (1 或签 / 2 会签). ``getapprovalinfo`` filters by time
window and ``template_id`` with cursor paging. Callbacks are XML, encrypted to the CorpID.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from oa_emulators.crypto import wx_seal

APV_REL_TO_APPROVER_ATTR = {1: 2, 2: 1, 3: 3}  # applyevent 1 会签 / 2 或签 → callback 2 会签 / 1 或签


class WeComEmulator(OaEmulator):
    name = "wecom"

    def __init__(self, *, corp_id: str = "ww1f2e3d4c5b6a7980", corp_secret: str = "wecom-secret",
                 template_id: str = "3Tka1eD6v6JfzhDMqPd3aMkFdxqtJMc2ZRioeFXkaaa",
                 doc_no_field: str = "Text-1569573760849", callback_token: str = "QDG6eK",
                 callback_aes_key: str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", **kwargs: Any):
        self.corp_id, self.corp_secret, self.template_id = corp_id, corp_secret, template_id
        self.doc_no_field, self.callback_token, self.callback_aes_key = doc_no_field, callback_token, callback_aes_key
        self.tokens: dict[str, float] = {}
        self.expired: set[str] = set()
        self.media: dict[str, tuple[str, bytes]] = {}
        super().__init__(**kwargs)

    def expire_tokens(self) -> None:
        self.expired |= set(self.tokens)
        self.tokens.clear()

    def _token_error(self, request: Request) -> Response | None:
        token = request.query_params.get("access_token", "")
        if token in self.expired:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        if self.tokens.get(token, 0) <= time.time():
            return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})
        return None

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"errcode": 301025, "errmsg": "template not found"})

    def routes(self, app: FastAPI) -> None:
        @app.get("/cgi-bin/gettoken")
        async def gettoken(corpid: str = "", corpsecret: str = ""):
            def work():
                if (corpid, corpsecret) != (self.corp_id, self.corp_secret):
                    return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
                value = secrets.token_urlsafe(48)
                self.tokens[value] = time.time() + 7200
                return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": value, "expires_in": 7200})
            return await self.guarded("token", work)

        @app.post("/cgi-bin/media/upload")
        async def upload(request: Request):
            error = self._token_error(request)
            form = await request.form()
            media = form.get("media")
            data = await media.read() if media is not None and hasattr(media, "read") else None

            def work():
                if error is not None:
                    return error
                if data is None or request.query_params.get("type") != "file":
                    return JSONResponse({"errcode": 40004, "errmsg": "invalid media type"})
                media_id = f"3a8asd892asd8asd{self.next_id():06d}"
                self.media[media_id] = (media.filename, data)
                return JSONResponse({"errcode": 0, "errmsg": "", "type": "file", "media_id": media_id,
                                     "created_at": str(int(time.time()))})
            return await self.guarded("upload", work)

        @app.post("/cgi-bin/oa/applyevent")
        async def applyevent(request: Request):
            error = self._token_error(request)
            body = await request.json()

            def work():
                return error if error is not None else self._apply(body)
            return await self.guarded("create", work)

        @app.post("/cgi-bin/oa/getapprovaldetail")
        async def detail(request: Request):
            error = self._token_error(request)
            body = await request.json()

            def work():
                if error is not None:
                    return error
                record = self.store.get(str(body.get("sp_no")))
                if record is None:
                    return JSONResponse({"errcode": 301055, "errmsg": "no such approval"})
                return JSONResponse({"errcode": 0, "errmsg": "ok", "info": self._info(record)})
            return await self.guarded("status", work)

        @app.post("/cgi-bin/oa/getapprovalinfo")
        async def info(request: Request):
            error = self._token_error(request)
            body = await request.json()

            def work():
                if error is not None:
                    return error
                start, end = int(body.get("starttime", 0)), int(body.get("endtime", 0))
                if end - start > 31 * 86400:
                    return JSONResponse({"errcode": 301057, "errmsg": "time range over 31 days"})
                filters = {f.get("key"): f.get("value") for f in body.get("filters") or []}
                numbers = [r.oa_id for r in self.store.all() if start <= r.created_at <= end
                           and filters.get("template_id", r.payload["template_id"]) == r.payload["template_id"]
                           and filters.get("creator", r.creator) == r.creator]
                offset, size = int(body.get("new_cursor") or 0), int(body.get("size") or 100)
                chunk = numbers[offset:offset + size]
                cursor = str(offset + size) if offset + size < len(numbers) else ""
                return JSONResponse({"errcode": 0, "errmsg": "ok", "sp_no_list": chunk, "new_next_cursor": cursor})
            return await self.guarded("lookup", work)

    def _apply(self, body: dict[str, Any]) -> Response:
        if body.get("template_id") != self.template_id:
            return self.reject_response("create")
        contents = (body.get("apply_data") or {}).get("contents") or []
        doc = next((c for c in contents if c.get("id") == self.doc_no_field), None)
        if not body.get("creator_userid") or doc is None or not (doc.get("value") or {}).get("text"):
            return JSONResponse({"errcode": 301035, "errmsg": "apply_data invalid: missing required control"})
        attachments = []
        for control in contents:
            if control.get("control") == "File":
                for item in (control.get("value") or {}).get("files") or []:
                    if item.get("file_id") not in self.media:
                        return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
                    attachments.append(self.media[item["file_id"]])
        nodes = (body.get("process") or {}).get("node_list") or [{"type": 1, "apv_rel": 2, "userid": ["lisi"]}]
        sp_no = f"{time.strftime('%Y%m%d')}{self.next_id():04d}"
        self.store.add(Record(sp_no, doc["value"]["text"], body, "1", creator=body["creator_userid"],
                              attachments=attachments, extra={"nodes": nodes}))
        return JSONResponse({"errcode": 0, "errmsg": "ok", "sp_no": sp_no})

    def _records(self, record: Record) -> list[dict[str, Any]]:
        return [{"sp_status": int(record.status) if record.status in ("1", "2", "3") else 1,
                 "approverattr": APV_REL_TO_APPROVER_ATTR[int(node.get("apv_rel", 1))],
                 "details": [{"approver": {"userid": u}, "speech": "", "sp_status": 1, "sptime": 0}
                             for u in node.get("userid") or []]}
                for node in record.extra["nodes"] if int(node.get("type", 1)) == 1]

    def _info(self, record: Record) -> dict[str, Any]:
        return {"sp_no": record.oa_id, "sp_name": "报销", "sp_status": int(record.status),
                "template_id": self.template_id, "apply_time": int(record.created_at),
                "applyer": {"userid": record.creator, "partyid": "2"}, "sp_record": self._records(record),
                "notifyer": [], "comments": [], "apply_data": record.payload["apply_data"]}

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        records = "".join(
            f"<SpRecord><SpStatus>{r['sp_status']}</SpStatus><ApproverAttr>{r['approverattr']}</ApproverAttr>"
            + "".join(f"<Details><Approver><UserId><![CDATA[{d['approver']['userid']}]]></UserId></Approver>"
                      f"<Speech><![CDATA[]]></Speech><SpStatus>{d['sp_status']}</SpStatus><SpTime>0</SpTime></Details>"
                      for d in r["details"]) + "</SpRecord>" for r in self._records(record))
        change = {"2": 2, "3": 3, "4": 6, "6": 8}.get(record.status, 1)
        plain = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
                 f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                 f"<Event><![CDATA[sys_approval_change]]></Event><AgentID>3010040</AgentID><ApprovalInfo>"
                 f"<SpNo>{record.oa_id}</SpNo><SpName><![CDATA[报销]]></SpName><SpStatus>{record.status}</SpStatus>"
                 f"<TemplateId><![CDATA[{self.template_id}]]></TemplateId>"
                 f"<ApplyTime>{int(record.created_at)}</ApplyTime>"
                 f"<Applyer><UserId><![CDATA[{escape(record.creator or '')}]]></UserId><Party><![CDATA[2]]></Party>"
                 f"</Applyer>{records}<StatuChangeEvent>{change}</StatuChangeEvent></ApprovalInfo></xml>")
        return self.sealed(plain.encode())

    def sealed(self, plain: bytes, *, token: str | None = None) -> OutgoingCallback:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        encrypt, signature = wx_seal(token or self.callback_token, self.callback_aes_key, self.corp_id, plain,
                                     timestamp, nonce)
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
                f"<AgentID><![CDATA[3010040]]></AgentID></xml>").encode()
        return OutgoingCallback("POST", {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce},
                                {"Content-Type": "text/xml"}, body)

    def url_check(self, echo: bytes = b"5927782489442352469") -> OutgoingCallback:
        """The GET the admin console sends when the callback URL is saved."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        encrypt, signature = wx_seal(self.callback_token, self.callback_aes_key, self.corp_id, echo, timestamp, nonce)
        return OutgoingCallback("GET", {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce,
                                        "echostr": encrypt}, {}, b"")


__all__ = ["APV_REL_TO_APPROVER_ATTR", "WeComEmulator"]
