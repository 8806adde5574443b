"""The policy in the API: validated at start-up, run on create/submit with the DB-backed history, travel requests
with computed allowances; on both databases."""

from datetime import date
from decimal import Decimal

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import select

from api import services
from api.app import create_app
from api.history import DbHistory
from api.policy_tables import BudgetAccount, InvoiceKey
from api.settings import Settings
from pipeline.policy import PolicyError
from tests.api.conftest import ORG, POLICY_FILE

NUMBER_A = "26422000000123456789"
NUMBER_B = "26422000000123456791"


def _ids(session, storage_dir, emp_no, *pdfs):
    results = services.upload_files(session, emp_no, [(f"{n}.pdf", p) for n, p in enumerate(pdfs)],
                                    storage_dir=storage_dir, max_file_bytes=10**6)
    return [inv.id for r in results for inv in r.invoices]


def test_a_bad_policy_stops_the_app_naming_the_rule(database_url, storage_dir, tmp_path):
    data = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    data.setdefault("rules", {})["R20"] = {"when": "amount >"}
    bad = tmp_path / "policy.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match="R20"):
        create_app(Settings(database_url=database_url, storage_dir=storage_dir, org_file=None, policy_file=bad))


def test_the_app_loads_the_policy_and_its_budgets(database_url, storage_dir):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None, policy_file=POLICY_FILE)
    with TestClient(create_app(settings)) as client:
        with services.Session(client.app.state.engine) as session:
            codes = {(a.scope, a.code): a.budget for a in session.exec(select(BudgetAccount))}
    assert codes[("cost_center", "CC1001")] == Decimal("150000.00") and ("project", "P2026-07") in codes


def test_create_runs_the_policy_rules_with_the_database_history(session, storage_dir, make_pdf, policy):
    first = services.create_claim(session, "E001", _ids(session, storage_dir, "E001", make_pdf(NUMBER_A)), "r")
    services.submit_claim(session, first.id)
    second = services.create_claim(session, "E002", _ids(session, storage_dir, "E002", make_pdf(NUMBER_B)), "r")
    rules = {f.rule_id for f in second.findings}
    assert {"R11", "R20"} <= rules  # policy rules, not only the integrity ones
    history = DbHistory(session, second)
    [near] = history.invoices_near_number(_seller(session, second), None, NUMBER_B, 5)
    assert near.claim_no == first.doc_no and near.number == NUMBER_A and near.employee == "E001"
    assert DbHistory(session, first).invoices_near_number(near.seller, None, NUMBER_A, 1) == []  # gap 2 > 1
    assert [p.claim_no for p in history.invoices_from_seller(near.seller, date(2026, 3, 1), date(2026, 3, 31))] \
        == [first.doc_no]
    assert history.invoices_from_seller(near.seller, date(2026, 4, 1)) == []


def _seller(session, claim):
    from pipeline.policy import seller_ref
    from pipeline import serialize
    return seller_ref(serialize.invoice_from_json(claim.attachments[0].data))


def test_every_duplicate_key_is_indexed(session, storage_dir, make_pdf, policy):
    claim = services.create_claim(session, "E001", _ids(session, storage_dir, "E001", make_pdf(NUMBER_A)), "r")
    keys = session.exec(select(InvoiceKey.key).where(InvoiceKey.invoice_id == claim.attachments[0].id)).all()
    assert keys == [NUMBER_A]
    assert DbHistory(session, claim).claim_holding(NUMBER_A) is None  # its own invoice does not count


def test_travel_requests_and_allowances_on_the_claim(database_url, storage_dir, make_pdf, policy):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None, policy_file=POLICY_FILE)
    with TestClient(create_app(settings)) as client:
        with services.Session(client.app.state.engine) as session:
            services.load_org(session, ORG)
        body = {"employee_no": "E001", "start": "2026-03-02", "end": "2026-03-04", "cities": ["北京"],
                "purpose": "客户现场实施", "approved": True}
        created = client.post("/api/travel-requests", json=body)
        assert created.status_code == 201, created.text
        trip = created.json()
        assert Decimal(trip["allowance_total"]) > 0 and sum(a["days"] for a in trip["allowances"]) >= 3
        assert client.get(f"/api/travel-requests/{trip['id']}").json()["cities"] == ["北京"]
        assert [t["id"] for t in client.get("/api/travel-requests", params={"employee_no": "E001"}).json()] == \
            [trip["id"]]
        bad = client.post("/api/travel-requests", json={**body, "end": "2026-03-01"})
        assert bad.status_code == 422
        unapproved = client.post("/api/travel-requests", json={**body, "approved": False}).json()
        with services.Session(client.app.state.engine) as session:
            ids = _ids(session, storage_dir, "E001", make_pdf(NUMBER_A, "900.00", item="*住宿服务*住宿费",
                                                               issue_date="2026-03-04"))
        refused = client.post("/api/claims", json={"employee_no": "E001", "invoice_ids": ids, "reason": "出差",
                                                   "trip_request_id": unapproved["id"]})
        assert refused.status_code == 409
        claim = client.post("/api/claims", json={"employee_no": "E001", "invoice_ids": ids, "reason": "出差",
                                                 "trip_request_id": trip["id"]})
        assert claim.status_code == 201, claim.text
        evaluation = client.get(f"/api/claims/{claim.json()['id']}/evaluation").json()
        assert evaluation["trip_request_id"] == trip["id"]
        assert Decimal(evaluation["allowance_total"]) == Decimal(trip["allowance_total"])
        assert Decimal(evaluation["amount_claimed"]) == Decimal("900.00")
