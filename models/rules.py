"""Deterministic facts that decide an expense category before the statistical model (DOMAIN §7).

Contract: ``RuleSet.from_yaml(path)`` loads ``models/rules.yaml``; ``RuleSet.decide(items, kind)`` returns a
category code or ``None`` (the model decides). Order: the invoice kind (rail/air tickets, toll e-invoices, taxi
receipts, ride-hailing trip tables), then the printed ``*简称*`` (exact dictionary), then exact ``(简称, 名称)``
pairs. An invoice's lines must agree; lines hitting different categories are resolved by ``priority`` (住宿 beats
餐饮 on a hotel bill) or left to the model. A line with no rule hit leaves the invoice to the model unless it
carries no information (``(详见销货清单)``, 合计 ...). ``seller_overrides`` (normalised seller names, filled by
retraining when a finance correction contradicts a rule for that seller) leaves that seller's invoices to the model:
``decide(items, kind, seller_name)`` returns ``None`` for them.

``apply_trip(category, in_trip)``: a local ride (``local_transport``) inside an approved trip is travel transport
(``*运输服务*客运服务费`` during a trip -> 差旅费-交通); unknown trip context keeps ``local_transport``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from models.features import normalize, parse_item

RULES_PATH = Path(__file__).resolve().parent / "rules.yaml"
_UNINFORMATIVE = {"", "详见销货清单", "(详见销货清单)", "详见清单", "(详见清单)", "合计", "小计", "折扣"}


@dataclass(frozen=True)
class RuleSet:
    kinds: dict[str, str]
    jiancheng: dict[str, str]
    pairs: dict[tuple[str, str], str]
    priority: list[tuple[str, str]] = field(default_factory=list)
    seller_overrides: frozenset[str] = frozenset()

    @classmethod
    def from_dict(cls, data: dict) -> RuleSet:
        return cls(
            kinds={str(k): str(v) for k, v in data["kinds"].items()},
            jiancheng={normalize(k): str(v) for k, v in data["jiancheng"].items()},
            pairs={(normalize(j), normalize(n)): str(c) for j, n, c in data["pairs"]},
            priority=[(str(a), str(b)) for a, b in data.get("priority", [])],
            seller_overrides=frozenset(normalize(s) for s in data.get("seller_overrides", [])),
        )

    @classmethod
    def from_yaml(cls, path: Path = RULES_PATH) -> RuleSet:
        return cls.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")))

    def to_dict(self) -> dict:
        return {"kinds": dict(self.kinds), "jiancheng": dict(self.jiancheng),
                "pairs": [[j, n, c] for (j, n), c in self.pairs.items()], "priority": [list(p) for p in self.priority],
                "seller_overrides": sorted(self.seller_overrides)}

    def item_category(self, item: str) -> str | None:
        jc, name = parse_item(item)
        if not jc:
            return None
        return self.jiancheng.get(jc) or self.pairs.get((jc, name))

    def _resolve(self, categories: set[str]) -> str | None:
        if len(categories) == 1:
            return next(iter(categories))
        if len(categories) == 2:
            for winner, loser in self.priority:
                if categories == {winner, loser}:
                    return winner
        return None

    def decide(self, items: list[str] | tuple[str, ...], kind: str | None, seller_name: str | None = None
               ) -> str | None:
        if self.seller_overrides and seller_name and normalize(seller_name) in self.seller_overrides:
            return None
        if kind and kind in self.kinds:
            return self.kinds[kind]
        hits: set[str] = set()
        for item in items:
            category = self.item_category(item)
            if category is None:
                if normalize(item) not in _UNINFORMATIVE:
                    return None
                continue
            hits.add(category)
        return self._resolve(hits) if hits else None


def uninformative(item: str) -> bool:
    """A line that says nothing about the category: ``(详见销货清单)``, 合计, a blank."""
    return normalize(item) in _UNINFORMATIVE


def apply_trip(category: str, in_trip: bool | None) -> str:
    if in_trip and category == "local_transport":
        return "travel.transport"
    return category
