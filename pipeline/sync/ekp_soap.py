"""Landray EKP ``IKmReviewWebserviceService.addReview`` over SOAP 1.1: the request envelope and the answer.

Contract:
* ``add_review_envelope(fields, attachments)`` builds the SOAP 1.1 request with ``xml.etree``: ``<soap:Envelope>
  <soap:Body><tns:addReview><arg0>`` holding one unqualified child element per parameter (``docSubject``,
  ``fdTemplateId``, ``docContent``, ``formValues``, ``docStatus``, ``docCreator``, ``fdKeyword``, ``flowParam``…,
  the same strings as the REST form) and one ``<attachmentForms>`` per file with ``fdKey``, ``fdFileName`` and
  ``fdAttachment`` (the bytes in base64, how JAX-WS maps ``byte[]``). Returns UTF-8 bytes.
* ``parse_add_review_response(body)`` returns the new document's fd_id (``addReviewResponse/return``). The body
  is parsed with ``pipeline.readers.safexml.parse_xml`` (no entities, no DTDs, no recovery). It raises
  ``SoapFault(code, text)`` for a ``soap:Fault`` and ``SoapMalformed`` for anything that is not a SOAP envelope
  with that answer.
* ``parse_add_review_request(body)`` is the server side (the emulator): ``(fields, [(fdKey, fdFileName, bytes)])``,
  raising ``SoapMalformed``.

❓ Unconfirmed against a live EKP (taken from the interface name ``com.landray.kmss.km.review.webservice.
IKmReviewWebserviceService`` and CXF's defaults, not from a WSDL): the target namespace ``NAMESPACE`` (CXF derives
it from the package), the endpoint path (``DEFAULT_SOAP_PATH``, EKP publishes services under
``/sys/webservice/<bean>``), the wrapper element ``arg0`` and unqualified children, and that the answer is
``<return>`` holding the bare fd_id.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

from pipeline.errors import PipelineError
from pipeline.readers.safexml import child, children, local_name, parse_xml, text_of

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NAMESPACE = "http://webservice.review.km.kmss.landray.com/"
DEFAULT_SOAP_PATH = "/sys/webservice/kmReviewWebserviceService"
CONTENT_TYPE = "text/xml; charset=utf-8"
MAX_ANSWER_BYTES = 1024 * 1024


class SoapMalformed(ValueError):
    """Not a SOAP envelope, or not the expected operation inside it."""


class SoapFault(Exception):
    def __init__(self, code: str, text: str):
        super().__init__(f"{code}: {text}")
        self.code, self.text = code, text


def add_review_envelope(fields: Mapping[str, str], attachments: Iterable[tuple[str, str, bytes]] = ()) -> bytes:
    envelope = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    operation = ET.SubElement(body, f"{{{NAMESPACE}}}addReview")
    arg = ET.SubElement(operation, "arg0")
    for key, value in fields.items():
        ET.SubElement(arg, key).text = str(value)
    for key, name, data in attachments:
        form = ET.SubElement(arg, "attachmentForms")
        ET.SubElement(form, "fdKey").text = key
        ET.SubElement(form, "fdFileName").text = name
        ET.SubElement(form, "fdAttachment").text = base64.b64encode(data).decode("ascii")
    ET.register_namespace("soap", SOAP_ENV)
    ET.register_namespace("tns", NAMESPACE)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _body(data: bytes, what: str):
    if len(data) > MAX_ANSWER_BYTES:
        raise SoapMalformed(f"{what} is {len(data)} bytes, too large for a SOAP answer")
    try:
        root = parse_xml(data, what, recover=False)
    except PipelineError as exc:
        raise SoapMalformed(f"{what} is not XML: {exc}") from None
    if local_name(root) != "Envelope" or root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapMalformed(f"{what} is not a SOAP 1.1 envelope (root {local_name(root) or '?'})")
    body = child(root, "Body")
    if body is None:
        raise SoapMalformed(f"{what} has no soap:Body")
    return body


def parse_add_review_response(data: bytes) -> str:
    body = _body(data, "addReview answer")
    fault = child(body, "Fault")
    if fault is not None:
        code, text = child(fault, "faultcode"), child(fault, "faultstring")
        raise SoapFault(text_of(code) if code is not None else "?", text_of(text) if text is not None else "")
    answer = child(body, "addReviewResponse", "return")
    if answer is None:
        raise SoapMalformed("addReview answer has no addReviewResponse/return")
    return text_of(answer)


def parse_add_review_request(data: bytes) -> tuple[dict[str, str], list[tuple[str, str, bytes]]]:
    arg = child(_body(data, "addReview request"), "addReview", "arg0")
    if arg is None:
        raise SoapMalformed("addReview request has no addReview/arg0")
    fields = {local_name(el): text_of(el) for el in arg.iterchildren() if local_name(el) not in ("",
                                                                                                 "attachmentForms")}
    files = []
    for form in children(arg, "attachmentForms"):
        try:
            content = base64.b64decode(text_of(child(form, "fdAttachment")) if child(form, "fdAttachment") is not None
                                       else "", validate=True)
        except binascii.Error as exc:
            raise SoapMalformed(f"fdAttachment is not base64: {exc}") from None
        key, name = child(form, "fdKey"), child(form, "fdFileName")
        files.append((text_of(key) if key is not None else "", text_of(name) if name is not None else "", content))
    return fields, files


__all__ = ["CONTENT_TYPE", "DEFAULT_SOAP_PATH", "NAMESPACE", "SOAP_ENV", "SoapFault", "SoapMalformed",
           "add_review_envelope", "parse_add_review_request", "parse_add_review_response"]
