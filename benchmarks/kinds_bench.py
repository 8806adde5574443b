"""Kinds benchmark: per-kind, per-format, per-field accuracy and time per document.

    python -m benchmarks.kinds_bench [--sets golden,real,sroie] [--no-ocr] [--ocr-cache DIR] [--repeat N]
                                     [--no-cleanup]

Sets: ``golden`` = samples/golden (expected values from each ``<name>.expected.json``); ``real`` = the Chinese
documents of ../shared/data/real (truth from each ``.truth.json``: the spine's key fields plus buyer/seller names
and IDs, tax, check code, ticket and trip-table fields; names compared after the pipeline's half-width
normalisation; the expected kind from the file name, else from the truth's QR type); ``sroie`` = the English
receipts of ../shared/data/real/sroie (company and address compared upper-cased with runs of spaces collapsed,
otherwise exactly as the truth spells them;
the truth's printed date read day-first; the total without currency signs; address reported, not a target).

Every document goes through ``pipeline.runner.extract_file`` (the ``reimburse extract --json`` path). Times:
``read`` is the sum of the reader's stages (``read.*``), ``wall`` the whole call; medians per format after one
warm-up call per format, over ``--repeat`` runs (text formats only: OCR documents run once). ``--ocr-cache``
keeps OCR results in DIR (keyed by the image's bytes) so reruns skip OCR; the OCR times are then meaningless and
the report says so. ``--no-ocr`` skips every document that needs OCR; ``--no-cleanup`` reads photos without the
photo clean-up (``read_image(cleanup=False)``, to measure what it brings). Prints markdown, starting with the
command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from pipeline.codes import kind_from_qr_type
from pipeline.config import PipelineSettings
from pipeline.ocr import get_engine, register
from pipeline.readers import register_reader
from pipeline.readers.image import read_image
from pipeline.runner import extract_file
from pipeline.serialize import invoice_to_json
from pipeline.text import normalize
from pipeline.types import DocType, TextLine

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "samples" / "golden"
REAL = REPO.parent / "shared" / "data" / "real"
SETS = ("golden", "real", "sroie")
TEXT_FORMATS = ("pdf", "ofd", "xml", "zip")
FORMAT_OF = {".pdf": "pdf", ".ofd": "ofd", ".xml": "xml", ".zip": "zip", ".jpg": "image", ".jpeg": "image",
             ".png": "image"}
# real truth key → our key (strings compared after normalisation; money as 2-dp)
REAL_KEYS = {
    "invoice_number": "invoice_number", "invoice_code": "invoice_code", "issue_date": "issue_date",
    "total_incl_tax": "total_incl_tax", "amount_excl_tax": "amount_excl_tax", "tax_amount": "tax_amount",
    "buyer_name": "buyer_name", "buyer_tax_id": "buyer_tax_id", "seller_name": "seller_name",
    "seller_tax_id": "seller_tax_id", "check_code": "check_code", "train_no": "train_no",
    "from_station": "from_station", "to_station": "to_station", "depart_datetime": "depart_datetime",
    "seat_class": "seat_class", "passenger_name": "passenger_name", "price": "total_incl_tax",
    "ticket_serial_red": "invoice_number", "apply_date": "apply_date", "trip_count": "trip_count",
    "total_amount": "trip_total",
}
MONEY = {"total_incl_tax", "amount_excl_tax", "tax_amount", "trip_total", "fare", "fuel_surcharge", "caac_fund"}
KIND_BY_NAME = (("trip_table", "trip_table"), ("highway_toll", "vat_e_toll"), ("quandian_special", "digital_special"),
                ("vat_e_special", "vat_e_special"), ("vat_e_normal", "vat_e_normal"),
                ("train_ticket_paper", "rail_paper_ticket"), ("vat_paper_normal", "vat_normal"),
                ("vat_roll", "vat_roll"))
TAX_INCLUSIVE_QR = {"31", "32", "51", "61"}


@dataclass
class Case:
    set: str
    path: Path
    fmt: str
    kind: str | None  # expected kind of the first invoice, when known
    expected: dict[str, str]  # key fields of the first invoice (golden: of every invoice, numbered)
    slow: bool = False
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- cases


def golden_cases() -> list[Case]:
    cases = []
    for exp_path in sorted(GOLDEN.glob("*.expected.json")):
        exp = json.loads(exp_path.read_text(encoding="utf-8"))
        expected = {}
        for n, inv in enumerate(exp["invoices"]):
            prefix = f"#{n}." if len(exp["invoices"]) > 1 else ""
            expected.update({prefix + k: v for k, v in inv["fields"].items()})
            expected[prefix + "kind"] = inv["kind"]
        cases.append(Case("golden", GOLDEN / exp["document"], "image" if exp["format"] == "image" else exp["format"],
                          exp["invoices"][0]["kind"], expected, exp.get("slow", False)))
    return cases


def _money(text: str) -> str:
    try:
        return f"{Decimal(re.sub(r'[^0-9.-]', '', text)):.2f}"
    except InvalidOperation:
        return text


def real_cases() -> list[Case]:
    cases = []
    for folder in ("cn_pdf", "cn_xml_ofd", "cn_img", "cn_img_batch"):
        for truth_path in sorted((REAL / folder).glob("*.truth.json")):
            stem = truth_path.name.removesuffix(".truth.json")
            docs = [p for p in truth_path.parent.glob(stem + ".*") if not p.name.endswith(".json")
                    and p.suffix.lower() in FORMAT_OF]
            if not docs:
                continue
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            fields, qr = truth.get("fields") or {}, truth.get("qr") or {}
            expected = {}
            for theirs, ours in REAL_KEYS.items():
                value = fields.get(theirs)
                if isinstance(value, str) and value and ours not in expected:
                    expected[ours] = _money(value) if ours in MONEY else normalize(value)
            if fields.get("period") and " 至 " in fields["period"]:
                expected["period_start"], _, expected["period_end"] = fields["period"].partition(" 至 ")
            qr_amount = fields.get("qr_amount") or qr.get("qr_amount")
            if qr_amount and qr.get("qr_type_code"):
                key = "total_incl_tax" if qr["qr_type_code"] in TAX_INCLUSIVE_QR else "amount_excl_tax"
                expected.setdefault(key, _money(qr_amount))
            kind = kind_from_qr_type(qr.get("qr_type_code") or "")  # the file name first: a toll's QR says 10
            kind_name = next((k for pat, k in KIND_BY_NAME if pat in stem), kind.value if kind else None)
            fmt = FORMAT_OF[docs[0].suffix.lower()]
            cases.append(Case("real", docs[0], fmt, kind_name, expected, slow=fmt == "image"))
    return cases


_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}


def sroie_date(text: str) -> str | None:
    """The truth's printed date as YYYY-MM-DD: ``25/12/2018``, ``18-10-17``, ``10 MAR 2018``, ``OCT 3, 2016``."""
    s = text.strip().upper()
    if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})", s):
        d, mo, y = map(int, m.groups())
        return date(y + 2000 if y < 100 else y, mo, d).isoformat()
    if m := re.fullmatch(r"(\d{1,2})\s+([A-Z]{3})[A-Z]*\s+(\d{4})", s):
        return date(int(m[3]), _MONTHS[m[2]], int(m[1])).isoformat()
    if m := re.fullmatch(r"([A-Z]{3})[A-Z]*\s+(\d{1,2}),?\s+(\d{4})", s):
        return date(int(m[3]), _MONTHS[m[1]], int(m[2])).isoformat()
    return None


