"""Line-level categories, finance corrections and learning from them, through the HTTP API on both databases.

Retraining runs at a small dataset scale (``REIMBURSE_MODEL_RETRAIN_SCALE``) into a runtime model store in a temp
folder, seeded with the small-scale model trained without corrections, so the quality gate compares like with like.
"""

import json
import shutil
import time
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api import corrections, model_registry, services
from api.app import create_app
from api.document import claim_document
from api.settings import Settings
from api.tables import AuditLog, CategoryCorrection
from models import registry
from models.category import load_model
from pipeline.types import Extraction, FieldSource, Invoice, InvoiceKind, LineItem

SCALE = 0.05
KINGSOFT = "北京金山办公软件股份有限公司"  # WPS memberships: software, which the model takes for something else
CANTEEN = "武汉光谷职工食堂餐饮管理有限公司"  # staff canteen: welfare by company policy, entertainment by rule
HOTEL = "上海某某酒店管理有限公司"
BUYER, BUYER_TAX_ID = "武汉市车城物流有限公司", "914201007483062457"
MARK = b"%multi-line invoice for tests\n"


# ---------------------------------------------------------------- a fake extractor for multi-line invoices

def invoice_pdf(number: str, items: list[tuple[str, str]], seller: str, *, rate: str = "0.06",
                issue_date: str = "2026-03-05", kind: str = InvoiceKind.DIGITAL_NORMAL.value) -> bytes:
    """``items``: (printed name, tax-inclusive amount) per line."""
    facts = {"number": number, "items": items, "seller": seller, "rate": rate, "issue_date": issue_date,
             "kind": kind}
    return b"%PDF-1.7\n" + MARK + json.dumps(facts, ensure_ascii=False).encode()


def _invoice(facts: dict) -> Invoice:
    rate = Decimal(facts["rate"])
    inv = Invoice(kind=InvoiceKind(facts["kind"]))
    src = FieldSource.TEXT_LAYER
    total = Decimal("0.00")
    for name, gross in facts["items"]:
        gross = Decimal(gross)
        tax = (gross * rate / (1 + rate)).quantize(Decimal("0.01"))
        inv.items.append(LineItem(name, gross - tax, facts["rate"], tax))
        total += gross
    tax_total = sum((i.tax_amount for i in inv.items), Decimal("0.00"))
    for key, value in (("invoice_number", facts["number"]), ("issue_date", date.fromisoformat(facts["issue_date"])),
                       ("seller_name", facts["seller"]), ("buyer_name", BUYER), ("buyer_tax_id", BUYER_TAX_ID),
                       ("amount_excl_tax", total - tax_total), ("tax_amount", tax_total),
                       ("total_incl_tax", total)):
        inv.set(key, value, 0.99, src)
    return inv


@pytest.fixture(autouse=True)
def multi_line_extraction(fake_extraction, monkeypatch):
    def extract(name, data, settings=None):
        _, found, payload = data.partition(MARK)
        if not found:
            return fake_extraction(name, data, settings)
        return Extraction(document_name=name, sha256=None, invoices=[_invoice(json.loads(payload))])

    monkeypatch.setattr("pipeline.runner.extract_bytes", extract)


# ---------------------------------------------------------------- a small runtime model store

@pytest.fixture(scope="module")
def baseline_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("baseline") / "models"
    outcome = registry.retrain([], runtime_dir=folder, shared=None, scale=SCALE, force=True)
    return folder, outcome.version


@pytest.fixture
def store(tmp_path, monkeypatch, baseline_store):
    template, version = baseline_store
    folder = tmp_path / "models"
    shutil.copytree(template, folder)
    monkeypatch.setenv("REIMBURSE_MODEL_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("REIMBURSE_MODEL_RETRAIN_SCALE", str(SCALE))
    monkeypatch.setenv("REIMBURSE_MODEL_RETRAIN_USE_SHARED", "false")
    assert load_model().model_version == version
    return version


@pytest.fixture
def client(database_url, org, storage_dir, store):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None)
    with TestClient(create_app(settings)) as client:
        yield client


_numbers = iter(range(10**6))


def number() -> str:
    return f"2642200000{next(_numbers):010d}"


def upload_one(client, pdf: bytes) -> dict:
    response = client.post("/api/employees/E001/uploads", files=[("files", ("inv.pdf", pdf, "application/pdf"))])
    assert response.status_code == 201, response.text
    [uploaded] = response.json()
    [invoice] = uploaded["invoices"]
    return invoice


def correct(client, invoice_id: int, line_no: int, category: str, **extra):
    return client.post(f"/api/invoices/{invoice_id}/lines/{line_no}/category",
                       json={"category": category, "actor": "F001", **extra})


# ---------------------------------------------------------------- the learning loop


