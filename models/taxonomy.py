"""The expense-category taxonomy (``models/taxonomy.yaml``) and the per-company account-code hook.

Contract: ``load_taxonomy(path=None) -> Taxonomy`` reads the YAML (cached per path). Category ``code`` values are
stable identifiers. ``Taxonomy.account_for(code, company=None, overrides=None)`` returns the accounting code for a
category: ``overrides`` (a caller-supplied mapping, e.g. from a company's settings) first, then
``accounts.companies[company]``, then ``accounts.default``; ``None`` when none is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

TAXONOMY_PATH = Path(__file__).resolve().parent / "taxonomy.yaml"


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    model: bool = True  # False: never predicted from an invoice (computed elsewhere)
    parent: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    default_accounts: Mapping[str, str]
    company_accounts: Mapping[str, Mapping[str, str]]

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.categories]

    @property
    def model_codes(self) -> list[str]:
        return [c.code for c in self.categories if c.model]

    def get(self, code: str) -> Category:
        for c in self.categories:
            if c.code == code:
                return c
        raise KeyError(f"unknown expense category {code!r}")

    def account_for(self, code: str, company: str | None = None,
                    overrides: Mapping[str, str] | None = None) -> str | None:
        self.get(code)
        if overrides and code in overrides:
            return overrides[code]
        if company is not None and code in self.company_accounts.get(company, {}):
            return self.company_accounts[company][code]
        return self.default_accounts.get(code)


@lru_cache(maxsize=4)
def load_taxonomy(path: Path | None = None) -> Taxonomy:
    data = yaml.safe_load((path or TAXONOMY_PATH).read_text(encoding="utf-8"))
    cats = tuple(Category(c["code"], c["name_zh"], c["name_en"], bool(c.get("model", True)), c.get("parent"))
                 for c in data["categories"])
    accounts = data.get("accounts") or {}
    companies = {str(k): {str(c): str(a) for c, a in v.items()} for k, v in (accounts.get("companies") or {}).items()}
    default = {str(c): str(a) for c, a in (accounts.get("default") or {}).items()}
    return Taxonomy(cats, default, companies)
