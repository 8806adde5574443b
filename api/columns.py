"""Column types that behave the same on SQLite and PostgreSQL.

* ``Money``: ``NUMERIC(14, 2)``; binds and returns ``Decimal`` quantized to the fen. A float, or an amount with
  more than two decimals, is refused at bind time rather than rounded silently. (SQLite keeps NUMERIC values as
  8-byte floats, exact to 15 significant digits; 14 digits of precision round-trip exactly.)
* ``UtcDateTime``: stored as naive UTC; naive values given are taken as UTC; always returned timezone-aware
  (UTC). SQLite has no time zones, so this keeps comparisons identical on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

FEN = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    impl = Numeric(14, 2)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        amount = Decimal(value)
        if amount != amount.quantize(FEN):
            raise ValueError(f"{amount} has more than two decimals; round it before storing")
        return amount.quantize(FEN)

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(FEN)


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
