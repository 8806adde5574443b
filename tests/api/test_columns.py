"""Money and time columns behave identically on SQLite and PostgreSQL: exact Decimals, aware UTC datetimes."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import select

from api.tables import Claim, Employee
from pipeline.claim import ClaimState

AMOUNTS = ["0.10", "0.20", "0.30", "0.01", "999999999999.99", "123456789012.34", "100000000000.01", "-30.99", "0.00"]


def _claim(session, total, doc_no) -> Claim:
    employee = session.exec(select(Employee)).first()
    return Claim(doc_no=doc_no, employee_id=employee.id, reason="r", total=total, total_upper="-")


def test_money_round_trips_exactly(session, session_factory):
    for n, amount in enumerate(AMOUNTS):
        session.add(_claim(session, Decimal(amount), f"BX{n}"))
    session.commit()
    with session_factory() as fresh:
        rows = fresh.exec(select(Claim).order_by(Claim.id)).all()
    assert [(r.total, type(r.total)) for r in rows] == [(Decimal(a), Decimal) for a in AMOUNTS]
    assert [str(r.total) for r in rows] == AMOUNTS
    assert sum(r.total for r in rows[:3]) == Decimal("0.60")  # 0.1 + 0.2 + 0.3, no float drift


@pytest.mark.parametrize("bad", [0.1, "0.10", Decimal("0.105")])
def test_money_refuses_floats_strings_and_sub_fen_amounts(session, bad):
    session.add(_claim(session, bad, "BX-bad"))
    with pytest.raises(StatementError):
        session.commit()


def test_times_come_back_aware_utc(session, session_factory):
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 3, 5, 9, 30, tzinfo=shanghai)
    claim = _claim(session, Decimal("1.00"), "BX-t")
    claim.created_at = at
    session.add(claim)
    session.commit()
    with session_factory() as fresh:
        stored = fresh.exec(select(Claim)).one().created_at
    assert stored == at and stored.tzinfo is UTC and stored.hour == 1


def test_claim_state_is_stored_as_its_value(session, session_factory):
    claim = _claim(session, Decimal("1.00"), "BX-s")
    session.add(claim)
    session.commit()
    with session_factory() as fresh:
        raw = fresh.connection().exec_driver_sql("SELECT state FROM claim").scalar_one()
        assert raw == "draft"
        assert fresh.exec(select(Claim)).one().state is ClaimState.DRAFT
