"""Measure what photo clean-up and the quality gate do, on generated photos and on the real images.

    python -m benchmarks.photos.measure [--photos DIR] [--real] [--variants raw,geometry,full] [--limit N]
                                        [--jsonl FILE]

For each image (``DIR/*.jpg`` with ``*.truth.json`` from ``benchmarks.photos.generate``; with ``--real`` also
../shared/data/real/cn_img and cn_img_batch): time decode, QR, clean-up, quality and OCR; whether the truth's QR
payload was decoded (on the photo, then on the cleaned copy); the quality verdict and what ``read_image``'s gate
would decide (refuse before OCR, after OCR, or read), with how many refused photos were in fact read right; and
per clean-up variant whether the invoice number appears in the OCR text and whether extraction
(``pipeline.extract``, fed the same OCR lines and QR codes) got the number, date and total exactly. Variants:
``raw`` (no clean-up), ``geometry`` (paper, quarter turns, deskew), ``full`` (plus lighting), ``no_deskew`` (full
without deskew). A variant that leaves the image unchanged reuses the OCR of the one before, so clean scans cost
one OCR each. Prints markdown.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.truth import REAL, expected_fields
from pipeline.config import PipelineSettings
from pipeline.errors import PipelineError
from pipeline.extract import extract_invoices
from pipeline.ingest import ingest_bytes
from pipeline.readers.cleanup import STEPS, clean_photo
from pipeline.readers.image import MAX_SIDE, ocr_lines
from pipeline.readers.imageio import decode_image
from pipeline.readers.qr import decode_qr
from pipeline.readers.quality import assess
from pipeline.serialize import invoice_to_json
from pipeline.types import FieldSource, PageContent, ReadResult

VARIANTS = {
    "raw": (),
    "geometry": ("document", "rotate", "deskew"),
    "full": STEPS,
    "no_deskew": ("document", "rotate", "lighting"),
}
HEADLINE = ("invoice_number", "issue_date", "total_incl_tax")
_NUMBER = re.compile(r"\d{8,}")  # what read_image looks for before refusing a photo with problems


def _cases(photos: Path | None, real: bool, limit: int | None) -> list[tuple[str, Path, dict[str, str], str | None]]:
    """(group, image path, expected CLI fields, expected QR payload)."""
    cases = []
    if photos is not None:
        for truth_path in sorted(photos.glob("*.truth.json"))[:limit]:
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            fields = {k: v for k, v in truth["fields"].items() if k in HEADLINE}
            cases.append(("generated", truth_path.with_name(truth_path.name.replace(".truth.json", ".jpg")),
                          fields, truth.get("qr")))
    if real and REAL.is_dir():
        for folder in ("cn_img", "cn_img_batch"):
            for truth_path in sorted((REAL / folder).glob("*.truth.json")):
                image = next((p for p in truth_path.parent.glob(truth_path.name.replace(".truth.json", ".*"))
                              if p.suffix.lower() in (".jpg", ".jpeg", ".png")), None)
                if image is None:
                    continue
                truth = json.loads(truth_path.read_text(encoding="utf-8"))
                fields = {k: v for k, v in expected_fields(truth).items() if k in HEADLINE}
                cases.append(("real", image, fields, (truth.get("qr") or {}).get("qr_raw")))
    return cases


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def _fields_ok(path: Path, page: PageContent, qr_codes, expected: dict[str, str]) -> dict[str, bool]:
    doc = ingest_bytes(path.name, path.read_bytes())
    read = ReadResult(document=doc, pages=[page], qr_codes=qr_codes)
    invoices = [invoice_to_json(inv)["fields"] for inv in extract_invoices(read)]
    number = expected.get("invoice_number")
    best = next((f for f in invoices if number and f.get("invoice_number") == number), invoices[0] if invoices else {})
    return {k: str(best.get(k, "")) == v for k, v in expected.items()}


def measure_one(group: str, path: Path, expected: dict[str, str], qr_truth: str | None,
                variants: list[str], settings: PipelineSettings) -> dict[str, Any]:
    row: dict[str, Any] = {"group": group, "name": path.name, "times": {}, "variants": {}}
    image, row["times"]["decode"] = _timed(decode_image, path.read_bytes(), settings.max_image_pixels, MAX_SIDE)
    codes, row["times"]["qr"] = _timed(decode_qr, image)
    full, row["times"]["cleanup"] = _timed(clean_photo, image)
    row["steps"] = full.steps
    cleaned_codes = decode_qr(full.image) if not codes and full.steps else codes
    quality, row["times"]["quality"] = _timed(assess, image, full.document)
    row["quality"] = {"problems": quality.problems, "severe": quality.severe, "blur": quality.blur,
                      "text_height": quality.text_height, "contrast": quality.contrast, "glare": quality.glare}
    if qr_truth:
        row["qr_raw"] = qr_truth in [c.text for c in codes]
        row["qr_cleaned"] = qr_truth in [c.text for c in cleaned_codes]
    previous: tuple[tuple[str, ...], dict[str, Any]] | None = None
    for name in variants:
        cleaned = full if VARIANTS[name] == STEPS else clean_photo(image, VARIANTS[name])
        if previous is not None and cleaned.steps == previous[0]:
            row["variants"][name] = dict(previous[1], reused=True)
            if name == "full":
                row["times"]["ocr"] = previous[1]["ocr_s"]
            continue
        lines, seconds = _timed(ocr_lines, cleaned.image, settings, 0)
        text = "".join("".join(line.text.split()) for line in lines)
        h, w = cleaned.image.shape[:2]
        page = PageContent(page_no=0, width=float(w), height=float(h), lines=lines, source=FieldSource.OCR)
        qr_for_variant = codes if codes else (decode_qr(cleaned.image) if cleaned.steps else [])
        result = {"ocr_s": seconds, "steps": cleaned.steps, "number_candidate": bool(_NUMBER.search(text)),
                  "number_in_text": bool(expected.get("invoice_number")) and expected["invoice_number"] in text,
                  "fields": _fields_ok(path, page, qr_for_variant, expected) if expected else {}}
        row["variants"][name] = result
        previous = (cleaned.steps, result)
        if name == "full":
            row["times"]["ocr"] = seconds
    row["gate"] = _gate(quality, bool(cleaned_codes), row["variants"].get("full"))
    return row


def _gate(quality, qr: bool, full: dict | None) -> str | None:
    """What ``read_image`` decides: refuse ``before_ocr``, ``after_ocr`` or not at all (``None``)."""
    if qr or not quality.problems:
        return None
    if quality.severe:
        return "before_ocr"
    return "after_ocr" if full is not None and not full["number_candidate"] else None


def _rate(rows: list[dict], key) -> str:
    marks = [key(r) for r in rows]
    marks = [m for m in marks if m is not None]
    return f"{sum(marks)}/{len(marks)}" if marks else "–"


def _number_in_text(variant: str):
    def mark(row: dict) -> bool | None:
        result = row["variants"][variant]
        return result["number_in_text"] if "invoice_number" in result["fields"] else None
    return mark


def _field_ok(variant: str, key: str):
    return lambda row: row["variants"][variant]["fields"].get(key)


def _all_ok(variant: str):
    def mark(row: dict) -> bool | None:
        fields = row["variants"][variant]["fields"]
        return all(fields.values()) if fields else None
    return mark


def report(rows: list[dict[str, Any]], variants: list[str]) -> str:
    out = []
    for group in ("generated", "real"):
        sub = [r for r in rows if r["group"] == group]
        if not sub:
            continue
        out += [f"### {group} ({len(sub)} images)", ""]
        out.append(f"- QR payload decoded: photo {_rate(sub, lambda r: r.get('qr_raw'))}, "
                   f"photo or cleaned copy {_rate(sub, lambda r: r.get('qr_cleaned'))}")
        warned = [r for r in sub if r["quality"]["problems"]]
        before = [r for r in sub if r.get("gate") == "before_ocr"]
        after = [r for r in sub if r.get("gate") == "after_ocr"]
        readable = [r for r in before + after if "full" in r["variants"] and _all_ok("full")(r)]
        out.append(f"- quality gate: {len(warned)} with problems; refused {len(before)} before OCR and "
                   f"{len(after)} after OCR; of the refused, {len(readable)} were in fact read right (all three "
                   "fields exact with clean-up)")
        steps = defaultdict(int)
        for r in sub:
            for s in r["steps"]:
                steps[s.split(":")[0]] += 1
        applied = ", ".join(f"{k} {v}" for k, v in sorted(steps.items()))
        out.append(f"- clean-up steps applied: {applied or 'none'}")
        out += ["", "| variant | number in OCR text | number exact | date exact | total exact | all three |",
                "|---|---|---|---|---|---|"]
        for v in variants:
            cells = [_rate(sub, _number_in_text(v))] + [_rate(sub, _field_ok(v, k)) for k in HEADLINE]
            out.append(f"| {v} | " + " | ".join(cells) + f" | {_rate(sub, _all_ok(v))} |")
        out += ["", "| stage | median ms | max ms |", "|---|---|---|"]
        for stage in ("decode", "qr", "cleanup", "quality", "ocr"):
            values = [r["times"][stage] for r in sub if stage in r["times"]]
            if values:
                out.append(f"| {stage} | {1000 * statistics.median(values):.0f} | {1000 * max(values):.0f} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.photos.measure", description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=Path)
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--variants", default="raw,geometry,full")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--jsonl", type=Path, help="also write one JSON line per image here")
    args = ap.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if set(variants) - set(VARIANTS):
        ap.error(f"unknown variants; choose from {', '.join(VARIANTS)}")
    cases = _cases(args.photos, args.real, args.limit)
    if not cases:
        ap.error("nothing to measure: give --photos DIR and/or --real")
    settings = PipelineSettings()
    ocr_lines(np.full((64, 64, 3), 255, np.uint8), settings, 0)  # load the engine outside the timings
    rows = []
    sink = args.jsonl.open("w", encoding="utf-8") if args.jsonl else None
    for group, path, expected, qr in cases:
        try:
            row = measure_one(group, path, expected, qr, variants, settings)
        except PipelineError as exc:
            print(f"{path.name}: {exc}", file=sys.stderr)
            continue
        rows.append(row)
        if sink:
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()
        print(f"{path.name}: steps {row['steps']} problems {row['quality']['problems']} "
              + " ".join(f"{v}={int(row['variants'][v]['number_in_text'])}" for v in variants), file=sys.stderr)
    if sink:
        sink.close()
    print(report(rows, variants))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
