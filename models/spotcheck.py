"""A spot check of the category model on the real public invoices in ``../shared/data/real`` (when present).

Contract: ``load_spotcheck(shared) -> list[SpotCase]`` reads seller and item lines from the ``.truth.json``
files listed in ``CASES`` (nothing is copied into the repo) and pairs them with our hand-assigned expected
category. Item lines from another tool's OCR output (``repo_model_prediction``, printed as ``简称:名称``) are
rewritten to ``*简称*名称``; that source is weak, so those cases are marked ``weak``. Returns ``[]`` when the
folder is absent. The labels are our judgement of the 费用科目 for the line, made without looking at predictions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

REAL_DIR = Path("data") / "real"

# (truth file, invoice kind as the extractor would report it, expected category)
CASES: list[tuple[str, str | None, str]] = [
    ("cn_img/02_vat_paper_normal_shenzhen_41108527.truth.json", "vat_normal", "welfare"),
    ("cn_img/06_train_ticket_paper_K492.truth.json", "rail_paper_ticket", "travel.transport"),
    ("cn_img/10_vat_roll_ticket_gas_14547954.truth.json", "vat_roll", "vehicle.fuel"),
    ("cn_img_batch/001_other_14892315.truth.json", "vat_e_normal", "other"),
    ("cn_img_batch/004_other_41205802.truth.json", "vat_e_normal", "other"),
    ("cn_img_batch/007_other_03070893.truth.json", "vat_e_normal", "office"),
    ("cn_img_batch/022_meal_24922000000078112547.truth.json", "digital_normal", "entertainment"),
    ("cn_img_batch/025_meal_24922000000078329306.truth.json", "digital_normal", "entertainment"),
    ("cn_img_batch/028_meal_25372000000029403827.truth.json", "digital_normal", "entertainment"),
    ("cn_img_batch/031_meal_25922000000031611486.truth.json", "digital_normal", "entertainment"),
    ("cn_img_batch/034_hotel_25317000002208812188.truth.json", "digital_special", "travel.lodging"),
    ("cn_img_batch/037_hotel_25317000002208811143.truth.json", "digital_normal", "travel.lodging"),
    ("cn_img_batch/040_taxi_ride_hailing_25337000000437333106.truth.json", "digital_normal", "local_transport"),
    ("cn_img_batch/043_taxi_ride_hailing_25507000000186100913.truth.json", "digital_normal", "local_transport"),
    ("cn_img_batch/046_taxi_ride_hailing_noqr.truth.json", None, "local_transport"),
    ("cn_img_batch/049_taxi_ride_hailing_25332000000437324852.truth.json", "digital_normal", "local_transport"),
    ("cn_img_batch/052_taxi_ride_hailing_25342000000169545517.truth.json", "digital_normal", "local_transport"),
    ("cn_img_batch/055_other_25927000000151414144.truth.json", "digital_normal", "local_transport"),  # transit card
    ("cn_img_batch/061_taxi_ride_hailing_25337000000483571117.truth.json", "digital_normal", "local_transport"),
    ("cn_img_batch/064_meal_25922000000068616517.truth.json", "digital_normal", "entertainment"),
    ("cn_img_batch/067_taxi_ride_hailing_25127000000442340624.truth.json", "digital_normal", "local_transport"),
    ("cn_img_batch/070_taxi_ride_hailing_25922000000061174147.truth.json", "digital_normal", "local_transport"),
    ("cn_pdf/01_vat_e_normal_51142414.truth.json", "vat_e_normal", "welfare"),
    ("cn_pdf/04_vat_e_normal_highway_toll_11162913.truth.json", "vat_e_toll", "vehicle.toll"),
    ("cn_pdf/05_vat_e_normal_highway_toll_07007198.truth.json", "vat_e_toll", "vehicle.toll"),
    ("cn_pdf/16_vat_e_normal_didi_taxi_23326471.truth.json", "vat_e_normal", "local_transport"),
    ("cn_pdf/19_quandian_special_hotel_26342000001798762786.truth.json", "digital_special", "travel.lodging"),
    ("cn_pdf/21_didi_trip_table_202011.truth.json", "trip_table", "local_transport"),
    ("cn_pdf/22_vat_e_special_guizhou_00008006_easyofd_render.truth.json", "vat_e_special", "other"),
    ("cn_xml_ofd/01_vat_e_normal_zhejiang_83089647.truth.json", "vat_e_normal", "entertainment"),
    ("cn_xml_ofd/04_quandian_special_24112000000048542163.truth.json", "digital_special", "software_it"),
    ("cn_xml_ofd/07_sandbox_vat_e_normal_chongqing_12235358.truth.json", "vat_e_normal", "entertainment"),
    ("cn_xml_ofd/11_vat_e_special_sichuan_18925756.truth.json", "vat_e_special", "other"),
    ("cn_xml_ofd/13_quandian_special_hotel_25924000000001260164.truth.json", "digital_special", "travel.lodging"),
]


@dataclass(frozen=True)
class SpotCase:
    file: str
    seller_name: str | None
    items: tuple[str, ...]
    kind: str | None
    amount: Decimal | None
    label: str
    weak: bool  # items/seller from another tool's OCR output, not verified


def _weak_fields(truth: dict) -> dict:
    pred = (truth.get("repo_model_prediction") or {}).get("fields") or {}
    return {k: v.get("value") for k, v in pred.items() if isinstance(v, dict)}


def _items(raw: str | None, weak: bool) -> tuple[str, ...]:
    if not raw:
        return ()
    parts = raw.split(" | ") if weak else re.split(r"\n(?=\*)", raw)
    out = []
    for p in parts:
        p = p.replace("\n", "").strip()
        if weak and ":" in p and not p.startswith("*"):
            jc, _, name = p.partition(":")
            p = f"*{jc}*{name}"
        if p and p not in out:
            out.append(p)
    return tuple(out)


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def load_spotcheck(shared: Path) -> list[SpotCase]:
    folder = shared / REAL_DIR
    if not folder.is_dir():
        return []
    cases = []
    for rel, kind, label in CASES:
        path = folder / rel
        if not path.is_file():
            continue
        truth = json.loads(path.read_text(encoding="utf-8"))
        fields = truth.get("fields") or {}
        weak = not fields.get("seller_name") and bool(truth.get("repo_model_prediction"))
        src = _weak_fields(truth) if weak else fields
        amount = fields.get("total_incl_tax") or fields.get("qr_amount") or src.get("total_amount")
        cases.append(SpotCase(rel, src.get("seller_name") or None, _items(src.get("item_name"), weak), kind,
                              _amount(amount), label, weak))
    return cases
