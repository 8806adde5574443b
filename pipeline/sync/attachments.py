"""Invoice files that travel with a 报销单 to the OA: descriptors in the document, bytes from a source.

Contract:
* The document names its files in ``document["attachments"]``: a list of ``{"name", "sha256", "media_type"?,
  "path"?}``. When that key is absent, one descriptor per distinct ``lines[].invoice.file_sha256`` is derived
  (named after the invoice number). ``attachment_refs(document)`` returns them, de-duplicated by hash, in order.
* An ``AttachmentSource`` is any callable ``(AttachmentRef) -> bytes``. ``StoreSource(storage_dir)`` reads the
  API's content-addressed store (``<dir>/<sha[:2]>/<sha>``) or the descriptor's ``path``; ``MemorySource`` serves
  bytes held in a dict (tests, callers that have the files at hand).
* ``load_attachments(document, source)`` returns ``[(ref, bytes)]``, each checked against its sha256. A missing
  file or a hash mismatch raises ``DeliveryError(retryable=False)``: the evidence changed or vanished, and an
  operator has to look. With ``source=None`` no files are sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.sync.base import DeliveryError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AttachmentRef:
    name: str
    sha256: str
    media_type: str | None = None
    path: str | None = None


AttachmentSource = Callable[[AttachmentRef], bytes]


def _ref(item: Mapping[str, Any]) -> AttachmentRef:
    sha = str(item.get("sha256") or "").lower()
    if not _SHA256.match(sha):
        raise DeliveryError(f"attachment {item.get('name')!r} has no valid sha256", retryable=False)
    return AttachmentRef(name=str(item.get("name") or sha[:16]), sha256=sha, media_type=item.get("media_type"),
                         path=item.get("path"))


def attachment_refs(document: Mapping[str, Any]) -> list[AttachmentRef]:
    if document.get("attachments") is not None:
        items = list(document["attachments"])
    else:
        items = []
        for line in document.get("lines") or []:
            invoice = line.get("invoice") or {}
            if invoice.get("file_sha256"):
                label = invoice.get("number") or invoice["file_sha256"][:16]
                items.append({"name": f"invoice-{label}", "sha256": invoice["file_sha256"]})
    refs: dict[str, AttachmentRef] = {}
    for item in items:
        ref = _ref(item)
        refs.setdefault(ref.sha256, ref)
    return list(refs.values())


class StoreSource:
    def __init__(self, storage_dir: str | Path):
        self.storage_dir = Path(storage_dir)

    def __call__(self, ref: AttachmentRef) -> bytes:
        path = Path(ref.path) if ref.path else self.storage_dir / ref.sha256[:2] / ref.sha256
        if not path.is_absolute():
            path = self.storage_dir / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"attachment {ref.name} ({ref.sha256[:12]}…) cannot be read: {exc}",
                                retryable=False) from exc


class MemorySource:
    def __init__(self, files: Mapping[str, bytes]):
        self.files = {k.lower(): v for k, v in files.items()}

    def __call__(self, ref: AttachmentRef) -> bytes:
        try:
            return self.files[ref.sha256]
        except KeyError:
            raise DeliveryError(f"attachment {ref.name} ({ref.sha256[:12]}…) is not available",
                                retryable=False) from None


def load_attachments(document: Mapping[str, Any], source: AttachmentSource | None
                     ) -> list[tuple[AttachmentRef, bytes]]:
    if source is None:
        return []
    loaded = []
    for ref in attachment_refs(document):
        data = source(ref)
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise DeliveryError(f"attachment {ref.name} no longer matches its sha256 {ref.sha256[:12]}…",
                                retryable=False)
        loaded.append((ref, data))
    return loaded


def file_name(ref: AttachmentRef) -> str:
    """The name to show in the OA, with an extension guessed from the media type when it has none."""
    if "." in ref.name:
        return ref.name
    extension = {"application/pdf": ".pdf", "application/ofd": ".ofd", "image/jpeg": ".jpg", "image/png": ".png",
                 "application/xml": ".xml", "text/xml": ".xml"}.get(ref.media_type or "", "")
    return ref.name + extension


__all__ = ["AttachmentRef", "AttachmentSource", "MemorySource", "StoreSource", "attachment_refs", "file_name",
           "load_attachments"]
