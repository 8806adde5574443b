"""Parse untrusted XML bytes (invoice XML, the XML parts of OFD files) safely, and look elements up by local name.

Contract:
* ``parse_xml(data, what, warnings=None, recover=True)`` returns the root element or raises ``CorruptDocument``
  with a message naming ``what``. Before parsing it refuses (in microseconds, whatever the size):
  - more than ``MAX_XML_BYTES`` bytes (``DocumentTooLarge``);
  - any entity declaration (``<!ENTITY``, internal or external, parameter or general) and any DOCTYPE that points
    to an external DTD (``SYSTEM`` / ``PUBLIC``): invoices never use them, and they are how entity-expansion
    ("billion laughs") and external-entity (XXE) attacks work;
  - encodings other than UTF-8/UTF-16/GB2312/GBK/GB18030/ASCII/Latin-1 (UTF-7 and friends could hide the markup
    the check above looks for).
  The parser itself is lxml with ``resolve_entities=False``, ``load_dtd=False``, ``no_network=True``,
  ``huge_tree=False`` (libxml2's limits: nesting depth 256, 10 MB per text node; a file beyond them is refused,
  never recovered in part), comments and processing instructions dropped.
  A UTF-8 byte-order mark is stripped. When the strict parse fails, an undeclared GB18030 file is re-read as such,
  then (``recover=True``) libxml2's recovery mode is tried, which reads the malformed roots seen in real OFD tag
  files (``<:eInvoice xmlns:="">`` with unbound ``ofd:`` prefixes, which are then dropped from the tags); a note
  is appended to ``warnings`` then.
* Helpers ignore namespaces and prefixes (``{uri}Name``, ``ofd:Name`` left as a literal tag by recovery, ``Name``
  are all ``Name``): ``local_name``, ``children``, ``child``, ``child_text``, ``iter_local``, ``text_of``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from pipeline.errors import CorruptDocument, DocumentTooLarge

MAX_XML_BYTES = 20 * 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE_EXTERNAL = re.compile(rb"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b", re.I)
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")
_ALLOWED_ENCODINGS = {
    "utf-8", "utf8", "utf-16", "utf16", "utf-16le", "utf-16be", "gb2312", "gbk", "gb18030", "ascii", "us-ascii",
    "iso-8859-1", "latin-1", "latin1",
}
_LIMIT_ERROR = re.compile(r"XML_PARSE_HUGE|Excessive depth|[Rr]esource limit|[Aa]mplification|[Ll]imit exceeded")
_Element = etree._Element


def _parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True, recover=recover,
                           collect_ids=False)


def parse_xml(data: bytes, what: str = "XML document", warnings: list[str] | None = None,
              recover: bool = True) -> _Element:
    """Parse ``data`` safely (see the module docstring); raises ``CorruptDocument`` / ``DocumentTooLarge``."""
    if len(data) > MAX_XML_BYTES:
        raise DocumentTooLarge(f"the {what} is {len(data) / (1024 * 1024):.0f} MB, more than the "
                               f"{MAX_XML_BYTES // (1024 * 1024)} MB an invoice XML may have")
    if data.startswith(_UTF8_BOM):
        data = data[3:]
    _refuse_hostile(data, what)
    if not data.strip():
        raise CorruptDocument(f"the {what} is empty")
    try:
        return _checked_root(etree.fromstring(data, _parser(recover=False)), what)
    except etree.XMLSyntaxError as exc:
        first_error = exc
    if _LIMIT_ERROR.search(str(first_error)):
        raise CorruptDocument(f"the {what} goes beyond the XML parser's safety limits (nesting depth or text "
                              f"size; {first_error}): refused") from None
    reencoded = _as_gb18030(data)
    if reencoded is not None:
        try:
            root = _checked_root(etree.fromstring(reencoded, _parser(recover=False)), what)
            _note(warnings, f"the {what} is GB18030 text without an encoding declaration")
            return root
        except etree.XMLSyntaxError:
            pass
    if recover:
        try:
            root = etree.fromstring(reencoded or data, _parser(recover=True))
        except etree.XMLSyntaxError:
            root = None
        if root is not None:
            _note(warnings, f"the {what} is not well-formed XML ({first_error}); read in recovery mode")
            return _strip_literal_prefixes(_checked_root(root, what))
    raise CorruptDocument(f"the {what} is not valid XML ({first_error})")


def _refuse_hostile(data: bytes, what: str) -> None:
    head = data[:256]
    # UTF-16 text: markup characters are ASCII, so dropping the NUL bytes makes them visible to the scans.
    scan = data.replace(b"\x00", b"") if b"\x00" in head else data
    if _ENTITY_DECL.search(scan):
        raise CorruptDocument(f"the {what} declares XML entities (<!ENTITY>), which invoices never do: refused as "
                              "a possible entity-expansion (billion laughs) or external-entity (XXE) attack")
    if _DOCTYPE_EXTERNAL.search(scan):
        raise CorruptDocument(f"the {what} refers to an external DTD (<!DOCTYPE … SYSTEM/PUBLIC>), which invoices "
                              "never do: refused as a possible external-entity (XXE) attack")
    m = _DECLARED_ENCODING.match(scan[:256])
    if m and m.group(1).decode("ascii").lower() not in _ALLOWED_ENCODINGS:
        raise CorruptDocument(f"the {what} declares the encoding {m.group(1).decode('ascii')!r}, which is not "
                              "supported (use UTF-8, UTF-16 or GB18030)")


def _as_gb18030(data: bytes) -> bytes | None:
    """UTF-8 bytes of ``data`` when it is not UTF-8 but reads as GB18030 and declares no other encoding."""
    m = _DECLARED_ENCODING.match(data[:256])
    if m and m.group(1).decode("ascii").lower() not in ("utf-8", "utf8"):
        return None
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    if m:
        text = text[: m.start(1)] + "UTF-8" + text[m.end(1):]
    return text.encode("utf-8")


def _strip_literal_prefixes(root: _Element) -> _Element:
    """Recovery keeps unbound prefixes in the tag (``ofd:ObjectRef``, ``:eInvoice``); drop them so that look-ups
    by local name work the same on recovered and well-formed trees."""
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and ":" in tag and not tag.startswith("{"):
            local = tag[tag.rfind(":") + 1:]
            if local:
                el.tag = local
    return root


def _checked_root(root: _Element | None, what: str) -> _Element:
    if root is None or not isinstance(root.tag, str):
        raise CorruptDocument(f"the {what} holds no XML element")
    return root


def _note(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)


# ---------------------------------------------------------------- namespace-agnostic look-ups

def local_name(el: _Element) -> str:
    """``{uri}Name`` / ``ofd:Name`` / ``Name`` → ``Name``; ``''`` for comments and other non-elements."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    tag = tag[tag.rfind("}") + 1:]
    return tag[tag.rfind(":") + 1:]


def children(el: _Element | None, name: str) -> list[_Element]:
    """Child elements of ``el`` with local name ``name`` (``[]`` for ``None``)."""
    return [] if el is None else list(el.iterchildren("{*}" + name))


def child(el: _Element | None, *path: str) -> _Element | None:
    """The first element reached by following ``path`` (local names), or ``None``."""
    for name in path:
        if el is None:
            return None
        el = next(el.iterchildren("{*}" + name), None)
    return el


def child_text(el: _Element | None, *path: str) -> str | None:
    """Stripped text of ``child(el, *path)``; ``None`` when absent or blank."""
    found = child(el, *path)
    if found is None:
        return None
    return text_of(found) or None


def iter_local(el: _Element, name: str) -> Iterator[_Element]:
    """``el`` and its descendants whose local name is ``name``, in document order."""
    return el.iter("{*}" + name)


def text_of(el: _Element) -> str:
    """All text inside ``el`` (CDATA included), stripped."""
    return "".join(el.itertext()).strip()


__all__ = ["MAX_XML_BYTES", "child", "child_text", "children", "iter_local", "local_name", "parse_xml", "text_of"]
