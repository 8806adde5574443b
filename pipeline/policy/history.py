"""What the history-dependent rules (R3 duplicates, R12 splitting, R13 sequential numbers) ask about other claims.

``InvoiceHistory`` is the interface; the API backs it with indexed queries, ``InMemoryHistory`` backs the CLI,
tests and benchmark with dicts. All three are index lookups, never scans:

* ``claim_holding(key) -> str | None``: the doc_no of another live claim (attached, submitted or reimbursed; not a
  rejected or withdrawn one) holding an invoice under ``key`` — any key from ``facts.duplicate_keys``. The API keeps
  one ledger row per key (unique index), so the same ticket as PDF, OFD, paper 行程单 … collides.
  SQL: ``SELECT claim_no FROM invoice_ledger WHERE key = :key AND claim_id <> :this_claim``.
* ``invoices_from_seller(seller, since, until=None) -> Sequence[PastInvoice]``: invoices of other claims (any
  employee) from the seller (``facts.seller_ref``) whose service date is in ``[since, until]`` (no upper bound when
  ``until`` is None), oldest first.
  SQL: ``... WHERE seller_ref = :seller AND service_date BETWEEN :since AND :until AND claim_id <> :this_claim``
  over an index on ``(seller_ref, service_date)``.
* ``invoices_near_number(seller, code, number, max_gap) -> Sequence[PastInvoice]``: invoices of other claims from
  the seller with the same 发票代码 (None for 数电) and a number of the same width within ``max_gap`` of ``number``
  (not equal to it). SQL: ``... WHERE seller_ref = :seller AND code IS NOT DISTINCT FROM :code AND length(number)
  = :width AND number BETWEEN :low AND :high`` with ``low``/``high`` zero-padded to the width (digit strings of one
  width order like numbers), over an index on ``(seller_ref, code, number)``.

An implementation is bound to the claim being checked (it excludes that claim's own invoices).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

from pipeline.policy.facts import duplicate_keys, normalize_id, seller_ref, service_date
from pipeline.types import Invoice, InvoiceKind


@dataclass(frozen=True)
class PastInvoice:
    """An invoice already on a claim, as R12/R13 need it."""

    claim_no: str
    employee: str | None
    seller: str
    service_date: date
    amount: Decimal | None
    number: str | None  # normalised invoice number
    code: str | None  # legacy 发票代码
    kind: InvoiceKind


class InvoiceHistory(Protocol):
    def claim_holding(self, key: str) -> str | None: ...

    def invoices_from_seller(self, seller: str, since: date,
                             until: date | None = None) -> Sequence[PastInvoice]: ...

    def invoices_near_number(self, seller: str, code: str | None, number: str,
                             max_gap: int) -> Sequence[PastInvoice]: ...


class NoHistory:
    """No other claims: nothing is a duplicate."""

    def claim_holding(self, key: str) -> str | None:
        return None

    def invoices_from_seller(self, seller: str, since: date,
                             until: date | None = None) -> Sequence[PastInvoice]:
        return ()

    def invoices_near_number(self, seller: str, code: str | None, number: str,
                             max_gap: int) -> Sequence[PastInvoice]:
        return ()


class InMemoryHistory:
    """Dict-indexed history: ``add`` invoices of past claims, ``release`` a rejected/withdrawn claim."""

    def __init__(self, exclude_claim: str | None = None) -> None:
        self.exclude_claim = exclude_claim
        self._holding: dict[str, list[str]] = {}
        self._by_seller: dict[str, list[PastInvoice]] = {}  # each list sorted by service date
        self._dates: dict[str, list[date]] = {}
        # (seller, code, width) -> sorted numbers, and the invoices in the same order
        self._numbers: dict[tuple[str, str | None, int], tuple[list[int], list[PastInvoice]]] = {}

    def add(self, inv: Invoice, claim_no: str, employee: str | None = None) -> None:
        for key in duplicate_keys(inv):
            holders = self._holding.setdefault(key, [])
            if claim_no not in holders:
                holders.append(claim_no)
        seller, day = seller_ref(inv), service_date(inv)
        if seller is None or day is None:
            return
        number, code = inv.get("invoice_number"), inv.get("invoice_code")
        past = PastInvoice(claim_no=claim_no, employee=employee, seller=seller, service_date=day, amount=inv.total,
                           number=normalize_id(number) if number else None,
                           code=normalize_id(code) if code else None, kind=inv.kind)
        dates = self._dates.setdefault(seller, [])
        at = bisect.bisect_right(dates, day)
        dates.insert(at, day)
        self._by_seller.setdefault(seller, []).insert(at, past)
        if past.number and past.number.isdigit():
            values, rows = self._numbers.setdefault((seller, past.code, len(past.number)), ([], []))
            at = bisect.bisect_right(values, int(past.number))
            values.insert(at, int(past.number))
            rows.insert(at, past)

    def release(self, claim_no: str) -> None:
        """The claim was rejected or withdrawn: its invoices are free again."""
        for key in [k for k, holders in self._holding.items() if claim_no in holders]:
            self._holding[key].remove(claim_no)
            if not self._holding[key]:
                del self._holding[key]
        for seller, rows in self._by_seller.items():
            keep = [i for i, r in enumerate(rows) if r.claim_no != claim_no]
            if len(keep) != len(rows):
                self._by_seller[seller] = [rows[i] for i in keep]
                self._dates[seller] = [self._dates[seller][i] for i in keep]
        for key, (values, rows) in self._numbers.items():
            keep = [i for i, r in enumerate(rows) if r.claim_no != claim_no]
            self._numbers[key] = ([values[i] for i in keep], [rows[i] for i in keep])

    def claim_holding(self, key: str) -> str | None:
        for holder in self._holding.get(key, ()):
            if holder != self.exclude_claim:
                return holder
        return None

    def invoices_from_seller(self, seller: str, since: date,
                             until: date | None = None) -> Sequence[PastInvoice]:
        dates = self._dates.get(seller)
        if not dates:
            return ()
        stop = len(dates) if until is None else bisect.bisect_right(dates, until)
        rows = self._by_seller[seller][bisect.bisect_left(dates, since):stop]
        if self.exclude_claim is not None:
            rows = [r for r in rows if r.claim_no != self.exclude_claim]
        return rows


    def invoices_near_number(self, seller: str, code: str | None, number: str,
                             max_gap: int) -> Sequence[PastInvoice]:
        found = self._numbers.get((seller, code, len(number)))
        if not found or not number.isdigit():
            return ()
        values, rows = found
        value = int(number)
        low = bisect.bisect_left(values, value - max_gap)
        high = bisect.bisect_right(values, value + max_gap)
        if low >= high:
            return ()
        return [rows[i] for i in range(low, high)
                if values[i] != value and rows[i].claim_no != self.exclude_claim]


class CallableHistory(NoHistory):
    """Adapts the older ``is_duplicate(business_key) -> doc_no | None`` callable; no seller history."""

    def __init__(self, is_duplicate) -> None:
        self._is_duplicate = is_duplicate

    def claim_holding(self, key: str) -> str | None:
        return self._is_duplicate(key)
