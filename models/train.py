"""Train, evaluate and ship the expense-category model: ``python -m models.train`` (``make train``).

Contract: ``main(argv=None) -> int`` builds the dataset (``models.dataset``; the unlicensed extras in ``../shared``
are used when present, ``--no-shared`` skips them), fits the featurizer and a LinearSVC calibrated with
``CalibratedClassifierCV`` (sigmoid) on the train split, evaluates on the seller- and item-disjoint held-out split
(rules + model, and the model alone), then writes into ``--out`` (default ``models/artefacts``):
``category-<version>.joblib``, ``category-<version>.metrics.json``, and ``CURRENT`` (replaced atomically); and
``--card`` (default ``models/MODEL_CARD.md``). Older ``category-*`` files in ``--out`` are removed unless
``--keep-old``. The version is ``cat-<RECIPE_DATE>-<data hash[:8]>``: two runs on the same inputs produce the
same version, metrics and card. Bump ``RECIPE_DATE`` whenever ``CONFIG`` or the training code changes.

``--corrections FILE`` (JSON lines of ``models.corrections.LabelledExample``) adds finance corrections to the
training split, each with sample weight ``--correction-weight`` (``ModelSettings.correction_weight``); the data
hash, hence the version, then covers them too, and sellers whose corrections contradict a rule are left to the
model. ``build(...)`` and ``write_version(...)`` are the steps ``models.registry.retrain`` reuses to train a
versioned candidate into the runtime store without touching ``CURRENT``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC

from models.category import (
    ARTEFACT_DIR,
    CURRENT_FILE,
    CategoryModel,
    artefact_name,
    save_artefact,
)
from models.corrections import (
    LabelledExample,
    combined_hash,
    examples_hash,
    read_jsonl,
    rule_overrides,
    training_rows,
)
from models.dataset import Dataset, Row, build_dataset, trained_categories
from models.evaluation import evaluate
from models.features import Featurizer, Line
from models.linear import CalibratedLinear
from models.rules import RuleSet
from models.settings import get_model_settings
from models.sources import DEFAULT_SHARED, load_sources
from models.taxonomy import load_taxonomy
from pipeline.config import get_pipeline_settings

RECIPE_DATE = "20250612"
CONFIG = {
    "featurizer": {"weights": (1.0, 1.0, 1.0, 0.4), "min_df": 2, "max_features": 60000},
    "svc_C": 0.5,
    "calibration": {"method": "sigmoid", "cv": 3, "ensemble": False},
}
# Value of the indicator feature of a corrected seller (models.features.Featurizer.exact_sellers).
CORRECTION_SELLER_WEIGHT = 3.0
CARD_PATH = Path(__file__).resolve().parent / "MODEL_CARD.md"


def fit(rows: list[Row], rules: RuleSet, model_version: str, meta: dict, weights: Sequence[float] | None = None,
        vocabulary_extra: Sequence[Line] = ()) -> CategoryModel:
    """``weights``: one sample weight per row (None: all 1). ``vocabulary_extra``: lines the featurizer also sees
    when building its vocabulary (corrections, so that a seller corrected once still passes ``min_df``); their
    sellers also get an indicator feature each."""
    lines = [Line(r.seller_name, r.items, r.kind, r.amount) for r in rows]
    labels = [r.label for r in rows]
    exact = tuple(sorted({line.seller_name for line in vocabulary_extra if line.seller_name}))
    featurizer = Featurizer(**CONFIG["featurizer"], exact_sellers=exact,
                            exact_seller_weight=CORRECTION_SELLER_WEIGHT).fit(lines + list(vocabulary_extra))
    calibrated = CalibratedClassifierCV(LinearSVC(C=CONFIG["svc_C"], random_state=0), **CONFIG["calibration"])
    calibrated.fit(featurizer.transform(lines), labels, sample_weight=None if weights is None else list(weights))
    return CategoryModel(featurizer, CalibratedLinear.from_sklearn(calibrated), rules, model_version,
                         get_pipeline_settings().abstain_threshold, meta)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_model(model: CategoryModel, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        save_artefact(model, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _per_class_table(system: dict, alone: dict) -> list[str]:
    tax = load_taxonomy()
    rows = ["| category | 科目 | F1 (rules + model) | F1 (model alone) |", "|---|---|---|---|"]
    for code, f1 in system["per_class_f1"].items():
        rows.append(f"| `{code}` | {tax.get(code).name_zh} | {f1:.3f} | {alone['per_class_f1'][code]:.3f} |")
    return rows


def _corrections_lines(report: dict) -> list[str]:
    lines = []
    if report.get("trained_at"):
        lines.append(f"- trained at {report['trained_at']} (scale {report.get('scale', 1.0):g})")
    c = report.get("corrections")
    if c:
        lines += [
            (f"- base data hash `{report['base_data_hash']}` + {c['used']} finance corrections"
            f" (of {c['n']}; hash `{c['hash'][:16]}`), each weighted {c['weight']:g} against a synthetic line;"
            f" {c['sellers_left_to_model']} seller(s) whose corrections contradict a rule are left to the model"),
            f"- corrections reproduced by this model: {c['fit']['reproduced']}/{c['fit']['n']}",
        ]
    return lines


def render_card(report: dict) -> str:
    s, m = report["eval"]["system"], report["eval"]["model_alone"]
    thr = "\n".join(f"| {t['threshold']} | {t['coverage']:.3f} | {t['accuracy']:.4f} |" for t in m["thresholds"])
    lines = [
        f"# Model card: expense-category attribution `{report['model_version']}`",
        "",
        "Generated by `python -m models.train` (`make train`); do not edit by hand.",
        "",
        "## What it does",
        "",
        "Assigns one invoice (seller name, item lines `*简称*名称`, invoice kind, amount) to an expense category of",
        "`models/taxonomy.yaml` (DOMAIN §7). Deterministic facts decide first (`models/rules.yaml`: rail/air tickets,",
        "toll e-invoices, taxi receipts, unambiguous 简称, exact 简称+名称 pairs); otherwise a linear model on character",
        "n-grams of the item text and seller name, 简称 tokens, the kind and an amount bucket gives calibrated",
        "probabilities, and the pipeline abstains below `PipelineSettings.abstain_threshold`",
        f"({report['threshold']}). A local ride inside an approved trip becomes `travel.transport`.",
        "",
        "## Data",
        "",
        f"- data hash: `{report['data_hash']}`",
        *_corrections_lines(report),
        (f"- rows: {report['dataset']['rows']['train']} train, {report['dataset']['rows']['eval']} held-out;"
         f" {report['dataset']['items']} item names, {report['dataset']['sellers']} sellers"),
        "- sources: " + "; ".join(report["sources"]),
        "- item names: official 商品和服务税收分类编码 tables (2017 and 2026 简称), curated item lists, hotel room",
        "  names and restaurant dishes; seller names: curated operator lists and legal-style names composed from",
        "  MIT hotel/restaurant names and Apache-2.0 brand words (`samples/training/PROVENANCE.md`).",
        "- every line is synthetic: composed from those lists with a fixed seed, with OCR-like noise (missing",
        "  asterisks, stray spaces, truncation, missing seller/amount). No real invoice is in the training data.",
        "- split: item names and seller entities (hotel, restaurant, brand word, person) are hashed into train or",
        "  held-out; held-out rows use only held-out names and sellers. Classes are balanced by construction.",
        "",
        "## Held-out metrics",
        "",
        "| | rules + model | model alone |",
        "|---|---|---|",
        f"| macro-F1 (best guess, abstentions included) | {s['macro_f1']:.4f} | {m['macro_f1']:.4f} |",
        f"| accuracy (all rows) | {s['accuracy']:.4f} | {m['accuracy']:.4f} |",
        f"| accuracy among answered rows | {s['answered_accuracy']:.4f} | {m['answered_accuracy']:.4f} |",
        f"| abstention rate | {s['abstention_rate']:.4f} | {m['abstention_rate']:.4f} |",
        f"| decided by rules | {s['rule_rate']:.4f} | 0 |",
        f"| expected calibration error (model-decided rows) | {s['ece']:.4f} | {m['ece']:.4f} |",
        "",
        *_per_class_table(s, m),
        "",
        "Coverage and accuracy of the model alone by threshold:",
        "",
        "| threshold | coverage | accuracy |",
        "|---|---|---|",
        thr,
        "",
        "## Intended use and limits",
        "",
        "- Suggests a 费用科目 for a reimbursement line; abstained lines and `other` go to a human. The category is a",
        "  suggestion for the claimant and the approver, never an accounting decision by itself.",
        "- The held-out set is synthetic and balanced: it measures generalisation to unseen item names and sellers",
        "  built the same way, not accuracy on a company's real invoice mix. Check it on your own invoices",
        "  (`benchmarks/classifier_bench.py` prints a spot check on the real invoices in `../shared` when present).",
        "- Company policy decides borderline cases the model cannot know: staff meals (福利费 vs 业务招待费), gifts,",
        "  equipment bought through retailers (办公费 vs fixed assets), utilities (booked here under 租赁/物业费).",
        "- `travel.allowance` (差旅费-补助) has no invoice and is never predicted.",
        "- Pickled scikit-learn artefact: load only files you built or shipped with the project.",
        "",
        "## Learning from corrections",
        "",
        "- A finance correction of a line's category (`POST /api/invoices/{id}/lines/{n}/category`) is kept as a",
        "  labelled example with who and when. `reimburse train` (or the scheduled job) retrains on the data above",
        "  plus the corrections (each weighted against a synthetic line; a corrected seller gets an indicator",
        "  feature of its own, so what finance taught attaches to that seller) and leaves a seller to the model when",
        "  a correction contradicts a rule for it (`models/corrections.py`).",
        "- A retrained version goes to the runtime store (`var/models`) with its own card and metrics. It replaces",
        "  the current model only when its held-out macro-F1 is within `REIMBURSE_MODEL_MAX_F1_DROP` of the current",
        "  model's on the same split; `reimburse model rollback` returns to the previous one (`models/registry.py`).",
        "",
        "## Recipe",
        "",
        f"- recipe date {RECIPE_DATE}; config `{json.dumps(CONFIG, ensure_ascii=False)}`",
        f"- scikit-learn {report['sklearn']}; features: {report['n_features']}",
        "",
    ]
    return "\n".join(lines)


def _remove_stale(out: Path, keep: str) -> None:
    for f in out.glob("category-*"):
        if not f.name.startswith(keep.removesuffix(".joblib")):
            f.unlink()


@dataclass
class Trained:
    model: CategoryModel
    report: dict
    held_out: list[Row]


def _examples_fit(model: CategoryModel, examples: Sequence[LabelledExample]) -> dict:
    """How many corrections the model reproduces (with their trip context), and which it does not."""
    taught = [e for e in examples if e.teaches]
    results = model.classify_batch([{"seller_name": e.seller_name, "items": e.items, "kind": e.kind,
                                     "amount": e.amount, "in_trip": e.in_trip} for e in taught])
    missed = [e.ref or str(i) for i, (e, c) in enumerate(zip(taught, results, strict=True)) if c.category != e.label]
    return {"n": len(taught), "reproduced": len(taught) - len(missed), "missed": missed}


def build(shared: Path | None, scale: float = 1.0, examples: Sequence[LabelledExample] = (),
          correction_weight: float | None = None, trained_at: str | None = None) -> Trained:
    """Build the dataset (+ corrections), fit, and evaluate on the held-out split. Writes nothing."""
    sources = load_sources(shared)
    dataset: Dataset = build_dataset(sources, scale)
    weight = get_model_settings().correction_weight if correction_weight is None else correction_weight
    extra = training_rows(examples)
    data_hash = combined_hash(dataset.data_hash, examples)
    version = f"cat-{RECIPE_DATE}-{data_hash[:8]}"
    rules = RuleSet.from_yaml()
    if extra:
        rules = replace(rules, seller_overrides=rule_overrides(examples, rules))
    meta = {"data_hash": data_hash, "base_data_hash": dataset.data_hash, "sources": dataset.sources,
            "recipe_date": RECIPE_DATE, "config": CONFIG, "categories": trained_categories(sources),
            "sklearn": sklearn.__version__, "scale": scale}
    corrections = None
    if extra:
        corrections = {"n": len(examples), "used": len(extra), "hash": examples_hash(examples), "weight": weight,
                       "sellers_left_to_model": len(rules.seller_overrides)}
        meta["corrections"] = corrections
    if trained_at:
        meta["trained_at"] = trained_at
    train_rows = dataset.split("train")
    vocab = [Line(r.seller_name, r.items, r.kind, r.amount) for r in extra]
    model = fit(train_rows + extra, rules, version, meta,
                weights=[1.0] * len(train_rows) + [weight] * len(extra) if extra else None,
                vocabulary_extra=vocab)
    held_out = dataset.split("eval")
    report = {
        "model_version": version, "data_hash": data_hash, "base_data_hash": dataset.data_hash,
        "sources": dataset.sources, "dataset": dataset.stats, "threshold": model.threshold,
        "sklearn": sklearn.__version__, "n_features": model.featurizer.n_features, "scale": scale,
        "eval": {"system": evaluate(model, held_out), "model_alone": evaluate(model, held_out, rules=False)},
    }
    if corrections is not None:
        report["corrections"] = {**corrections, "fit": _examples_fit(model, examples)}
    if trained_at:
        report["trained_at"] = trained_at
    model.meta["metrics"] = {k: {m: v[m] for m in ("macro_f1", "answered_accuracy", "abstention_rate")}
                             for k, v in report["eval"].items()}
    return Trained(model, report, held_out)


def metrics_path(out: Path, version: str) -> Path:
    return out / artefact_name(version).replace(".joblib", ".metrics.json")


def card_path(out: Path, version: str) -> Path:
    return out / artefact_name(version).replace(".joblib", ".card.md")


def write_version(trained: Trained, out: Path, card: Path | None) -> Path:
    """Write the artefact and its metrics into ``out`` (and the card to ``card``); returns the artefact path.
    ``CURRENT`` is not touched."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / artefact_name(trained.model.model_version)
    _save_model(trained.model, path)
    _atomic_write(metrics_path(out, trained.model.model_version),
                  (json.dumps(trained.report, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode())
    if card is not None:
        _atomic_write(card, render_card(trained.report).encode())
    return path


def _print_summary(trained: Trained, path: Path, seconds: float) -> None:
    s, m = trained.report["eval"]["system"], trained.report["eval"]["model_alone"]
    size = path.stat().st_size / 1e6
    print(f"model {trained.model.model_version}: trained in {seconds:.1f}s, artefact {size:.1f} MB -> {path}")
    for label, e in (("rules+model", s), ("model alone", m)):
        print(f"  {label:12s} macro-F1 {e['macro_f1']:.4f}  answered accuracy {e['answered_accuracy']:.4f}  "
              f"abstention {e['abstention_rate']:.4f}  rules {e['rule_rate']:.3f}  ECE {e['ece']:.4f}")
    corrections = trained.report.get("corrections")
    if corrections:
        fit_ = corrections["fit"]
        print(f"  corrections: {corrections['used']} used (weight {corrections['weight']:g}), "
              f"{fit_['reproduced']}/{fit_['n']} reproduced")


def run(shared: Path | None, out: Path, card: Path | None, scale: float = 1.0, keep_old: bool = False,
        verbose: bool = True, examples: Sequence[LabelledExample] = (),
        correction_weight: float | None = None) -> dict:
    t0 = time.perf_counter()
    trained = build(shared, scale, examples, correction_weight)
    path = write_version(trained, out, card)
    name = path.name
    _atomic_write(out / CURRENT_FILE, (name + "\n").encode())
    if not keep_old:
        _remove_stale(out, name)
    if verbose:
        _print_summary(trained, path, time.perf_counter() - t0)
    return trained.report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="reimburse train", description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the ../shared folder (optional extras)")
    p.add_argument("--no-shared", action="store_true", help="build only from data committed in the repo")
    p.add_argument("--out", type=Path, default=ARTEFACT_DIR, help="artefact folder (default models/artefacts)")
    p.add_argument("--card", type=Path, default=CARD_PATH, help="model card path (default models/MODEL_CARD.md)")
    p.add_argument("--scale", type=float, default=1.0, help="dataset size factor (tests use a small one)")
    p.add_argument("--keep-old", action="store_true", help="keep older category-* artefacts in --out")
    p.add_argument("--corrections", type=Path, default=None,
                   help="JSON lines of finance corrections (models.corrections.LabelledExample) to learn from")
    p.add_argument("--correction-weight", type=float, default=None,
                   help="sample weight of one correction (default REIMBURSE_MODEL_CORRECTION_WEIGHT)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    examples = read_jsonl(args.corrections) if args.corrections else []
    run(None if args.no_shared else args.shared, args.out, args.card, args.scale, args.keep_old, not args.quiet,
        examples, args.correction_weight)
    return 0


if __name__ == "__main__":
    sys.exit(main())
