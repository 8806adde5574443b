"""Expense-category attribution of one invoice: deterministic facts first, then a calibrated linear model.

Contract:
* ``load_model(path=None) -> CategoryModel`` loads a trained artefact (joblib). Without ``path`` it follows
  ``<model dir>/CURRENT``, re-read on every call, so a promotion or rollback (``models.registry``) is picked
  up by the next call. Model dir (``resolve_model_dir()``): ``PipelineSettings.model_dir`` when set; else the
  runtime store ``ModelSettings.runtime_dir`` (``var/models``) when it has a ``CURRENT``; else the shipped
  ``models/artefacts``.
  Loaded models are cached per process and path; ``load_model.cache_clear()`` drops the cache. A missing artefact
  raises ``pipeline.errors.BackendUnavailable`` telling the user to run ``make train``. Artefacts are pickles: load
  only files you produced (the shipped one, ``make train`` or retraining output).
* ``CategoryModel.classify(seller_name, items, kind=None, amount=None, in_trip=None) -> Classification``:
  ``models.rules`` decide first (``source="rule"``, confidence 1.0); otherwise the model's calibrated probability
  of its best category is the confidence, and ``abstained`` is set when it is below ``threshold`` (default
  ``PipelineSettings.abstain_threshold``). An abstained result still carries the best guess as ``category`` so a
  reviewer sees a suggestion. A local ride inside a trip (``in_trip=True``) becomes ``travel.transport``.
* ``classify_batch(rows)``: the same for many invoices at once (mappings with those keys, or objects with those
  attributes); results are identical to calling ``classify`` on each row.
* ``classify_lines(seller_name, items, kind=None, amount=None, in_trip=None) -> list[Classification]``: one result
  per item line (a hotel bill with a breakfast line gets two categories). An invoice with one line, or none, gets
  the invoice's own result (one element). On a longer invoice each informative line is classified on its own
  (seller, kind, that line's amount: ``LineItem.amount + tax_amount`` or a mapping's ``amount``), and a line that
  says nothing (``(详见销货清单)``, 合计) takes the invoice's result. ``classify_lines_batch(rows)`` does many.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from models.features import Featurizer, Line
from models.rules import RuleSet, apply_trip, uninformative
from models.settings import get_model_settings
from pipeline.config import get_pipeline_settings
from pipeline.errors import BackendUnavailable
from pipeline.types import Classification

ARTEFACT_DIR = Path(__file__).resolve().parent / "artefacts"
CURRENT_FILE = "CURRENT"
ARTEFACT_FORMAT = 1


@dataclass
class CategoryModel:
    featurizer: Featurizer
    classifier: Any  # predict_proba(X) and classes_: models.linear.CalibratedLinear in trained artefacts
    rules: RuleSet
    model_version: str
    threshold: float
    meta: dict

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def predict_proba(self, lines: Sequence[Line]) -> np.ndarray:
        """Model probabilities (rows: lines, columns: ``classes``), ignoring the rules."""
        return self.classifier.predict_proba(self.featurizer.transform(lines))

    def classify(self, seller_name: str | None, items: Iterable[Any], kind: Any = None, amount: Any = None,
                 in_trip: bool | None = None) -> Classification:
        return self.classify_batch([{"seller_name": seller_name, "items": items, "kind": kind, "amount": amount,
                                     "in_trip": in_trip}])[0]

    def classify_batch(self, rows: Iterable[Any], *, rules: bool = True) -> list[Classification]:
        """``rules=False`` skips the deterministic facts (used to evaluate the model alone)."""
        lines, trips = [], []
        for row in rows:
            line, in_trip = _as_line(row)
            lines.append(line)
            trips.append(in_trip)
        decided = [self.rules.decide(line.items, line.kind, line.seller_name) if rules else None for line in lines]
        todo = [i for i, d in enumerate(decided) if d is None]
        results: list[Classification | None] = [None] * len(lines)
        if todo:
            proba = self.predict_proba([lines[i] for i in todo])
            best = proba.argmax(axis=1)
            classes = self.classes
            for j, i in enumerate(todo):
                p = float(proba[j, best[j]])
                results[i] = Classification(apply_trip(classes[best[j]], trips[i]), min(1.0, max(0.0, p)),
                                            p < self.threshold, self.model_version, "model")
        for i, d in enumerate(decided):
            if d is not None:
                results[i] = Classification(apply_trip(d, trips[i]), 1.0, False, self.model_version, "rule")
        return results  # type: ignore[return-value]

    def classify_lines(self, seller_name: str | None, items: Iterable[Any], kind: Any = None, amount: Any = None,
                       in_trip: bool | None = None) -> list[Classification]:
        return self.classify_lines_batch([{"seller_name": seller_name, "items": items, "kind": kind,
                                           "amount": amount, "in_trip": in_trip}])[0]

    def classify_lines_batch(self, rows: Iterable[Any]) -> list[list[Classification]]:
        queries: list[Any] = []
        plan: list[list[int]] = []
        for row in rows:
            get = _getter(row)
            items = list(get("items") or ())
            whole = len(queries)
            queries.append(row)
            if len(items) <= 1:
                plan.append([whole])
                continue
            indices = []
            for item in items:
                text = _item_text(item)
                if uninformative(text):
                    indices.append(whole)
                    continue
                indices.append(len(queries))
                queries.append({"seller_name": get("seller_name"), "items": [text], "kind": get("kind"),
                                "amount": _line_amount(item), "in_trip": get("in_trip")})
            plan.append(indices)
        results = self.classify_batch(queries)
        return [[results[i] for i in indices] for indices in plan]


def _item_text(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        return str(item.get("name") or "")
    return str(getattr(item, "name", item) or "")


def _amount(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _line_amount(item: Any) -> Decimal | None:
    """The gross amount of one item line when it is known (ex-tax amount plus tax)."""
    if isinstance(item, str):
        return None
    get = _getter(item)
    amount, tax = _amount(get("amount")), _amount(get("tax_amount"))
    if amount is None:
        return None
    return amount + tax if tax is not None else amount


def _getter(row: Any):
    return row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))


def _as_line(row: Any) -> tuple[Line, bool | None]:
    get = _getter(row)
    kind = get("kind")
    kind = getattr(kind, "value", kind)
    items = tuple(_item_text(i) for i in (get("items") or ()))
    seller = get("seller_name")
    return Line(str(seller) if seller else None, items, str(kind) if kind else None, _amount(get("amount"))), \
        get("in_trip")


# ------------------------------------------------------------------------------------------------ artefacts

def artefact_name(model_version: str) -> str:
    return f"category-{model_version}.joblib"


def resolve_model_dir() -> Path:
    """Where ``load_model()`` looks: the configured ``model_dir``, the runtime store when it has a model, or the
    shipped artefacts."""
    explicit = get_pipeline_settings().model_dir
    if explicit is not None:
        return Path(explicit)
    runtime = get_model_settings().runtime_dir
    if (runtime / CURRENT_FILE).is_file():
        return runtime
    return ARTEFACT_DIR


def current_artefact(model_dir: Path | None = None) -> Path:
    folder = model_dir or resolve_model_dir()
    pointer = Path(folder) / CURRENT_FILE
    if not pointer.is_file():
        raise BackendUnavailable(f"no expense-category model in {folder} (missing {CURRENT_FILE}): run `make train`")
    return Path(folder) / pointer.read_text(encoding="utf-8").strip()


def save_artefact(model: CategoryModel, path: Path) -> None:
    payload = {"format": ARTEFACT_FORMAT, "model_version": model.model_version, "featurizer": model.featurizer,
               "classifier": model.classifier, "rules": model.rules.to_dict(), "meta": model.meta}
    joblib.dump(payload, path, compress=3)


@lru_cache(maxsize=4)
def _load(path: Path) -> CategoryModel:
    if not path.is_file():
        raise BackendUnavailable(f"expense-category model not found at {path}: run `make train`")
    payload = joblib.load(path)
    if payload.get("format") != ARTEFACT_FORMAT:
        raise BackendUnavailable(f"{path} has artefact format {payload.get('format')}, expected {ARTEFACT_FORMAT}: "
                                 "run `make train`")
    return CategoryModel(payload["featurizer"], payload["classifier"], RuleSet.from_dict(payload["rules"]),
                         payload["model_version"], get_pipeline_settings().abstain_threshold, payload["meta"])


def load_model(path: Path | None = None) -> CategoryModel:
    return _load(Path(path).resolve() if path is not None else current_artefact().resolve())


load_model.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
