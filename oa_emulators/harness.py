"""Pairs of adapter + emulator, wired with matching credentials, for the contract suite and load tests.

Contract:
* ``ADAPTERS``: the names with a harness (``landray_soap``: the Landray adapter with ``transport="soap"``; its
  ``Harness.name`` is ``landray``). ``build_harness(name, files)`` returns a ``Harness`` whose emulator is
  configured like the sample mapping ``samples/oa/<name>.yaml``; ``harness.adapter(base_url, timeout=...)``
  builds the matching adapter (``files``: sha256 → bytes, its attachment source).
* ``harness.statuses``: (raw status as the emulator's ``decide`` takes it, expected normalised status) pairs;
  ``can_poll``: the adapter has a status API; ``sends_files``: it uploads attachments; ``forged(record)``: a
  callback for the record signed or encrypted with the wrong secret.
* ``sample_document(doc_no, files)``: the 报销单 of ``samples/oa/claim.example.json`` under another number, its
  attachments replaced by ``files`` (name → bytes); returns ``(document, {sha256: bytes})``.
* ``callback_app(adapter, sink)``: the receiving end of callbacks, built the way the API route should use an
  adapter: ``pipeline.sync.handle_callback`` with method, query, headers and raw body; 401 for a rejected callback,
  400 for an invalid one, else the adapter's reply; decisions are appended to ``sink``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from oa_emulators.core import OaEmulator, OutgoingCallback, Record
from oa_emulators.dingtalk import DingTalkEmulator
from oa_emulators.feishu import FeishuEmulator
from oa_emulators.generic import GenericEmulator
from oa_emulators.landray import LandrayEmulator
from oa_emulators.seeyon import SeeyonEmulator
from oa_emulators.weaver import WeaverEmulator
from oa_emulators.wecom import WeComEmulator
from pipeline.sync import (
    CallbackInvalid,
    CallbackRejected,
    CallbackRequest,
    OaAdapter,
    OaDecision,
    handle_callback,
)
from pipeline.sync.attachments import MemorySource
from pipeline.sync.dingtalk import DingTalkAdapter
from pipeline.sync.feishu import FeishuAdapter
from pipeline.sync.generic_webhook import GenericWebhookAdapter
from pipeline.sync.landray import LandrayAdapter
from pipeline.sync.mapping import load_mapping
from pipeline.sync.seeyon import SeeyonAdapter
from pipeline.sync.weaver import WeaverAdapter
from pipeline.sync.webhook import generate_secret
from pipeline.sync.wecom import WeComAdapter

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "oa"
ADAPTERS = ("generic_webhook", "weaver", "seeyon", "landray", "landray_soap", "dingtalk", "wecom", "feishu")


@dataclass
class Harness:
    name: str
    emulator: OaEmulator
    adapter: Callable[..., OaAdapter]
    statuses: list[tuple[str, str]]
    forged: Callable[[Record], OutgoingCallback]
    can_poll: bool = True
    sends_files: bool = True
    has_tokens: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def sample_document(doc_no: str, files: dict[str, bytes] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    document = json.loads((SAMPLES / "claim.example.json").read_text(encoding="utf-8"))
    document = copy.deepcopy(document)
    document["doc_no"] = doc_no
    files = files if files is not None else {"rail.pdf": b"%PDF-1.7 rail ticket " + doc_no.encode(),
                                             "hotel.pdf": b"%PDF-1.7 hotel invoice " + doc_no.encode()}
    by_hash = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
    document["attachments"] = [{"name": name, "sha256": hashlib.sha256(data).hexdigest(),
                                "media_type": "application/pdf"} for name, data in files.items()]
    hashes = list(by_hash)
    for index, line in enumerate(document["lines"]):
        line["invoice"]["file_sha256"] = hashes[index] if index < len(hashes) else None
    return document, by_hash


def _hook_forger(emulator: OaEmulator) -> Callable[[Record], OutgoingCallback]:
    def forged(record: Record) -> OutgoingCallback:
        return emulator.hook_callback(generate_secret(), {"doc_no": record.doc_no, "oa_request_id": record.oa_id,
                                                          "status": record.status})
    return forged


def build_harness(name: str, files: dict[str, bytes] | None = None) -> Harness:
    source = MemorySource(files or {})
    sample = "landray" if name == "landray_soap" else name
    mapping = load_mapping(SAMPLES / f"{sample}.yaml") if name != "generic_webhook" else None
    callback_secret = generate_secret()

    if name == "generic_webhook":
        emulator = GenericEmulator(webhook_secret=generate_secret(), callback_secret=callback_secret)

        def forged(record: Record) -> OutgoingCallback:
            other = GenericEmulator(webhook_secret=emulator.webhook_secret, callback_secret=generate_secret())
            return other.build_callback(record)
        return Harness(name, emulator, lambda url, timeout=5.0: GenericWebhookAdapter(
            url + "/webhook", emulator.webhook_secret, callback_secret, timeout=timeout),
            [("approved", "approved"), ("rejected", "rejected"), ("withdrawn", "withdrawn")], forged,
            can_poll=False, sends_files=False, has_tokens=False)

    if name == "weaver":
        emulator = WeaverEmulator(callback_secret=callback_secret)
        return Harness(name, emulator, lambda url, timeout=5.0: WeaverAdapter(
            url, emulator.app_id, "1", mapping, callback_secret=callback_secret, timeout=timeout,
            attachment_source=source), [("3", "approved"), ("0", "rejected"), ("1", "pending")],
            _hook_forger(emulator))

    if name == "seeyon":
        emulator = SeeyonEmulator(callback_secret=callback_secret)
        return Harness(name, emulator, lambda url, timeout=5.0: SeeyonAdapter(
            url, emulator.rest_user, emulator.rest_password, mapping, login_name="zhangsan",
            callback_secret=callback_secret, timeout=timeout, attachment_source=source),
            [("0", "approved"), ("6", "rejected"), ("15", "rejected"), ("5", "withdrawn"), ("4", "pending")],
            _hook_forger(emulator))

    if name in ("landray", "landray_soap"):
        emulator = LandrayEmulator(username="ekp-rest", password=secrets.token_hex(4), callback_secret=callback_secret)
        transport = "soap" if name == "landray_soap" else "rest"
        return Harness("landray", emulator, lambda url, timeout=5.0: LandrayAdapter(
            url, mapping, username=emulator.username, password=emulator.password, callback_secret=callback_secret,
            transport=transport, timeout=timeout, attachment_source=source),
            [("30", "approved"), ("11", "rejected"), ("00", "rejected"), ("40", "withdrawn"), ("20", "pending")],
            _hook_forger(emulator), has_tokens=False, extra={"transport": transport})

    if name == "dingtalk":
        emulator = DingTalkEmulator()

        def forged_dt(record: Record) -> OutgoingCallback:
            return emulator.sealed_event({"EventType": "bpms_instance_change", "processInstanceId": record.oa_id,
                                          "type": "finish", "result": "agree"}, token="forged-token")
        return Harness(name, emulator, lambda url, timeout=5.0: DingTalkAdapter(
            emulator.app_key, emulator.app_secret, mapping, base_url=url, callback_token=emulator.callback_token,
            callback_aes_key=emulator.callback_aes_key, callback_receive_id=emulator.app_key, timeout=timeout,
            attachment_source=source),
            [("COMPLETED/agree", "approved"), ("COMPLETED/refuse", "rejected"), ("TERMINATED/", "withdrawn"),
             ("RUNNING/", "pending")], forged_dt)

    if name == "wecom":
        emulator = WeComEmulator()

        def forged_wx(record: Record) -> OutgoingCallback:
            genuine = emulator.build_callback(record)
            resealed = emulator.sealed(b"<xml><Event>sys_approval_change</Event></xml>", token="forged-token")
            return OutgoingCallback("POST", resealed.query, genuine.headers, resealed.body)
        return Harness(name, emulator, lambda url, timeout=5.0: WeComAdapter(
            emulator.corp_id, emulator.corp_secret, mapping, base_url=url, callback_token=emulator.callback_token,
            callback_aes_key=emulator.callback_aes_key, timeout=timeout, attachment_source=source),
            [("2", "approved"), ("3", "rejected"), ("4", "withdrawn"), ("6", "reverted"), ("7", "deleted"),
             ("10", "paid"), ("1", "pending")], forged_wx)

    if name == "feishu":
        emulator = FeishuEmulator()

        def forged_fs(record: Record) -> OutgoingCallback:
            return emulator.sealed(emulator.event(record), encrypt_key="some other key")
        return Harness(name, emulator, lambda url, timeout=5.0: FeishuAdapter(
            emulator.app_id, emulator.app_secret, mapping, base_url=url, encrypt_key=emulator.encrypt_key,
            verification_token=emulator.verification_token, upload_url=url + "/approval/openapi/v2/file/upload",
            timeout=timeout, attachment_source=source),
            [("APPROVED", "approved"), ("REJECTED", "rejected"), ("CANCELED", "withdrawn"), ("DELETED", "deleted"),
             ("REVERTED", "reverted"), ("PENDING", "pending")], forged_fs)

    raise ValueError(f"no harness for {name!r}; known: {', '.join(ADAPTERS)}")


def callback_app(adapter: OaAdapter, sink: list[OaDecision]) -> FastAPI:
    app = FastAPI(title="callback receiver")

    @app.api_route("/callback", methods=["GET", "POST"])
    async def receive(request: Request):
        body = await request.body()
        callback = CallbackRequest(request.method, dict(request.query_params), dict(request.headers), body)
        try:
            outcome = handle_callback(adapter, callback)
        except CallbackRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        except CallbackInvalid as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if outcome.decision is not None:
            sink.append(outcome.decision)
        return Response(outcome.reply.body, status_code=outcome.reply.status_code, media_type=outcome.reply.media_type)

    return app


__all__ = ["ADAPTERS", "Harness", "build_harness", "callback_app", "sample_document"]
