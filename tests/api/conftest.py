"""Fixtures for the API tests: a database per backend, an organisation, fake extraction, loopback HTTP servers.

Every database test runs on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres; override with
REIMBURSE_TEST_PG_URL). Each test session creates its own PostgreSQL database and drops it at the end. When the
server is unreachable the PostgreSQL half is skipped, unless CI is set: then it fails.

Extraction is faked (``pipeline.runner.extract_bytes`` replaced) so these tests run in seconds: a "PDF" made by
``fake_pdf(...)`` carries the invoice facts as JSON after its header, and the fake turns them into a 数电 普票
``Invoice`` shaped like the real extractor's output. The real pipeline end to end is tested elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session

from pipeline.types import Classification, Extraction, FieldSource, Invoice, InvoiceKind, LineItem

from api.db import init_db, make_engine
from api.services import load_org
from models import category
from pipeline.errors import BackendUnavailable


COMPANY_NAME = "武汉市车城物流有限公司"
COMPANY_TAX_ID = "914201007483062457"
ORG = {
    "company": {"legal_name": COMPANY_NAME, "tax_id": COMPANY_TAX_ID},
    "departments": [{"code": "D01", "name": "运输部", "cost_center": "CC1001"}],
    "employees": [
        {"emp_no": "E001", "name": "张三", "department": "D01", "grade": "G4_staff"},
        {"emp_no": "E002", "name": "李四", "department": "D01", "grade": "G3_manager", "cost_center": "CC1009"},
    ],
}


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    return lambda: Session(engine)


@pytest.fixture
def org(session_factory):
    with session_factory() as session:
        load_org(session, ORG)
    return ORG


@pytest.fixture
def session(session_factory, org) -> Iterator[Session]:
    with session_factory() as session:
        yield session


# ---------------------------------------------------------------- fake extraction

def fake_pdf(number: str, total: str = "106.00", *, rate: str = "0.06", item: str = "*餐饮服务*餐费",
             seller: str = "武汉某某餐饮管理有限公司", buyer: str = COMPANY_NAME, buyer_tax_id: str = COMPANY_TAX_ID,
             issue_date: str = "2026-03-05", kind: str = InvoiceKind.DIGITAL_NORMAL.value) -> bytes:
    facts = {"number": number, "total": total, "rate": rate, "item": item, "seller": seller, "buyer": buyer,
             "buyer_tax_id": buyer_tax_id, "issue_date": issue_date, "kind": kind}
    return b"%PDF-1.7\n%fake invoice for tests\n" + json.dumps(facts, ensure_ascii=False).encode()


def _fake_invoice(facts: dict) -> Invoice:
    total = Decimal(facts["total"])
    rate = Decimal(facts["rate"])
    tax = (total * rate / (1 + rate)).quantize(Decimal("0.01"))
    inv = Invoice(kind=InvoiceKind(facts["kind"]))
    src = FieldSource.TEXT_LAYER
    inv.set("invoice_number", facts["number"], 0.99, src)
    inv.set("issue_date", date.fromisoformat(facts["issue_date"]), 0.99, src)
    inv.set("seller_name", facts["seller"], 0.95, src)
    inv.set("buyer_name", facts["buyer"], 0.95, src)
    inv.set("buyer_tax_id", facts["buyer_tax_id"], 0.97, src)
    inv.set("amount_excl_tax", total - tax, 0.99, src)
    inv.set("tax_amount", tax, 0.99, src)
    inv.set("total_incl_tax", total, 0.99, src)
    inv.items.append(LineItem(facts["item"], total - tax, facts["rate"], tax))
    return inv


def fake_extract_bytes(name: str, data: bytes, settings=None) -> Extraction:
    head, _, payload = data.partition(b"%fake invoice for tests\n")
    if not payload:
        return Extraction(document_name=name, sha256=None, error="no invoice found in this file")
    return Extraction(document_name=name, sha256=None, invoices=[_fake_invoice(json.loads(payload))])


class _StandInClassifier:
    def classify(self, seller_name, items, kind=None, amount=None) -> Classification:
        if any("餐饮" in name for name in items):
            return Classification("entertainment", 0.93, False, "stand-in")
        return Classification("other", 0.31, True, "stand-in")


@pytest.fixture(autouse=True)
def classifier(monkeypatch):
    """The shipped category model; a stand-in only while no trained artefact exists in this checkout."""
    try:
        category.load_model()
    except BackendUnavailable:
        monkeypatch.setattr(category, "load_model", lambda path=None: _StandInClassifier())


@pytest.fixture
def make_pdf():
    """``make_pdf(number, total="106.00", ...)`` -> bytes the fake extractor reads as one invoice."""
    return fake_pdf


@pytest.fixture(autouse=True)
def fake_extraction(monkeypatch):
    """Replaces the real extractor for every API test; returns the fake, to put back after a test swapped it."""
    monkeypatch.setattr("pipeline.runner.extract_bytes", fake_extract_bytes)
    return fake_extract_bytes


@pytest.fixture
def storage_dir(tmp_path) -> Path:
    return tmp_path / "files"


# ---------------------------------------------------------------- policy

POLICY_FILE = Path(__file__).resolve().parents[2] / "samples" / "policy" / "policy.yaml"


@pytest.fixture(autouse=True)
def no_policy(monkeypatch):
    """API tests run with the integrity rules only (R1/R3/R4/R5, straight to OA) unless they ask for ``policy``."""
    from api import policy_service
    monkeypatch.setenv("REIMBURSE_POLICY_FILE", "")
    policy_service.set_policy(None)
    yield
    policy_service.set_policy(None)


@pytest.fixture
def policy(monkeypatch):
    """The demo policy (samples/policy/policy.yaml) in force, for services and for apps built in the test."""
    from api import policy_service
    monkeypatch.setenv("REIMBURSE_POLICY_FILE", str(POLICY_FILE))
    return policy_service.configure(POLICY_FILE)