def sroie_cases() -> list[Case]:
    cases = []
    for image in sorted((REAL / "sroie").glob("*.jpg")):
        truth = json.loads(image.with_suffix(".truth.json").read_text(encoding="utf-8"))
        expected = {"seller_name": " ".join(truth["company"].split()), "issue_date": sroie_date(truth["date"]) or "",
                    "total_incl_tax": _money(truth["total"]) if re.search(r"\d", truth["total"]) else "",
                    "seller_address": " ".join(truth["address"].split())}
        cases.append(Case("sroie", image, "image", "receipt", {k: v for k, v in expected.items() if v}, slow=True))
    return cases


# ---------------------------------------------------------------------------------------------- OCR cache


class CachedOcr:
    """The configured OCR engine with its results kept in a folder, keyed by the image's bytes."""

    name = "bench-cache"
    inner_backend = "rapidocr"
    folder: Path | None = None

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings  # the inner engine is fetched on first use: get_engine holds its lock right now
        self.inner = None

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        key = hashlib.sha256(repr(image.shape).encode() + image.tobytes()).hexdigest()
        path = self.folder / f"{key}.json"
        if path.exists():
            return [TextLine(t, tuple(b), c) for t, b, c in json.loads(path.read_text(encoding="utf-8"))]
        if self.inner is None:
            self.inner = get_engine(self.inner_backend, self.settings)
        lines = self.inner.recognize(image)
        path.write_text(json.dumps([[ln.text, list(ln.box), ln.confidence] for ln in lines], ensure_ascii=False),
                        encoding="utf-8")
        return lines


