"""Finance corrections as labelled training examples for the cost-attribution model.

Contract:
* ``LabelledExample``: one corrected invoice line as the classifier saw it (seller name, the line's item text,
  invoice kind, the line's amount), the category finance chose (``label``), the trip context it was judged in,
  and where it came from (``ref``, ``actor``, ``at``). ``to_json``/``from_json`` round-trip it (amount as text).
* ``training_rows(examples)``: the examples that teach the model, as ``models.dataset.Row`` (split ``train``).
  A ride corrected to ``travel.transport`` inside a trip is left out: the trip, not the line, decided it
  (``models.rules.apply_trip``), and learning it would turn every local ride into travel.
* ``examples_hash(examples)``: SHA-256 over the training-relevant content, independent of ``ref``/``actor``/``at``
  and of order; ``""`` for no examples. ``combined_hash(base, examples)`` is the data hash of base + corrections
  (the base hash itself when there are none, so a retrain without corrections reproduces the shipped version).
* ``rule_overrides(examples, rules)``: normalised seller names for which a correction contradicts what the
  deterministic rules decide; the retrained model's ``RuleSet`` leaves those sellers to the model.
* ``read_jsonl(path)`` / ``write_jsonl(path, examples)`` for ``python -m models.train --corrections FILE``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from models.dataset import Row
from models.features import normalize
from models.rules import RuleSet


@dataclass(frozen=True)
class LabelledExample:
    seller_name: str | None
    items: tuple[str, ...]
    kind: str | None
    amount: Decimal | None
    label: str
    in_trip: bool | None = None
    ref: str = ""  # e.g. "correction:12"
    actor: str = ""
    at: str = ""  # ISO-8601 time of the correction

    def to_json(self) -> dict:
        return {"seller_name": self.seller_name, "items": list(self.items), "kind": self.kind,
                "amount": None if self.amount is None else str(self.amount), "label": self.label,
                "in_trip": self.in_trip, "ref": self.ref, "actor": self.actor, "at": self.at}

    @classmethod
    def from_json(cls, data: dict) -> LabelledExample:
        amount = data.get("amount")
        return cls(data.get("seller_name"), tuple(str(i) for i in data.get("items") or ()), data.get("kind"),
                   None if amount in (None, "") else Decimal(str(amount)), str(data["label"]), data.get("in_trip"),
                   str(data.get("ref") or ""), str(data.get("actor") or ""), str(data.get("at") or ""))

    @property
    def teaches(self) -> bool:
        return not (self.in_trip and self.label == "travel.transport")


def training_rows(examples: Iterable[LabelledExample]) -> list[Row]:
    return [Row(e.seller_name, e.items, e.kind, e.amount, e.label, "train") for e in examples if e.teaches]


def examples_hash(examples: Sequence[LabelledExample]) -> str:
    rows = training_rows(examples)
    if not rows:
        return ""
    lines = sorted(json.dumps(r.to_json(), ensure_ascii=False, sort_keys=True) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def combined_hash(base_hash: str, examples: Sequence[LabelledExample]) -> str:
    extra = examples_hash(examples)
    if not extra:
        return base_hash
    return hashlib.sha256(f"{base_hash}+corrections:{extra}".encode()).hexdigest()


def rule_overrides(examples: Iterable[LabelledExample], rules: RuleSet) -> frozenset[str]:
    out = set()
    for e in examples:
        seller = normalize(e.seller_name)
        if not seller or not e.teaches:
            continue
        decided = rules.decide(e.items, e.kind)
        if decided is not None and decided != e.label:
            out.add(seller)
    return frozenset(out)


def read_jsonl(path: Path) -> list[LabelledExample]:
    with open(path, encoding="utf-8") as fh:
        return [LabelledExample.from_json(json.loads(line)) for line in fh if line.strip()]


def write_jsonl(path: Path, examples: Iterable[LabelledExample]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples)
