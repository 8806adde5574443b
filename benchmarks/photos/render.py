"""Draw an ``InvoiceData`` as a flat, upright, clean invoice image (what a scanner would see).

Contract: ``render(data, rng, px_per_mm=10.0) -> np.ndarray`` returns an RGB ``uint8`` image of the whole paper
(no background), laid out like the printed kind (DOMAIN §1.4): QR code top-left on VAT / 数电 / rail invoices,
code/number/date top-right, framed buyer / items / totals / seller blocks, the red 监制 oval over the title and, on
legacy invoices, the seller's 发票专用章 bottom right. Fonts come from the Debian packages ``fonts-wqy-zenhei`` and
``fonts-noto-cjk`` (``find_fonts()``); ``FontsMissing`` says what to install when neither is there. ``rng`` only
picks fonts and small layout jitter, so a given generator state always gives the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from benchmarks.photos.invoice_data import InvoiceData

# (path, face index) of CJK fonts from fonts-wqy-zenhei / fonts-noto-cjk; Noto faces are chosen by family name.
_FONT_FILES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei Mono"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC"),
)
FONT_PACKAGES = "fonts-wqy-zenhei fonts-noto-cjk"

PAPER = (252, 251, 247)
INK = (25, 25, 30)
BLUE_INK = (30, 40, 90)
FRAME_BROWN = (140, 85, 45)
FRAME_RED = (170, 60, 45)
SEAL_RED = (215, 45, 45)


class FontsMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class FontFace:
    path: str
    index: int
    family: str
    bold: bool


def find_fonts() -> list[FontFace]:
    faces = []
    for path, family in _FONT_FILES:
        if not Path(path).is_file():
            continue
        for index in range(8):
            try:
                font = ImageFont.truetype(path, 12, index=index)
            except OSError:
                break
            name, style = font.getname()
            if name == family:
                faces.append(FontFace(path, index, name, style == "Bold"))
                break
    if not faces:
        raise FontsMissing(f"no CJK TrueType font found; install the Debian packages: apt-get install {FONT_PACKAGES}")
    return faces


class Page:
    """A paper sheet in millimetres: ``text``/``line``/``rect`` take mm coordinates, sizes in mm."""

    def __init__(self, width_mm: float, height_mm: float, ppm: float, label_face: FontFace, value_face: FontFace):
        self.ppm = ppm
        self.image = Image.new("RGB", (round(width_mm * ppm), round(height_mm * ppm)), PAPER)
        self.draw = ImageDraw.Draw(self.image)
        self.faces = {"label": label_face, "value": value_face}
        self._fonts: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}
        self.seal = Image.new("RGB", self.image.size, (255, 255, 255))  # multiplied onto the page at the end

    def px(self, mm: float) -> int:
        return round(mm * self.ppm)

    def font(self, size_mm: float, role: str = "value") -> ImageFont.FreeTypeFont:
        key = (role, max(6, self.px(size_mm)))
        if key not in self._fonts:
            face = self.faces[role]
            self._fonts[key] = ImageFont.truetype(face.path, key[1], index=face.index)
        return self._fonts[key]

    def text(self, x: float, y: float, s: str, size: float = 3.0, role: str = "value", fill=INK,
             anchor: str = "lm") -> None:
        if s:
            self.draw.text((self.px(x), self.px(y)), s, font=self.font(size, role), fill=fill, anchor=anchor)

    def vtext(self, x: float, y0: float, y1: float, s: str, size: float = 3.0, fill=INK) -> None:
        """Characters stacked vertically, spread between ``y0`` and ``y1`` (the 购买方 / 密码区 side labels)."""
        step = (y1 - y0) / (len(s) + 1)
        for k, ch in enumerate(s):
            self.text(x, y0 + step * (k + 1), ch, size, "label", fill, anchor="mm")

    def otimes(self, x: float, y: float, size: float, fill=INK) -> None:
        """The ⊗ printed before 大写 (drawn: not every CJK font has the glyph)."""
        r = size * 0.38
        self.draw.ellipse([self.px(x - r), self.px(y - r), self.px(x + r), self.px(y + r)], outline=fill,
                          width=max(1, self.px(0.25)))
        d = r * 0.7
        self.line(x - d, y - d, x + d, y + d, fill, 0.25)
        self.line(x - d, y + d, x + d, y - d, fill, 0.25)

    def line(self, x0: float, y0: float, x1: float, y1: float, fill=FRAME_BROWN, width: float = 0.3) -> None:
        self.draw.line([(self.px(x0), self.px(y0)), (self.px(x1), self.px(y1))], fill=fill,
                       width=max(1, self.px(width)))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill=FRAME_BROWN, width: float = 0.35) -> None:
        self.draw.rectangle([self.px(x0), self.px(y0), self.px(x1), self.px(y1)], outline=fill,
                            width=max(1, self.px(width)))

    def qr(self, x: float, y: float, size: float, payload: str) -> None:
        code = cv2.QRCodeEncoder.create().encode(payload)  # includes a narrow quiet zone
        modules = code.shape[0]
        module_px = max(2, self.px(size) // modules)
        big = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
        self.image.paste(Image.fromarray(big).convert("RGB"), (self.px(x), self.px(y)))

    def oval(self, cx: float, cy: float, rx: float, ry: float, width: float = 0.6, fill=SEAL_RED) -> None:
        d = ImageDraw.Draw(self.seal)
        d.ellipse([self.px(cx - rx), self.px(cy - ry), self.px(cx + rx), self.px(cy + ry)], outline=fill,
                  width=max(1, self.px(width)))

    def seal_text(self, x: float, y: float, s: str, size: float, fill=SEAL_RED, angle: float = 0.0) -> None:
        font = self.font(size, "label")
        box = font.getbbox(s)
        tile = Image.new("L", (box[2] + 4, box[3] + 4), 0)
        ImageDraw.Draw(tile).text((2, 2), s, font=font, fill=255)
        tile = tile.rotate(angle, resample=Image.BICUBIC, expand=True)
        ink = Image.new("RGB", tile.size, fill)
        self.seal.paste(ink, (self.px(x) - tile.width // 2, self.px(y) - tile.height // 2), tile)

    def arc_text(self, cx: float, cy: float, rx: float, ry: float, s: str, size: float, fill=SEAL_RED) -> None:
        """``s`` along the upper part of an ellipse, each character upright relative to the rim."""
        span = min(250.0, 22.0 * len(s))
        for k, ch in enumerate(s):
            t = np.deg2rad(-90 - span / 2 + span * (k + 0.5) / len(s))
            x, y = cx + rx * np.cos(t), cy + ry * np.sin(t)
            self.seal_text(float(x), float(y), ch, size, fill, angle=float(-np.rad2deg(t) - 90))

    def finish(self) -> np.ndarray:
        page = np.asarray(self.image, dtype=np.float32)
        seal = np.asarray(self.seal, dtype=np.float32)
        return np.clip(page * (seal / 255.0), 0, 255).astype(np.uint8)


def _fonts(rng: np.random.Generator) -> tuple[FontFace, FontFace]:
    faces = find_fonts()
    regular = [f for f in faces if not f.bold] or faces
    serif = [f for f in regular if "Serif" in f.family] or regular
    return serif[int(rng.integers(len(serif)))], regular[int(rng.integers(len(regular)))]


def _seal(p: Page, cx: float, cy: float, name: str, tax_id: str, rx: float = 20.0, ry: float = 13.0) -> None:
    p.oval(cx, cy, rx, ry, 0.7)
    p.arc_text(cx, cy, rx - 3.2, ry - 3.2, name, 3.2)
    p.seal_text(cx, cy + 0.5, tax_id, 2.3)
    p.seal_text(cx, cy + 6.5, "发票专用章", 3.0)


def _supervision_oval(p: Page, cx: float, cy: float, region: str) -> None:
    p.oval(cx, cy, 17, 10, 0.5)
    p.arc_text(cx, cy, 14, 7.5, "全国统一发票监制章", 2.4)
    p.seal_text(cx, cy + 1.0, f"国家税务总局{region}", 2.2)


def _amount_text(value: str) -> str:
    return f"¥{value}"


def _vat_legacy(d: InvoiceData, p: Page, rng: np.random.Generator) -> None:
    f, pr = d.fields, d.printed
    region = {"11": "北京", "31": "上海", "44": "广东", "33": "浙江", "32": "江苏", "51": "四川", "37": "山东",
              "12": "天津", "42": "湖北"}.get(f["invoice_code"][1:3], "")
    p.qr(9, 5, 21, d.qr_text or "")
    p.text(100, 13, f"{region}增值税电子普通发票", 6.0, "label", FRAME_BROWN, anchor="mm")
    _supervision_oval(p, 100, 14, f"{region}省税务局" if region not in ("北京", "上海", "天津") else f"{region}市税务局")
    p.line(70, 20, 130, 20, FRAME_BROWN, 0.4)
    p.line(70, 21, 130, 21, FRAME_BROWN, 0.4)
    p.text(9, 30, f"机器编号: {f['machine_no']}", 2.8, "label")
    for k, (label, value) in enumerate((("发票代码", f["invoice_code"]), ("发票号码", f["invoice_number"]),
                                        ("开票日期", _cn_date(f["issue_date"])),
                                        ("校验码", " ".join(f["check_code"][i:i + 5] for i in range(0, 20, 5))))):
        p.text(140, 8 + 5 * k, f"{label}:", 2.8, "label", FRAME_BROWN)
        p.text(155, 8 + 5 * k, value, 2.8, "value", BLUE_INK)
    top, bottom = 33.0, 124.0
    p.rect(8, top, 202, bottom, FRAME_BROWN, 0.45)
    # buyer block + cipher area
    p.line(8, 53, 202, 53)
    p.line(14, top, 14, 53)
    p.vtext(11, top, 53, "购买方", 2.8, FRAME_BROWN)
    p.line(130, top, 130, 53)
    p.line(136, top, 136, 53)
    p.vtext(133, top, 53, "密码区", 2.8, FRAME_BROWN)
    buyer_rows = (("名        称", f["buyer_name"]), ("纳税人识别号", f.get("buyer_tax_id", "")),
                  ("地 址、电 话", pr.get("buyer_addr", "")), ("开户行及账号", pr.get("buyer_bank", "")))
    for k, (label, value) in enumerate(buyer_rows):
        p.text(16, 37 + 4.6 * k, f"{label}:", 2.6, "label", FRAME_BROWN)
        p.text(38, 37 + 4.6 * k, value, 2.8 if k < 2 else 2.5, "value", BLUE_INK)
    for k, row in enumerate(pr.get("cipher", "").split("\n")):
        p.text(138, 37 + 4.3 * k, row, 2.6, "value", BLUE_INK)
    # items
    cols = (8, 62, 82, 94, 110, 134, 162, 174, 202)
    heads = ("货物或应税劳务、服务名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额")
    for k, head in enumerate(heads):
        p.text((cols[k] + cols[k + 1]) / 2, 56, head, 2.5, "label", FRAME_BROWN, anchor="mm")
    for x in cols[1:-1]:
        p.line(x, 53, x, 88)
    for k, item in enumerate(d.items):
        y = 62 + 4.8 * k
        p.text(9, y, item.name, 2.7)
        p.text(88, y, item.unit, 2.6, anchor="mm")
        p.text(109, y, item.quantity, 2.6, anchor="rm")
        p.text(133, y, item.price, 2.6, anchor="rm")
        p.text(161, y, f"{item.amount:.2f}", 2.7, anchor="rm")
        p.text(168, y, _rate(item.rate), 2.6, anchor="mm")
        p.text(201, y, f"{item.tax:.2f}", 2.7, anchor="rm")
    p.text(35, 84, "合        计", 2.8, "label", FRAME_BROWN, anchor="mm")
    p.text(161, 84, _amount_text(f["amount_excl_tax"]), 2.8, anchor="rm")
    p.text(201, 84, _amount_text(f["tax_amount"]), 2.8, anchor="rm")
    p.line(8, 88, 202, 88)
    p.line(62, 88, 62, 95)
    p.text(35, 91.5, "价税合计（大写）", 2.8, "label", FRAME_BROWN, anchor="mm")
    p.otimes(66, 91.5, 3.0)
    p.text(68.5, 91.5, f["total_upper"], 3.0)
    p.text(150, 91.5, "（小写）", 2.8, "label", FRAME_BROWN)
    p.text(163, 91.5, _amount_text(f["total_incl_tax"]), 3.0)
    p.line(8, 95, 202, 95)
    # seller block + remark
    p.line(14, 95, 14, bottom)
    p.vtext(11, 95, bottom, "销售方", 2.8, FRAME_BROWN)
    p.line(130, 95, 130, bottom)
    p.line(136, 95, 136, bottom)
    p.vtext(133, 95, bottom, "备注", 2.8, FRAME_BROWN)
    seller_rows = (("名        称", f["seller_name"]), ("纳税人识别号", f["seller_tax_id"]),
                   ("地 址、电 话", pr.get("seller_addr", "")), ("开户行及账号", pr.get("seller_bank", "")))
    for k, (label, value) in enumerate(seller_rows):
        p.text(16, 100 + 6 * k, f"{label}:", 2.6, "label", FRAME_BROWN)
        p.text(38, 100 + 6 * k, value, 2.8 if k < 2 else 2.5, "value", BLUE_INK)
    p.text(138, 100, pr.get("remark", ""), 2.6)
    signers = f"收款人: {pr['payee']}        复核: {pr['reviewer']}        开票人: {pr['drawer']}"
    p.text(14, 129, signers, 2.7, "label")
    p.text(150, 129, "销售方:（章）", 2.7, "label", FRAME_BROWN)
    _seal(p, 172 + float(rng.uniform(-4, 4)), 114 + float(rng.uniform(-3, 3)), f["seller_name"], f["seller_tax_id"])


def _vat_digital(d: InvoiceData, p: Page, rng: np.random.Generator) -> None:
    f, pr = d.fields, d.printed
    special = d.kind == "digital_special"
    p.qr(9, 6, 21, d.qr_text or "")
    title = "电子发票（增值税专用发票）" if special else "电子发票（普通发票）"
    p.text(105, 14, title, 6.0, "label", FRAME_RED, anchor="mm")
    _supervision_oval(p, 105, 14, "")
    p.line(70, 20.5, 140, 20.5, FRAME_RED, 0.4)
    p.line(70, 21.5, 140, 21.5, FRAME_RED, 0.4)
    p.text(148, 12, "发票号码:", 2.8, "label", FRAME_RED)
    p.text(163, 12, f["invoice_number"], 2.8)
    p.text(148, 18, "开票日期:", 2.8, "label", FRAME_RED)
    p.text(163, 18, _cn_date(f["issue_date"]), 2.8)
    top, bottom = 30.0, 122.0
    p.rect(8, top, 202, bottom, FRAME_RED, 0.45)
    p.line(8, 50, 202, 50, FRAME_RED)
    p.line(105, top, 105, 50, FRAME_RED)
    for x0, label, name, tax_id in ((8, "购买方信息", f["buyer_name"], f.get("buyer_tax_id", "")),
                                    (105, "销售方信息", f["seller_name"], f["seller_tax_id"])):
        p.line(x0 + 6, top, x0 + 6, 50, FRAME_RED)
        p.vtext(x0 + 3, top, 50, label, 2.5, FRAME_RED)
        p.text(x0 + 8, 36, "名称:", 2.7, "label", FRAME_RED)
        p.text(x0 + 17, 36, name, 2.9)
        p.text(x0 + 8, 44, "统一社会信用代码/纳税人识别号:", 2.5, "label", FRAME_RED)
        p.text(x0 + 52, 44, tax_id, 2.9)
    cols = (8, 52, 76, 90, 106, 130, 158, 174, 202)
    heads = ("项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率/征收率", "税额")
    for k, head in enumerate(heads):
        p.text((cols[k] + cols[k + 1]) / 2, 54, head, 2.6, "label", FRAME_RED, anchor="mm")
    for k, item in enumerate(d.items):
        y = 60 + 5 * k
        p.text(9, y, item.name, 2.8)
        p.text(83, y, item.unit, 2.7, anchor="mm")
        p.text(105, y, item.quantity, 2.7, anchor="rm")
        p.text(129, y, item.price, 2.7, anchor="rm")
        p.text(157, y, f"{item.amount:.2f}", 2.8, anchor="rm")
        p.text(166, y, _rate(item.rate), 2.7, anchor="mm")
        p.text(201, y, f"{item.tax:.2f}", 2.8, anchor="rm")
    p.text(22, 84, "合            计", 2.8, "label", FRAME_RED, anchor="mm")
    p.text(157, 84, _amount_text(f["amount_excl_tax"]), 2.9, anchor="rm")
    p.text(201, 84, _amount_text(f["tax_amount"]), 2.9, anchor="rm")
    p.line(8, 88, 202, 88, FRAME_RED)
    p.line(52, 88, 52, 96, FRAME_RED)
    p.text(30, 92, "价税合计（大写）", 2.8, "label", FRAME_RED, anchor="mm")
    p.otimes(56, 92, 3.0)
    p.text(58.5, 92, f["total_upper"], 3.0)
    p.text(150, 92, "（小写）", 2.8, "label", FRAME_RED)
    p.text(163, 92, _amount_text(f["total_incl_tax"]), 3.0)
    p.line(8, 96, 202, 96, FRAME_RED)
    p.line(14, 96, 14, bottom, FRAME_RED)
    p.vtext(11, 96, bottom, "备注", 2.8, FRAME_RED)
    p.text(17, 101, pr.get("remark", ""), 2.7)
    p.text(30, 127, f"开票人: {pr['drawer']}", 2.8, "label", FRAME_RED)


def _rail(d: InvoiceData, p: Page, rng: np.random.Generator) -> None:
    f, pr = d.fields, d.printed
    p.qr(9, 6, 21, d.qr_text or "")
    p.text(105, 13, "电子发票（铁路电子客票）", 6.0, "label", FRAME_RED, anchor="mm")
    _supervision_oval(p, 105, 13, "")
    p.text(148, 11, "发票号码:", 2.8, "label")
    p.text(163, 11, f["invoice_number"], 2.8)
    p.text(148, 17, "开票日期:", 2.8, "label")
    p.text(163, 17, _cn_date(f["issue_date"]), 2.8)
    p.rect(8, 30, 202, 112, (90, 120, 160), 0.4)
    p.text(45, 40, f"{f['from_station']}站", 5.5, "value", anchor="mm")
    p.text(105, 40, f["train_no"], 5.0, "value", anchor="mm")
    p.line(92, 44, 118, 44, INK, 0.4)
    p.text(165, 40, f"{f['to_station']}站", 5.5, "value", anchor="mm")
    p.text(45, 47, pr["from_pinyin"], 3.0, "value", anchor="mm")
    p.text(165, 47, pr["to_pinyin"], 3.0, "value", anchor="mm")
    travel = f["depart_datetime"]
    depart = f"{travel[:4]}年{travel[5:7]}月{travel[8:10]}日 {travel[11:]}开"
    p.text(20, 57, depart, 3.6)
    p.text(105, 57, f["seat_no"], 3.6)
    p.text(150, 57, f["seat_class"], 3.6)
    p.text(20, 65, "票价:", 3.4, "label")
    p.text(33, 65, f"¥{f['total_incl_tax']}", 3.6)
    p.text(20, 74, f"{pr['id_no']} {f['passenger_name']}", 3.4)
    p.text(20, 82, f"电子客票号:{pr['e_ticket_no']}", 3.0)
    p.line(8, 88, 202, 88, (90, 120, 160), 0.3)
    p.text(14, 95, f"购买方名称: {f['buyer_name']}", 3.0, "label")
    p.text(14, 103, f"统一社会信用代码: {f['buyer_tax_id']}", 3.0, "label")
    p.text(105, 118, "仅供报销使用  买票请到12306  发货请到95306", 2.6, "label", anchor="mm")


def _taxi(d: InvoiceData, p: Page, rng: np.random.Generator) -> None:
    f, pr = d.fields, d.printed
    p.text(40, 10, f"{pr['city']}市出租汽车专用发票", 4.2, "label", FRAME_RED, anchor="mm")
    _supervision_oval(p, 40, 12, "")
    p.text(40, 19, "发 票 联", 3.4, "label", FRAME_RED, anchor="mm")
    p.text(6, 27, "发票代码", 2.8, "label", FRAME_RED)
    p.text(24, 27, f["invoice_code"], 3.0)
    p.text(6, 33, "发票号码", 2.8, "label", FRAME_RED)
    p.text(24, 33, f["invoice_number"], 3.0)
    p.line(5, 37, 75, 37, FRAME_RED, 0.3)
    rows = (("车号", pr["plate"]), ("证号", pr["licence"]), ("日期", f["issue_date"]), ("上车", pr["on"]),
            ("下车", pr["off"]), ("单价", f"{pr['price']}元"), ("里程", f"{pr['km']}km"), ("等候", pr["wait"]),
            ("燃油附加", f"{pr['fuel']}元"), ("金额", f"{f['total_incl_tax']}元"))
    for k, (label, value) in enumerate(rows):
        p.text(10, 44 + 7.5 * k, label, 3.2, "value")
        p.text(34, 44 + 7.5 * k, value, 3.2, "value")
    p.line(5, 121, 75, 121, FRAME_RED, 0.3)
    p.text(40, 126, "手写无效  监督电话: 12328", 2.6, "label", FRAME_RED, anchor="mm")
    _seal_small(p, 55, 135, f"{pr['city']}出租汽车有限公司")


def _seal_small(p: Page, cx: float, cy: float, name: str) -> None:
    p.oval(cx, cy, 15, 10, 0.6)
    p.arc_text(cx, cy, 12, 7.5, name, 2.4)
    p.seal_text(cx, cy + 4, "发票专用章", 2.4)


def _quota(d: InvoiceData, p: Page, rng: np.random.Generator) -> None:
    f, pr = d.fields, d.printed
    p.text(75, 10, f"{pr['city']}通用定额发票", 5.5, "label", FRAME_RED, anchor="mm")
    _supervision_oval(p, 75, 11, "")
    p.text(75, 18, "发 票 联", 3.2, "label", FRAME_RED, anchor="mm")
    p.text(92, 25, "发票代码", 2.8, "label", FRAME_RED)
    p.text(110, 25, f["invoice_code"], 3.0)
    p.text(92, 31, "发票号码", 2.8, "label", FRAME_RED)
    p.text(110, 31, f["invoice_number"], 3.0)
    p.rect(8, 36, 142, 64, FRAME_RED, 0.4)
    p.text(14, 45, "金额", 3.5, "label", FRAME_RED)
    p.text(75, 46, f["total_upper"], 8.5, "label", FRAME_RED, anchor="mm")
    p.text(14, 57, "（小写）", 3.0, "label", FRAME_RED)
    p.text(32, 57, f"¥{f['total_incl_tax']}", 3.5, "value", FRAME_RED)
    p.text(75, 68, "盖章有效  手写无效", 2.6, "label", FRAME_RED, anchor="mm")
    _seal_small(p, 118, 55, f"{pr['city']}市税务局代开")


def _rate(rate: str) -> str:
    return f"{Decimal(rate) * 100:.0f}%"


def _cn_date(iso: str) -> str:
    return f"{iso[:4]}年{iso[5:7]}月{iso[8:10]}日"


_LAYOUTS = {
    "vat_e_normal": ((210, 135), _vat_legacy),
    "digital_normal": ((210, 135), _vat_digital),
    "digital_special": ((210, 135), _vat_digital),
    "rail_e_ticket": ((210, 125), _rail),
    "taxi": ((80, 150), _taxi),
    "quota": ((150, 75), _quota),
}


def render(data: InvoiceData, rng: np.random.Generator, px_per_mm: float = 10.0) -> np.ndarray:
    (w, h), draw = _LAYOUTS[data.kind]
    label_face, value_face = _fonts(rng)
    page = Page(w, h, px_per_mm, label_face, value_face)
    draw(data, page, rng)
    return page.finish()


__all__ = ["FONT_PACKAGES", "FontsMissing", "find_fonts", "render"]
