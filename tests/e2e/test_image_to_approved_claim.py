"""End to end with nothing faked: a real scanned invoice image → real OCR, QR, extraction, category model and
checks → claim → signed webhook to an OA on loopback HTTP (failing once first) → signed callback → approved.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import yaml

from api.app import create_app
from api.oa_receiver import DemoOa, create_receiver_app
from api.settings import Settings
from pipeline.sync.webhook import generate_secret

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "invoices" / "paper_vat_41108527.png"
ORG = {  # the buyer printed on the sample, so the title check passes
    "company": {"legal_name": "深圳市华云中盛科技有限公司", "tax_id": "91440300708436854B"},
    "departments": [{"code": "D01", "name": "行政部", "cost_center": "CC1001"}],
    "employees": [{"emp_no": "E100", "name": "赵六", "department": "D01", "grade": "G4_staff"},
                  {"emp_no": "E200", "name": "钱七", "department": "D01", "grade": "G4_staff"}],
}


def _wait_state(client: httpx.Client, claim_id: int, state: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/claims/{claim_id}").json()
        if body["state"] == state or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_real_image_to_approved_claim(database_url, serve, tmp_path):
    org_file = tmp_path / "org.yaml"
    org_file.write_text(yaml.safe_dump(ORG, allow_unicode=True), encoding="utf-8")
    oa = DemoOa(webhook_secret=generate_secret(), callback_secret=generate_secret(), fail_next=1)
    with serve(create_receiver_app(oa)) as oa_url:
        settings = Settings(database_url=database_url, storage_dir=tmp_path / "files", org_file=org_file,
                            oa_webhook_url=oa_url + "/webhook", oa_webhook_secret=oa.webhook_secret,
                            oa_callback_secret=oa.callback_secret, relay_enabled=True, relay_poll_seconds=0.05,
                            relay_backoff_base_seconds=0.1)
        with serve(create_app(settings)) as app_url:
            oa.callback_url = app_url + "/api/oa/callback"
            with httpx.Client(base_url=app_url, timeout=120) as client:
                uploaded = client.post("/api/employees/E100/uploads",
                                       files=[("files", (SAMPLE.name, SAMPLE.read_bytes(), "image/png"))])
                assert uploaded.status_code == 201, uploaded.text
                [result] = uploaded.json()
                assert result["error"] is None
                [invoice] = result["invoices"]
                fields = invoice["data"]["fields"]
                assert (fields["invoice_number"], fields["invoice_code"], fields["issue_date"],
                        fields["total_incl_tax"]) == ("41108527", "044031800104", "2019-03-19", "112.20")
                assert invoice["data"]["sources"]["total_incl_tax"] in {"ocr", "computed"}
                assert 0 < invoice["data"]["confidence"]["invoice_number"] <= 1
                assert invoice["category"] and 0 <= invoice["category_confidence"] <= 1

                created = client.post("/api/claims", json={"employee_no": "E100", "invoice_ids": [invoice["id"]],
                                                           "reason": "部门下午茶"})
                assert created.status_code == 201, created.text
                claim = created.json()
                # The 2019 invoice is years old: the demo policy warns (R11) but nothing blocks it.
                assert {(f["rule_id"], f["severity"]) for f in claim["findings"]} == {("R11", "warn")}
                assert claim["total"] == "112.20"
                assert claim["total_upper"] == "壹佰壹拾贰圆贰角整"
                submitted = client.post(f"/api/claims/{claim['id']}/submit")
                assert submitted.json()["state"] == "pending_approval", submitted.text
                final = _wait_state(client, claim["id"], "approved")

                # The same invoice, uploaded again by another employee, is caught as a duplicate.
                again = client.post("/api/employees/E200/uploads",
                                    files=[("files", (SAMPLE.name, SAMPLE.read_bytes(), "image/png"))]).json()
                dup_claim = client.post("/api/claims", json={
                    "employee_no": "E200", "invoice_ids": [again[0]["invoices"][0]["id"]], "reason": "重复"}).json()
                audit = client.get(f"/api/claims/{claim['id']}/audit").json()

    assert (final["state"], final["oa_status"], final["oa_request_id"]) == ("approved", "approved", "OA000001")
    assert oa.deliveries == 2 and len(oa.approvals) == 1  # failed once, delivered once, created once
    [r3] = [f for f in dup_claim["findings"] if f["rule_id"] == "R3"]
    assert r3["severity"] == "block" and r3["evidence"]["other_claim"] == claim["doc_no"]
    assert [a["to_state"] for a in audit][-1] == "approved"
