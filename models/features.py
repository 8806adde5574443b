"""Text normalisation and the feature extractor of the cost-attribution model.

Contract:
* ``normalize(text)``: NFKC (full-width -> half-width, ``＊`` -> ``*``), whitespace removed, Latin lower-cased.
* ``parse_item(text) -> (jiancheng, name)``: splits ``*简称*名称`` (DOMAIN §1.6); ``("", text)`` when the line
  prints no 简称. Both parts are normalised.
* ``Line``: one invoice as the model sees it. ``Featurizer`` turns a list of ``Line`` into one sparse matrix:
  简称 tokens, character 1-3-grams of the item text, character 1-3-grams of the seller name, invoice kind and an
  amount bucket (order of magnitude in thirds, computed in Decimal). It is a scikit-learn transformer and pickles
  with the model artefact. ``exact_sellers`` (the sellers finance corrected) adds one indicator feature per such
  seller, so that what a correction teaches can attach to that seller rather than to n-grams other sellers share;
  without them (the shipped baseline) the features are exactly the four blocks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

_ITEM_RE = re.compile(r"^\*([^*]+)\*(.*)$")
_SPACE_RE = re.compile(r"\s+")
_THIRD = Decimal(3)


def normalize(text: str | None) -> str:
    if not text:
        return ""
    return _SPACE_RE.sub("", unicodedata.normalize("NFKC", text)).lower()


def parse_item(text: str | None) -> tuple[str, str]:
    t = normalize(text)
    m = _ITEM_RE.match(t)
    if m:
        return m.group(1), m.group(2).strip("*")
    return "", t.strip("*")


def amount_bucket(amount: Decimal | None) -> str:
    """``"none"``, ``"le0"`` or floor(3*log10(amount)) as text: 10 yuan -> "3", 215 -> "6", 250 -> "7"."""
    if amount is None:
        return "none"
    try:
        if amount <= 0:
            return "le0"
        return str(int((amount.log10() * _THIRD).to_integral_value(rounding=ROUND_FLOOR)))
    except (InvalidOperation, AttributeError):
        return "none"


@dataclass(frozen=True)
class Line:
    seller_name: str | None
    items: tuple[str, ...]
    kind: str | None = None
    amount: Decimal | None = None


def _tokens(doc: list[str]) -> list[str]:
    return doc


def _docs(lines: Sequence[Line]) -> tuple[list[list[str]], list[str], list[str], list[list[str]]]:
    jc_docs, item_docs, seller_docs, meta_docs = [], [], [], []
    for line in lines:
        parsed = [parse_item(i) for i in line.items]
        jc_docs.append(["jc=" + jc for jc, _ in parsed if jc])
        item_docs.append("|".join(f"{jc}/{name}" if jc else name for jc, name in parsed))
        seller_docs.append(normalize(line.seller_name))
        meta_docs.append([f"kind={line.kind or 'none'}", f"amt={amount_bucket(line.amount)}"])
    return jc_docs, item_docs, seller_docs, meta_docs


class Featurizer(BaseEstimator, TransformerMixin):
    """Four vectorizers side by side; ``weights`` scales each block (jiancheng, items, seller, meta)."""

    def __init__(self, weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 0.4), min_df: int = 2,
                 max_features: int = 60000, exact_sellers: tuple[str, ...] = (), exact_seller_weight: float = 1.0):
        self.weights = weights
        self.min_df = min_df
        self.max_features = max_features
        self.exact_sellers = exact_sellers
        self.exact_seller_weight = exact_seller_weight

    def _make(self) -> None:
        self.jc_ = CountVectorizer(analyzer=_tokens, binary=True)
        self.items_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=self.min_df,
                                      max_features=self.max_features, dtype=np.float32)
        self.seller_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=self.min_df,
                                       max_features=self.max_features, dtype=np.float32)
        self.meta_ = CountVectorizer(analyzer=_tokens, binary=True)

    def fit(self, lines: Sequence[Line], y=None) -> Featurizer:
        self._make()
        jc, items, seller, meta = _docs(lines)
        self.jc_.fit(jc)
        self.items_.fit(items)
        self.seller_.fit(seller)
        self.meta_.fit(meta)
        names = sorted({normalize(s) for s in self.exact_sellers} - {""})
        self.exact_ = {name: i for i, name in enumerate(names)}
        return self

    def _exact_block(self, sellers: list[str]) -> sp.csr_matrix:
        rows = [i for i, s in enumerate(sellers) if s in self.exact_]
        cols = [self.exact_[sellers[i]] for i in rows]
        data = np.full(len(rows), getattr(self, "exact_seller_weight", 1.0), dtype=np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(sellers), len(self.exact_)), dtype=np.float32)

    def transform(self, lines: Sequence[Line]) -> sp.csr_matrix:
        jc, items, seller, meta = _docs(lines)
        blocks = [self.jc_.transform(jc), self.items_.transform(items), self.seller_.transform(seller),
                  self.meta_.transform(meta)]
        blocks = [b * w for b, w in zip(blocks, self.weights, strict=True)]
        if getattr(self, "exact_", None):  # artefacts trained before this existed have no attribute at all
            blocks.append(self._exact_block(seller))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    @property
    def n_features(self) -> int:
        return sum(len(v.vocabulary_) for v in (self.jc_, self.items_, self.seller_, self.meta_)) + \
            len(getattr(self, "exact_", {}))