def test_a_seller_the_model_got_wrong_is_labelled_right_after_corrections_and_a_retrain(client, store):
    before_kingsoft = upload_one(client, invoice_pdf(number(), [("*生产生活服务*会员费", "98.00")], KINGSOFT))
    [line] = before_kingsoft["lines"]
    assert line["category"] != "software_it" and line["model_version"] == store
    canteen_before = upload_one(client, invoice_pdf(number(), [("*餐饮服务*餐费", "640.00")], CANTEEN))
    assert canteen_before["lines"][0]["category"] == "entertainment"

    taught = [(KINGSOFT, "*生产生活服务*会员费", "89.00", "software_it"),
              (KINGSOFT, "*现代服务*会员服务费", "179.00", "software_it"),
              (KINGSOFT, "*生产生活服务*超级会员", "299.00", "software_it"),
              (CANTEEN, "*餐饮服务*工作餐", "560.00", "welfare"),
              (CANTEEN, "*餐饮服务*员工午餐", "1200.00", "welfare"),
              (CANTEEN, "*餐饮服务*餐费", "830.00", "welfare")]
    for seller, item, amount, label in taught:
        invoice = upload_one(client, invoice_pdf(number(), [(item, amount)], seller))
        response = correct(client, invoice["id"], 1, label, reason="公司口径")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["line"]["category"] == label and body["line"]["source"] == "manual"
        assert body["correction"]["previous_model_version"] == store and body["correction"]["seller_name"] == seller
    assert len(client.get("/api/corrections").json()) == 6

    outcome = client.post("/api/models/retrain", json={"actor": "F001"})
    assert outcome.status_code == 200, outcome.text
    outcome = outcome.json()
    assert outcome["status"] == "promoted", outcome["reason"]
    assert outcome["previous"] == store and outcome["corrections"] == 6
    learnt = outcome["version"]
    status = client.get("/api/models").json()
    assert status["version"] == learnt and {v["version"] for v in status["versions"]} >= {store, learnt}

    after = upload_one(client, invoice_pdf(number(), [("*生产生活服务*年度会员费", "128.00")], KINGSOFT))["lines"][0]
    assert (after["category"], after["abstained"], after["model_version"]) == ("software_it", False, learnt)
    canteen = upload_one(client, invoice_pdf(number(), [("*餐饮服务*餐费", "640.00")], CANTEEN))["lines"][0]
    assert (canteen["category"], canteen["abstained"]) == ("welfare", False)
    other = upload_one(client, invoice_pdf(number(), [("*餐饮服务*餐费", "640.00")], "北京全聚德烤鸭股份有限公司"))
    assert other["lines"][0]["category"] == "entertainment"

    rolled = client.post("/api/models/rollback", json={"actor": "F001"})
    assert rolled.json() == {"previous": learnt, "current": store}
    again = upload_one(client, invoice_pdf(number(), [("*生产生活服务*年度会员费", "128.00")], KINGSOFT))["lines"][0]
    assert again["model_version"] == store


