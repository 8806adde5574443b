"""Drawing and packaging helpers for the golden documents (used by ``generate.py`` only, never by the pipeline).

* ``Page``: a list of drawing operations in points, origin top-left (texts, QR codes, lines); a text may carry a
  ``tag`` (the OFD semantic tag name, e.g. ``InvoiceNo``) so the OFD writer can point at it.
* ``pdf_bytes(pages, info)``: a PDF with a real text layer (reportlab, WenQuanYi Zen Hei embedded as a subset,
  reproducible: no dates or random IDs); ``info`` adds entries to the Info dictionary (the 数电 hidden keys).
* ``image_bytes(page, ...)``: the page rasterised by pdfium, optionally tilted, blurred and saved as JPEG (a phone
  photo of a paper invoice); ``scanned_pdf_bytes`` wraps such a raster in an image-only PDF.
* ``ofd_bytes(page, custom, tags, attachment)``: an OFD package (GB/T 33190) whose page text objects are the
  page's texts (mm), with ``CustomData`` entries, a ``CustomTag.xml`` pointing at the tagged texts and an optional
  ``Attachs/original_invoice.xml``.
Needs the dev-only packages reportlab and pypdfium2 and the fonts-wqy-zenhei font.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import cv2
import numpy as np
import pypdfium2 as pdfium
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FONT = "WenQuanYiZenHei"
PT_TO_MM = 25.4 / 72
pdfmetrics.registerFont(TTFont(FONT, FONT_PATH, subfontIndex=0))


@dataclass
class Text:
    x: float
    y: float  # top of the text, points from the page's top
    text: str
    size: float = 9.0
    tag: str | None = None
    color: tuple[float, float, float] = (0, 0, 0)


@dataclass
class Page:
    width: float = 680.0
    height: float = 400.0
    texts: list[Text] = field(default_factory=list)
    qrs: list[tuple[float, float, float, str]] = field(default_factory=list)  # x, y, side, payload
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, size: float = 9.0, tag: str | None = None,
             color: tuple[float, float, float] = (0, 0, 0)) -> None:
        self.texts.append(Text(x, y, text, size, tag, color))

    def vertical(self, x: float, y: float, text: str, size: float = 9.0) -> None:
        for k, ch in enumerate(text):
            self.text(x, y + k * (size + 3), ch, size)

    def qr(self, x: float, y: float, side: float, payload: str) -> None:
        self.qrs.append((x, y, side, payload))

    def rule(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.lines.append((x0, y0, x1, y1))


def qr_image(payload: str) -> np.ndarray:
    code = cv2.QRCodeEncoder.create().encode(payload)
    code = cv2.resize(code, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    return cv2.copyMakeBorder(code, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255)


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def _draw(c: canvas.Canvas, page: Page) -> None:
    for x0, y0, x1, y1 in page.lines:
        c.setStrokeColorRGB(0.55, 0.35, 0.2)
        c.setLineWidth(0.6)
        c.line(x0, page.height - y0, x1, page.height - y1)
    for x, y, side, payload in page.qrs:
        c.drawImage(ImageReader(io.BytesIO(_png(qr_image(payload)))), x, page.height - y - side, side, side)
    for t in page.texts:
        c.setFillColorRGB(*t.color)
        c.setFont(FONT, t.size)
        c.drawString(t.x, page.height - t.y - t.size * 0.86, t.text)


def pdf_bytes(pages: list[Page], info: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(pages[0].width, pages[0].height), invariant=1)
    c.setTitle("")
    c.setCreator("golden samples")
    c.setProducer("reportlab")
    for page in pages:
        c.setPageSize((page.width, page.height))
        _draw(c, page)
        c.showPage()
    c.save()
    data = buf.getvalue()
    if info:
        import pypdf

        reader = pypdf.PdfReader(io.BytesIO(data))
        writer = pypdf.PdfWriter(clone_from=reader)
        writer.add_metadata({f"/{k}": v for k, v in info.items()})
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    return data


def raster(page: Page, scale: float = 2.0) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf_bytes([page]))
    try:
        image = doc[0].render(scale=scale).to_numpy()
    finally:
        doc.close()
    return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR) if image.shape[2] == 4 else image[:, :, :3].copy()


def photo(image: np.ndarray, angle: float = 0.0, blur: float = 0.0, seed: int = 0,
          paper: tuple[int, int, int] = (236, 240, 242)) -> np.ndarray:
    """A mild phone-photo look: off-white paper, a small tilt, a little blur and sensor noise."""
    rng = np.random.default_rng(seed)
    img = image.astype(np.float32)
    img = np.where(img > 250, np.array(paper, np.float32), img)
    h, w = img.shape[:2]
    if angle:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(img, m, (w, h), borderValue=tuple(float(v) - 30 for v in paper))
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img += rng.normal(0, 3.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def image_bytes(page: Page, scale: float = 2.0, angle: float = 0.0, blur: float = 0.0, seed: int = 0,
                jpeg: bool = True) -> bytes:
    img = photo(raster(page, scale), angle, blur, seed) if (angle or blur or jpeg) else raster(page, scale)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 88]) if jpeg else cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def scanned_pdf_bytes(page: Page, scale: float = 2.0) -> bytes:
    """An image-only PDF (a scan): no text layer, the page drawn as one raster."""
    img = photo(raster(page, scale), 0.3, 0.4, seed=3)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(page.width, page.height), invariant=1)
    c.drawImage(ImageReader(io.BytesIO(buf.tobytes())), 0, 0, page.width, page.height)
    c.showPage()
    c.save()
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- OFD

_NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


def _text_object(obj_id: int, t: Text) -> str:
    x, y = round(t.x * PT_TO_MM, 2), round(t.y * PT_TO_MM, 2)
    size = round(t.size * PT_TO_MM, 3)
    width = round(size * max(len(t.text), 1) * 1.05, 2)
    return (f'<ofd:TextObject ID="{obj_id}" Boundary="{x} {y} {width} {round(size * 1.3, 3)}" Font="3" '
            f'Size="{size}"><ofd:TextCode X="0" Y="{round(size, 3)}">{escape(t.text)}</ofd:TextCode>'
            f'</ofd:TextObject>')


def ofd_bytes(page: Page, custom: dict[str, str], attachment: str | None = None, tag_root: str = "root") -> bytes:
    """One-page OFD: page text objects, ``CustomData``, tags for the tagged texts, optional attached XML."""
    objects, tags = [], []
    for k, t in enumerate(page.texts):
        obj_id = 100 + k
        objects.append(_text_object(obj_id, t))
        if t.tag:
            tags.append((t.tag, obj_id))
    customs = "".join(f'<ofd:CustomData Name="{escape(k)}">{escape(v)}</ofd:CustomData>' for k, v in custom.items())
    w, h = round(page.width * PT_TO_MM, 1), round(page.height * PT_TO_MM, 1)
    ofd_xml = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {_NS} DocType="OFD" Version="1.0"><ofd:DocBody>'
               f'<ofd:DocInfo><ofd:DocID>golden</ofd:DocID><ofd:Creator>golden samples</ofd:Creator>'
               f'<ofd:CustomDatas>{customs}</ofd:CustomDatas></ofd:DocInfo>'
               f'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    attach_ref = "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attachment else ""
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {_NS}><ofd:CommonData><ofd:MaxUnitID>9999'
                f'</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 {w} {h}</ofd:PhysicalBox></ofd:PageArea>'
                f'</ofd:CommonData><ofd:Pages><ofd:Page ID="61" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
                f'<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags>{attach_ref}</ofd:Document>')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {_NS}><ofd:Area><ofd:PhysicalBox>0 0 {w} {h}'
               f'</ofd:PhysicalBox></ofd:Area><ofd:Content><ofd:Layer ID="2">{"".join(objects)}</ofd:Layer>'
               f'</ofd:Content></ofd:Page>')
    refs = "".join(f'<ofd:{name}><ofd:ObjectRef PageRef="61">{i}</ofd:ObjectRef></ofd:{name}>' for name, i in tags)
    parts: dict[str, str] = {
        "OFD.xml": ofd_xml,
        "Doc_0/Document.xml": document,
        "Doc_0/Pages/Page_0/Content.xml": content,
        "Doc_0/Tags/CustomTags.xml": (f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags {_NS}>'
                                      f'<ofd:CustomTag TypeID="invoice"><ofd:FileLoc>CustomTag.xml</ofd:FileLoc>'
                                      f'</ofd:CustomTag></ofd:CustomTags>'),
        "Doc_0/Tags/CustomTag.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:{tag_root} {_NS}>{refs}'
                                    f'</ofd:{tag_root}>',
    }
    if attachment:
        parts["Doc_0/Attachs/Attachments.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments {_NS}><ofd:Attachment ID="90" '
            f'Name="original_invoice" Format="xml" Visible="false"><ofd:FileLoc>original_invoice.xml</ofd:FileLoc>'
            f'</ofd:Attachment></ofd:Attachments>')
        parts["Doc_0/Attachs/original_invoice.xml"] = attachment
    return zip_bytes(parts)


def zip_bytes(parts: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 3, 15, 10, 30, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content.encode("utf-8") if isinstance(content, str) else content)
    return buf.getvalue()


__all__ = ["Page", "Text", "image_bytes", "ofd_bytes", "pdf_bytes", "raster", "scanned_pdf_bytes", "zip_bytes"]