# ---------------------------------------------------------------------------------------------- scoring


def _compare(key: str, got: object, want: str, case: Case) -> bool:
    if got is None:
        return False
    if case.set == "sroie" and key in ("seller_name", "seller_address"):
        return " ".join(str(got).split()).upper() == want
    if key.rsplit(".", 1)[-1] in MONEY:
        return _money(str(got)) == want
    return normalize(str(got)) == want


def score(case: Case, invoices: list[dict]) -> dict[str, bool]:
    if case.set == "golden":
        out = {}
        for key, want in case.expected.items():
            n, name = (int(key[1:key.index(".")]), key[key.index(".") + 1:]) if key.startswith("#") else (0, key)
            got = None
            if n < len(invoices):
                got = invoices[n]["kind"] if name == "kind" else invoices[n]["fields"].get(name)
            out[name if not key.startswith("#") else key] = _compare(name, got, want, case)
        return out
    number = case.expected.get("invoice_number")
    best = next((i for i in invoices if number and i["fields"].get("invoice_number") == number),
                invoices[0] if invoices else None)
    out = {k: best is not None and _compare(k, best["fields"].get(k), v, case) for k, v in case.expected.items()}
    if case.kind:
        out["kind"] = best is not None and best["kind"] == case.kind
    return out


@dataclass
class Run:
    case: Case
    marks: dict[str, bool]
    kind: str
    read: float
    wall: float
    error: str | None


def run_case(case: Case, settings: PipelineSettings, repeat: int) -> Run:
    reads, walls = [], []
    result = None
    for _ in range(1 if case.slow else repeat):
        t0 = time.perf_counter()
        result = extract_file(case.path, settings)
        walls.append(time.perf_counter() - t0)
        reads.append(sum(v for k, v in result.timings.items() if k.startswith("read.")))
    invoices = [invoice_to_json(i) for i in result.invoices]
    kind = invoices[0]["kind"] if invoices else "none"
    return Run(case, score(case, invoices), kind, statistics.median(reads), statistics.median(walls), result.error)


# ---------------------------------------------------------------------------------------------- report


def _frac(marks: list[bool]) -> str:
    return f"{sum(marks)}/{len(marks)}" if marks else "–"


def accuracy_table(runs: list[Run], group: str) -> list[str]:
    """Rows per kind (or format): docs, docs with every field exact, then per-field hits."""
    fields: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    docs: dict[str, list[bool]] = defaultdict(list)
    for r in runs:
        label = (r.case.kind or r.kind) if group == "kind" else r.case.fmt
        for key, ok in r.marks.items():
            fields[label][key.split(".", 1)[-1] if key.startswith("#") else key].append(ok)
        docs[label].append(all(r.marks.values()))
    keys = sorted({k for f in fields.values() for k in f}, key=lambda k: (k != "kind", k))
    lines = [f"| {group} | docs | all exact | " + " | ".join(keys) + " |", "|---|---|---|" + "---|" * len(keys)]
    for label in sorted(fields):
        lines.append(f"| {label} | {len(docs[label])} | {_frac(docs[label])} | "
                     + " | ".join(_frac(fields[label].get(k, [])) for k in keys) + " |")
    return lines