def test_retrain_if_due_and_the_scheduler(session_factory, org, storage_dir, store):
    assert model_registry.retrain_if_due(session_factory) is None  # no corrections: nothing to learn
    with session_factory() as session:
        [uploaded] = services.upload_files(session, "E001", [("k.pdf", invoice_pdf(
            number(), [("*生产生活服务*会员费", "89.00")], KINGSOFT))], storage_dir=storage_dir)
        corrections.correct_line(session, uploaded.invoices[0].id, 1, "software_it", "F001")

    scheduler = model_registry.RetrainScheduler(session_factory, interval_seconds=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 120
        while scheduler.last_outcome is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert scheduler.last_outcome is not None and scheduler.last_outcome.status == "promoted"
    assert registry.history()[-1]["actor"] == "scheduler"
    assert model_registry.retrain_if_due(session_factory) is None  # those corrections are learnt


def test_the_scheduler_starts_only_when_enabled(session_factory, monkeypatch):
    assert model_registry.start_scheduler(session_factory) is None
    monkeypatch.setenv("REIMBURSE_MODEL_RETRAIN_ENABLED", "true")
    scheduler = model_registry.start_scheduler(session_factory)
    try:
        assert scheduler is not None and scheduler._thread.is_alive()
    finally:
        scheduler.stop()


# ---------------------------------------------------------------- corrections on claims


def test_hotel_bill_with_breakfast_gives_two_claim_lines_and_a_correction_regroups_them(client, session_factory):
    hotel = upload_one(client, invoice_pdf(number(), [("*住宿服务*住宿费", "400.00"), ("*餐饮服务*早餐", "50.00")],
                                           HOTEL))
    assert [(x["line_no"], x["category"], x["amount"]) for x in hotel["lines"]] == [
        (1, "travel.lodging", "400.00"), (2, "entertainment", "50.00")]
    claim = client.post("/api/claims", json={"employee_no": "E001", "reason": "上海出差",
                                             "invoice_ids": [hotel["id"]]}).json()
    assert [(x["category"], x["amount"]) for x in claim["lines"]] == [("travel.lodging", "400.00"),
                                                                      ("entertainment", "50.00")]
    assert claim["total"] == "450.00"
    assert all(x["model_version"] and x["category_source"] == "rule" for x in claim["lines"])

    fixed = correct(client, hotel["id"], 2, "travel.lodging", reason="含早房费")
    assert fixed.status_code == 201 and fixed.json()["claim_updated"] and fixed.json()["claim_id"] == claim["id"]
    claim = client.get(f"/api/claims/{claim['id']}").json()
    [line] = claim["lines"]
    assert (line["category"], line["amount"], line["category_source"], line["abstained"]) == (
        "travel.lodging", "450.00", "manual", False)
    assert claim["total"] == "450.00"
    audit = client.get(f"/api/claims/{claim['id']}/audit").json()
    assert "category entertainment -> travel.lodging" in audit[-1]["detail"] and audit[-1]["actor"] == "F001"
    lines = client.get(f"/api/invoices/{hotel['id']}/lines").json()
    assert [(x["category"], x["source"], x["corrected_by"]) for x in lines] == [
        ("travel.lodging", "rule", None), ("travel.lodging", "manual", "F001")]

    submitted = client.post(f"/api/claims/{claim['id']}/submit", json={"actor": "E001"})
    assert submitted.status_code == 200 and submitted.json()["state"] == "pending_approval"
    late = correct(client, hotel["id"], 1, "meeting")
    assert late.status_code == 201 and not late.json()["claim_updated"]  # the 报销单 has gone to the OA
    assert client.get(f"/api/claims/{claim['id']}").json()["lines"][0]["category"] == "travel.lodging"
    with session_factory() as session:
        stored = session.exec(select(CategoryCorrection).order_by(CategoryCorrection.id)).all()
        assert [(c.line_no, c.previous_category, c.label) for c in stored] == [
            (2, "entertainment", "travel.lodging"), (1, "travel.lodging", "meeting")]
        assert stored[0].amount == Decimal("50.00") and stored[0].item_text == "*餐饮服务*早餐"
        assert stored[0].kind == "digital_normal" and stored[0].reason == "含早房费"
        # Only the latest correction of a line is taught; both lines of the hotel bill are examples.
        examples = corrections.labelled_examples(session)
        assert sorted((e.items, e.label) for e in examples) == [
            (("*住宿服务*住宿费",), "meeting"), (("*餐饮服务*早餐",), "travel.lodging")]
        assert session.exec(select(AuditLog).where(AuditLog.detail.contains("line 1"))).first() is None


def test_rides_inside_the_trip_are_travel_and_outside_local(client):
    inside = upload_one(client, invoice_pdf(number(), [("*运输服务*客运服务费", "46.00")], "滴滴出行科技有限公司",
                                            rate="0.03", issue_date="2026-03-03"))
    outside = upload_one(client, invoice_pdf(number(), [("*运输服务*客运服务费", "38.00")], "滴滴出行科技有限公司",
                                             rate="0.03", issue_date="2026-03-20"))
    assert inside["lines"][0]["category"] == outside["lines"][0]["category"] == "local_transport"
    claim = client.post("/api/claims", json={"employee_no": "E001", "reason": "北京出差", "trip_start": "2026-03-02",
                                             "trip_end": "2026-03-04",
                                             "invoice_ids": [inside["id"], outside["id"]]}).json()
    assert [(x["invoice_id"], x["category"]) for x in claim["lines"]] == [
        (inside["id"], "travel.transport"), (outside["id"], "local_transport")]
    assert (claim["trip_start"], claim["trip_end"]) == ("2026-03-02", "2026-03-04")
    no_trip = client.post("/api/claims", json={"employee_no": "E001", "reason": "x", "trip_start": "2026-03-02",
                                               "invoice_ids": [inside["id"]]})
    assert no_trip.status_code == 422 and "trip_end" in no_trip.json()["detail"]


def test_correction_errors(client):
    invoice = upload_one(client, invoice_pdf(number(), [("*餐饮服务*餐费", "100.00")], CANTEEN))
    assert correct(client, invoice["id"], 1, "no.such").status_code == 422
    assert correct(client, invoice["id"], 1, "travel.allowance").status_code == 422  # computed, never on a line
    assert correct(client, invoice["id"], 2, "welfare").status_code == 404
    assert correct(client, 999999, 1, "welfare").status_code == 404
    blank = client.post(f"/api/invoices/{invoice['id']}/lines/1/category", json={"category": "welfare", "actor": ""})
    assert blank.status_code == 422
    assert client.get("/api/corrections").json() == []
    assert client.post("/api/models/rollback", json={"version": "cat-19990101-deadbeef"}).status_code == 404


def test_the_document_carries_line_categories_and_cost_attribution(session, storage_dir):
    pdf = invoice_pdf(number(), [("*住宿服务*住宿费", "400.00"), ("*餐饮服务*早餐", "50.00")], HOTEL)
    [uploaded] = services.upload_files(session, "E001", [("h.pdf", pdf)], storage_dir=storage_dir)
    claim = services.create_claim(session, "E001", [uploaded.invoices[0].id], "出差", project="P-X",
                                  trip_start=date(2026, 3, 4), trip_end=date(2026, 3, 6))
    doc = claim_document(claim, claim.employee.company)
    assert [(x["expense_type"]["code"], x["amount"], x["cost_center"], x["project"]) for x in doc["lines"]] == [
        ("travel.lodging", "400.00", "CC1001", "P-X"), ("entertainment", "50.00", "CC1001", "P-X")]
    assert all(x["model_version"] and x["category_confirmed"] for x in doc["lines"])
    assert doc["cost_center"] == "CC1001" and doc["project"] == {"code": "P-X"}
    assert doc["trip"] == {"start": "2026-03-04", "end": "2026-03-06"} and doc["doc_type"] == "TRAVEL"
    assert doc["amount_claimed"] == "450.00"


def test_train_and_model_commands(database_url, session_factory, org, storage_dir, store, capsys):
    from api.cli import main

    with session_factory() as session:
        [uploaded] = services.upload_files(session, "E001", [("k.pdf", invoice_pdf(
            number(), [("*生产生活服务*会员费", "89.00")], KINGSOFT))], storage_dir=storage_dir)
        corrections.correct_line(session, uploaded.invoices[0].id, 1, "software_it", "F001")
    capsys.readouterr()
    assert main(["train", "--database-url", database_url, "--no-shared", "--json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "promoted" and outcome["corrections"] == 1 and outcome["previous"] == store

    assert main(["model", "list", "--json"]) == 0
    listed = {v["version"]: v for v in json.loads(capsys.readouterr().out)}
    assert listed[outcome["version"]]["current"] and listed[outcome["version"]]["corrections"] == 1
    assert main(["model", "rollback"]) == 0
    assert load_model().model_version == store
    assert main(["model", "promote", outcome["version"]]) == 0
    assert load_model().model_version == outcome["version"]
    assert main(["model", "promote", "cat-19990101-deadbeef"]) == 2


# ---------------------------------------------------------------- amounts of lines (pure)


def test_line_amounts_always_add_up_to_the_invoice_total():
    from api.attribution import line_amounts

    def item(amount, tax=None):
        return LineItem("x", None if amount is None else Decimal(amount), None, None if tax is None else Decimal(tax))

    assert line_amounts(Decimal("450.00"), [item("377.36", "22.64"), item("47.17", "2.83")]) == [
        Decimal("400.00"), Decimal("50.00")]
    # Printed lines that do not add up (a discount lost by OCR): the total is split in proportion, to the fen.
    split = line_amounts(Decimal("100.00"), [item("33.33"), item("33.33"), item("33.33"), item("10.00")])
    assert split == [Decimal("30.31"), Decimal("30.30"), Decimal("30.30"), Decimal("9.09")]  # remainder: largest
    assert line_amounts(Decimal("86.00"), [item("80.00"), item(None)]) == [Decimal("86.00"), Decimal("0.00")]
    assert line_amounts(Decimal("86.00"), [item(None), item(None)]) == [Decimal("86.00"), Decimal("0.00")]
    assert line_amounts(None, [item("10.00", "0.60")]) == [Decimal("10.60")]
    assert line_amounts(Decimal("5.00"), []) == [Decimal("5.00")]


def test_a_cap_reduces_an_invoice_once_across_its_category_lines():
    from api.attribution import approved_amounts
    from api.tables import ClaimLine

    lines = [ClaimLine(line_no=1, invoice_id=7, amount=Decimal("400.00")),
             ClaimLine(line_no=2, invoice_id=7, amount=Decimal("50.00")),
             ClaimLine(line_no=3, invoice_id=8, amount=Decimal("20.00"))]
    assert approved_amounts(lines, {7: Decimal("420.00")}) == {1: Decimal("370.00"), 2: Decimal("50.00"),
                                                               3: Decimal("20.00")}
    assert approved_amounts(lines, {7: Decimal("30.00"), 8: Decimal("25.00")}) == {
        1: Decimal("0.00"), 2: Decimal("30.00"), 3: Decimal("20.00")}
