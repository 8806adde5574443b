"""Spine benchmark: key-field accuracy on ../shared/data/real and time per stage on this machine.

    python -m benchmarks.spine_bench [--folders cn_pdf,cn_img,...] [--repeat 3]

Prints markdown: per-folder accuracy for each key field (over the documents whose truth shows it) and the
median time per stage for one photo and one PDF (after one warm-up call, OCR engine already loaded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict

from tqdm import tqdm

from benchmarks.truth import FOLDERS, KEY_FIELDS, REAL, load_cases, score
from pipeline.runner import extract_file
from pipeline.serialize import invoice_to_json

HEADLINE = ("invoice_number", "issue_date", "total_incl_tax")


def accuracy(folders: tuple[str, ...]) -> str:
    cases = load_cases(folders)
    hits: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    headline_docs = headline_ok = 0
    failures = []
    for case in tqdm(cases, desc="documents", file=sys.stderr, disable=not sys.stderr.isatty()):
        result = extract_file(case.path)
        marks = score(case, [invoice_to_json(i) for i in result.invoices])
        for key, ok in marks.items():
            hits[case.folder][key].append(ok)
            hits["all"][key].append(ok)
        shown = [k for k in HEADLINE if k in marks]
        if shown:
            headline_docs += 1
            headline_ok += all(marks[k] for k in shown)
        if not all(marks.values()):
            failures.append(f"- `{case.folder}/{case.path.name}`: wrong or missing "
                            f"{', '.join(k for k, ok in marks.items() if not ok)}"
                            + (f" (error: {result.error})" if result.error else ""))
    lines = ["| folder | docs | " + " | ".join(KEY_FIELDS) + " |", "|---|---|" + "---|" * len(KEY_FIELDS)]
    for folder in (*folders, "all"):
        if folder not in hits:
            continue
        docs = len([c for c in cases if folder in ("all", c.folder)])
        cells = []
        for key in KEY_FIELDS:
            marks = hits[folder].get(key, [])
            cells.append(f"{sum(marks)}/{len(marks)}" if marks else "–")
        lines.append(f"| {folder} | {docs} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Documents whose number, date and total (those the truth shows) are all exact: "
                 f"**{headline_ok}/{headline_docs}** ({100 * headline_ok / max(headline_docs, 1):.1f}%)")
    if failures:
        lines += ["", "Misses:", *failures]
    return "\n".join(lines)


def stage_times(repeat: int) -> str:
    picks = {"photo (PNG)": REAL / "cn_img" / "01_vat_e_normal_tianjin_jd_33207675.png",
             "text PDF": REAL / "cn_pdf" / "01_vat_e_normal_51142414.pdf"}
    lines = ["| document | stage | median seconds |", "|---|---|---|"]
    for label, path in picks.items():
        extract_file(path)  # warm-up: loads the OCR engine once
        runs: dict[str, list[float]] = defaultdict(list)
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = extract_file(path)
            runs["wall"].append(time.perf_counter() - t0)
            for stage, seconds in result.timings.items():
                runs[stage].append(seconds)
        for stage, values in runs.items():
            lines.append(f"| {label} | {stage} | {statistics.median(values):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folders", default=",".join(f for f in FOLDERS))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-accuracy", action="store_true")
    args = p.parse_args(argv)
    if not REAL.exists():
        print(f"no real data at {REAL}", file=sys.stderr)
        return 2
    print("## Time per stage\n")
    print(stage_times(args.repeat))
    if not args.skip_accuracy:
        print("\n## Key-field accuracy on ../shared/data/real\n")
        print(accuracy(tuple(args.folders.split(","))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