def time_table(runs: list[Run], cached: bool) -> list[str]:
    by_fmt: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        by_fmt[r.case.fmt].append(r)
    lines = ["| format | docs | median read ms | max read ms | median wall ms | max wall ms |", "|---|---|---|---|---|---|"]
    for fmt, rs in sorted(by_fmt.items()):
        reads, walls = [r.read * 1000 for r in rs], [r.wall * 1000 for r in rs]
        note = " (OCR cached)" if cached and fmt == "image" else ""
        lines.append(f"| {fmt}{note} | {len(rs)} | {statistics.median(reads):.1f} | {max(reads):.1f} | "
                     f"{statistics.median(walls):.1f} | {max(walls):.1f} |")
    return lines


def misses(runs: list[Run]) -> list[str]:
    out = []
    for r in runs:
        wrong = [k for k, ok in r.marks.items() if not ok]
        if wrong:
            out.append(f"- `{r.case.set}/{r.case.path.name}` ({r.kind}): {', '.join(wrong)}"
                       + (f" (error: {r.error})" if r.error else ""))
    return out


def report(runs: list[Run], cached: bool) -> str:
    out = []
    for name in SETS:
        rs = [r for r in runs if r.case.set == name]
        if not rs:
            continue
        out += [f"## {name}", "", *accuracy_table(rs, "kind"), "", *accuracy_table(rs, "format"), "",
                "Time per document:", "", *time_table(rs, cached), ""]
        if name == "sroie":
            for key in ("seller_name", "issue_date", "total_incl_tax", "seller_address"):
                marks = [r.marks[key] for r in rs if key in r.marks]
                out.append(f"- SROIE {key}: **{sum(marks)}/{len(marks)}** ({100 * sum(marks) / max(len(marks), 1):.1f}%)")
            out.append("")
        missed = misses(rs)
        if missed:
            out += ["Misses:", "", *missed, ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--no-ocr", action="store_true", help="skip documents read by OCR")
    p.add_argument("--ocr-cache", type=Path, help="keep OCR results in this folder (never commit it)")
    p.add_argument("--repeat", type=int, default=5, help="runs per text document (median)")
    p.add_argument("--no-cleanup", action="store_true", help="read photos without the clean-up step")
    args = p.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    cases: list[Case] = []
    if "golden" in sets:
        cases += golden_cases()
    if "real" in sets and REAL.is_dir():
        cases += real_cases()
    if "sroie" in sets and (REAL / "sroie").is_dir():
        cases += sroie_cases()
    if args.no_ocr:
        cases = [c for c in cases if not c.slow]
    settings = PipelineSettings()
    if args.ocr_cache:
        args.ocr_cache.mkdir(parents=True, exist_ok=True)
        CachedOcr.folder = args.ocr_cache
        register(CachedOcr.name)(CachedOcr)
        settings = PipelineSettings(ocr_backend=CachedOcr.name)
    if args.no_cleanup:
        register_reader(DocType.IMAGE, lambda doc, s: read_image(doc, s, cleanup=False))
    warmed: set[str] = set()
    runs = []
    for case in cases:
        if case.fmt not in warmed:  # first call per format: imports, OCR engine load
            extract_file(case.path, settings)
            warmed.add(case.fmt)
        runs.append(run_case(case, settings, args.repeat))
        print(f"{case.set}/{case.path.name}: {runs[-1].wall:.2f}s", file=sys.stderr)
    argv_text = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    print(f"Command: `.venv/bin/python -m benchmarks.kinds_bench {argv_text}`".rstrip() + "\n")
    print(report(runs, cached=bool(args.ocr_cache)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
