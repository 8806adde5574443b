"""OCR speed and key-field accuracy: our tuned rapidocr vs the plain ``RapidOCR()(image)`` call vs Tesseract.

    python -m benchmarks.ocr_speed_bench [--photos benchmarks/out/photos] [--sets photos,real,real_noqr]
                                         [--engines rapidocr,rapidocr-openvino,rapidocr-default,...] [--limit N]

Sets: ``photos`` (generated: ``python -m benchmarks.photos.generate --out benchmarks/out/photos --n 40 --seed
2024``), ``real`` (../shared/data/real/cn_img + cn_img_batch) and ``real_noqr`` (the same real images with every
QR code found by ``pipeline.readers.qr.decode_qr`` filled white, so the fields come from OCR alone).
Engines, each run through the whole pipeline (``pipeline.runner.extract_bytes``) in its own subprocess, so its
peak RSS (``resource.getrusage``) is its own:
* ``rapidocr``: our engine with the tuned defaults of ``PipelineSettings`` (``ocr_runtime="auto"``: OpenVINO where
  the CPU infers in bfloat16 and reads a trial page faster, else onnxruntime; the table says which ran);
* ``rapidocr-onnxruntime`` / ``rapidocr-openvino``: the same with that ``ocr_runtime`` forced;
* ``rapidocr-default``: one plain ``RapidOCR()(image)`` call per image (rapidocr's own defaults), its lines fed to
  the same extractor, so its time is the call alone and its accuracy is what the defaults would give;
* ``rapidocr-default-raw``: the same plain call on the decoded photo itself, without our clean-up (what a user
  calling RapidOCR on the photo gets; the QR and quality steps still run);
* ``tesseract``: the ``tesseract`` binary (Debian ``tesseract-ocr`` + ``tesseract-ocr-chi-sim``), ``chi_sim``,
  ``--psm 6``, ``OMP_THREAD_LIMIT=1``, its TSV words grouped into lines and fed to the same extractor.
Accuracy is exact match on five key fields (invoice_number, invoice_code where printed, issue_date,
total_incl_tax, seller_tax_id); times are medians over the images, after one warm-up image. Prints a markdown table,
the speed-ups, and the same medians over the VAT invoice photos alone (the kind the issue's speed target names).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from benchmarks.truth import REAL, REPO, load_cases, score

FIELDS = ("invoice_number", "invoice_code", "issue_date", "total_incl_tax", "seller_tax_id")
ENGINES = ("rapidocr", "rapidocr-onnxruntime", "rapidocr-default", "rapidocr-default-raw", "tesseract")
# our engine with other settings, or the plain call on the raw photo
VARIANTS = {"rapidocr-onnxruntime": {"ocr_backend": "rapidocr", "ocr_runtime": "onnxruntime"},
            "rapidocr-openvino": {"ocr_backend": "rapidocr", "ocr_runtime": "openvino"},
            "rapidocr-default-raw": {"ocr_backend": "rapidocr-default"}}
RAW = {"rapidocr-default-raw"}  # OCR on the photo as decoded, without our clean-up
SETS = ("photos", "real", "real_noqr")
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")


# --- the cases ------------------------------------------------------------------------------------------------------

def photo_cases(folder: Path) -> list[tuple[str, str, bytes, dict[str, str]]]:
    cases = []
    for truth_path in sorted(folder.glob("*.truth.json")):
        image = truth_path.with_name(truth_path.name.removesuffix(".truth.json") + ".jpg")
        if image.is_file():
            fields = json.loads(truth_path.read_text(encoding="utf-8"))["fields"]
            cases.append((image.name, image.name, image.read_bytes(),
                          {k: str(fields[k]) for k in FIELDS if fields.get(k)}))
    return cases


def paint_qr(data: bytes) -> tuple[bytes, int]:
    """The image re-encoded as PNG with every decodable QR code filled white; and how many were painted."""
    from pipeline.readers.qr import decode_qr

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    codes = [c for c in decode_qr(image) if c.box is not None]
    for code in codes:
        x0, y0, x1, y1 = code.box
        pad = 0.08 * max(x1 - x0, y1 - y0)
        cv2.rectangle(image, (int(x0 - pad), int(y0 - pad)), (int(x1 + pad), int(y1 + pad)), (255, 255, 255), -1)
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes(), len(codes)


def real_cases(painted: bool) -> list[tuple[str, str, bytes, dict[str, str]]]:
    cases = []
    for case in load_cases(("cn_img", "cn_img_batch")):
        expected = {k: v for k, v in case.expected.items() if k in FIELDS}
        data = case.path.read_bytes()
        name = case.path.name
        if painted:
            data, _ = paint_qr(data)
            name = case.path.stem + ".png"
        cases.append((f"{case.folder}/{case.path.name}", name, data, expected))
    return cases


# --- engines only this benchmark registers --------------------------------------------------------------------------

def register_bench_engines() -> None:
    from pipeline.ocr.base import _REGISTRY, quad_to_box, register
    from pipeline.types import TextLine

    if "rapidocr-default" in _REGISTRY:
        return

    @register("rapidocr-default")
    class DefaultRapid:  # one plain RapidOCR()(image) call, nothing else
        name = "rapidocr-default"

        def __init__(self, settings) -> None:
            from rapidocr import RapidOCR
            self._ocr = RapidOCR(params={"Global.log_level": "warning"})

        def recognize(self, image: np.ndarray) -> list[TextLine]:
            result = self._ocr(image)
            if getattr(result, "txts", None) is None:
                return []
            return [TextLine(t, quad_to_box(b), float(s)) for b, t, s in zip(result.boxes, result.txts,
                                                                           result.scores, strict=True)]

    @register("tesseract")
    class Tesseract:
        name = "tesseract"

        def __init__(self, settings) -> None:
            self._env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

        def recognize(self, image: np.ndarray) -> list[TextLine]:
            with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
                cv2.imwrite(tmp.name, image)
                tsv = subprocess.run(["tesseract", tmp.name, "stdout", "-l", "chi_sim", "--psm", "6", "tsv"],
                                     capture_output=True, text=True, env=self._env, check=True).stdout
            words: dict[tuple, list] = defaultdict(list)
            for row in tsv.splitlines()[1:]:
                cols = row.split("\t")
                if len(cols) == 12 and cols[0] == "5" and cols[11].strip():
                    left, top, width, height = (int(v) for v in cols[6:10])
                    words[tuple(cols[2:5])].append((left, top, left + width, top + height, float(cols[10]),
                                                    cols[11]))
            lines = []
            for ws in words.values():
                text = _CJK_GAP.sub("", " ".join(w[5] for w in ws))
                box = (min(w[0] for w in ws), min(w[1] for w in ws), max(w[2] for w in ws), max(w[3] for w in ws))
                lines.append(TextLine(text, tuple(float(v) for v in box),
                                      max(0.0, statistics.mean(w[4] for w in ws)) / 100))
            return lines


# --- one engine in its own process ----------------------------------------------------------------------------------

def run_worker(engine: str, sets: list[str], photos: Path, limit: int | None) -> dict:
    register_bench_engines()
    from pipeline.config import PipelineSettings
    from pipeline.ocr import get_engine
    from pipeline.runner import extract_bytes
    from pipeline.serialize import invoice_to_json
    from benchmarks.truth import Case

    settings = PipelineSettings(**VARIANTS.get(engine, {"ocr_backend": engine}))
    # the runtime the engine settled on (``auto`` times both on a trial page where OpenVINO infers in bfloat16)
    runtime = get_engine(settings.ocr_backend, settings).runtime if settings.ocr_backend == "rapidocr" else None
    records = []
    for set_name in sets:
        cases = photo_cases(photos) if set_name == "photos" else real_cases(set_name == "real_noqr")
        cases = cases[:limit] if limit else cases
        if not records and cases:  # warm-up: model loading and first-call costs are not counted
            extract_bytes(cases[0][1], cases[0][2], settings)
        for label, name, data, expected in cases:
            t0 = time.perf_counter()
            result = raw_extract(name, data, settings) if engine in RAW else extract_bytes(name, data, settings)
            wall = time.perf_counter() - t0
            marks = score(Case(Path(name), set_name, expected), [invoice_to_json(i) for i in result.invoices])
            records.append({"set": set_name, "case": label, "marks": marks, "wall": wall,
                            "ocr": result.timings.get("read.ocr"), "timings": result.timings,
                            "error": result.error})
    return {"engine": engine, "runtime": runtime, "records": records,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def raw_extract(name: str, data: bytes, settings):
    """Like ``extract_bytes`` for an image, but the OCR engine gets the decoded photo itself (no clean-up)."""
    from pipeline.errors import PipelineError
    from pipeline.extract import extract_invoices
    from pipeline.ingest import ingest_bytes
    from pipeline.readers.image import read_image
    from pipeline.types import Extraction

    try:
        read = read_image(ingest_bytes(name, data, settings), settings, cleanup=False)
    except PipelineError as exc:
        return Extraction(document_name=name, sha256=None, error=str(exc))
    timings = {f"read.{k}": v for k, v in read.timings.items()}
    return Extraction(document_name=name, sha256=None, invoices=extract_invoices(read), timings=timings)


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(results: list[dict]) -> str:
    head = ("| set | engine | n | median total s | median OCR s | stages (median s) | "
            + " | ".join(FIELDS) + " | all 5 right | peak RSS MB |")
    rows = [head, "|" + " --- |" * (head.count("|") - 1)]
    for set_name in SETS:
        for res in results:
            recs = [r for r in res["records"] if r["set"] == set_name]
            if not recs:
                continue
            stages = sorted({k for r in recs for k in r["timings"] if k.startswith("read.")} | {"extract"})
            stage_text = ", ".join(f"{k.removeprefix('read.')} {_median([r['timings'].get(k) for r in recs]):.2f}"
                                   for k in stages if _median([r["timings"].get(k) for r in recs]) is not None)
            cells = []
            for field in FIELDS:
                got = [r["marks"][field] for r in recs if field in r["marks"]]
                cells.append(f"{sum(got)}/{len(got)}" if got else "–")
            scored = [r for r in recs if r["marks"]]  # documents that print none of the five are not counted
            perfect = sum(all(r["marks"].values()) for r in scored)
            ocr = _median([r["ocr"] for r in recs])
            engine = res["engine"]
            if engine == "rapidocr" and res.get("runtime"):
                engine += f" ({res['runtime']})"  # which runtime ``auto`` chose
            rows.append(f"| {set_name} | {engine} | {len(recs)} | {_median([r['wall'] for r in recs]):.2f} | "
                        f"{ocr if ocr is None else f'{ocr:.2f}'} | {stage_text} | " + " | ".join(cells)
                        + f" | {perfect}/{len(scored)} | {res['peak_rss_mb']:.0f} |")
    return "\n".join(rows)


def speedups(results: list[dict]) -> str:
    """Median over images of (default ``RapidOCR()`` OCR seconds / this engine's), per set, from the same run."""
    lines = []
    for base_name in ("rapidocr-default", "rapidocr-default-raw"):
        base = next((r for r in results if r["engine"] == base_name), None)
        if base is not None:
            lines += _speedups(results, base)
    return "\n".join(lines) or "(no rapidocr-default run: no speed-up ratios)"


def _speedups(results: list[dict], base: dict) -> list[str]:
    ref = {(r["set"], r["case"]): r["ocr"] for r in base["records"] if r["ocr"]}
    lines = []
    for res in results:
        if res["engine"].startswith("rapidocr-default"):
            continue
        for set_name in dict.fromkeys(r["set"] for r in res["records"]):
            ratios = [ref[(r["set"], r["case"])] / r["ocr"] for r in res["records"]
                      if r["set"] == set_name and r["ocr"] and (r["set"], r["case"]) in ref]
            if ratios:
                lines.append(f"OCR speed-up of {res['engine']} over {base['engine']} on {set_name}: "
                             f"median {statistics.median(ratios):.2f}x over {len(ratios)} images")
    return lines


VAT_KINDS = ("vat_e_normal", "digital_normal", "digital_special")  # the target: "a photo of a VAT invoice"
_CASE_KIND = re.compile(r"^\d+_(?P<kind>.+)\.jpg$")  # the generator's file names: 000_vat_e_normal.jpg


def vat_photos(results: list[dict]) -> str:
    """Per engine: median OCR and whole-read seconds over the generated photos of VAT invoices only, and the median
    speed-up over the plain call on the photo (``rapidocr-default-raw``) on those images, when it ran."""
    def is_vat(record: dict) -> bool:
        match = _CASE_KIND.match(record["case"])
        return record["set"] == "photos" and match is not None and match["kind"] in VAT_KINDS

    base = next((r for r in results if r["engine"] == "rapidocr-default-raw"), None)
    ref = {r["case"]: r["ocr"] for r in base["records"] if is_vat(r) and r["ocr"]} if base else {}
    lines = []
    for res in results:
        recs = [r for r in res["records"] if is_vat(r)]
        if not recs:
            continue
        line = (f"VAT invoice photos ({', '.join(VAT_KINDS)}), {res['engine']}: median OCR "
                f"{_median([r['ocr'] for r in recs]):.2f} s, whole read {_median([r['wall'] for r in recs]):.2f} s "
                f"over {len(recs)} images")
        ratios = [ref[r["case"]] / r["ocr"] for r in recs if r["ocr"] and r["case"] in ref]
        if ratios and res is not base:
            line += f"; OCR speed-up over rapidocr-default-raw: median {statistics.median(ratios):.2f}x"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=REPO / "benchmarks" / "out" / "photos")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help="also write the raw per-image records here")
    args = parser.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    if args.worker:
        print(json.dumps(run_worker(args.worker, sets, args.photos, args.limit)))
        return 0
    if "photos" in sets and not any(args.photos.glob("*.truth.json")):
        parser.error(f"no photos in {args.photos}; generate them with python -m benchmarks.photos.generate")
    if any(s.startswith("real") for s in sets) and not REAL.is_dir():
        parser.error(f"{REAL} is missing")
    results = []
    for engine in args.engines.split(","):
        cmd = [sys.executable, "-m", "benchmarks.ocr_speed_bench", "--worker", engine, "--sets", ",".join(sets),
               "--photos", str(args.photos)] + (["--limit", str(args.limit)] if args.limit else [])
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if out.returncode:
            print(f"engine {engine} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"done: {engine}", file=sys.stderr, flush=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"`python -m benchmarks.ocr_speed_bench {' '.join(argv if argv is not None else sys.argv[1:])}`, "
          f"load average before/after: see below\n")
    print(table(results))
    print("\n" + speedups(results))
    if vat := vat_photos(results):
        print("\n" + vat)
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
