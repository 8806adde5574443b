"""The HTTP API through FastAPI's TestClient: routes, error mapping, the signed OA callback, upload limits."""

import json
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from pipeline.sync.webhook import generate_secret, signed_headers

NUMBER_A, NUMBER_B = "26422000000123456789", "26422000000123456790"
CALLBACK_SECRET = generate_secret()


@pytest.fixture
def client(database_url, org, storage_dir):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None,
                        oa_webhook_url="http://127.0.0.1:9/unused", oa_webhook_secret=generate_secret(),
                        oa_callback_secret=CALLBACK_SECRET, max_upload_bytes=64 * 1024, max_upload_files=3)
    with TestClient(create_app(settings)) as client:
        yield client


def upload(client, emp_no, *pdfs):
    files = [("files", (f"inv{n}.pdf", pdf, "application/pdf")) for n, pdf in enumerate(pdfs)]
    return client.post(f"/api/employees/{emp_no}/uploads", files=files)


def make_claim(client, make_pdf, emp_no="E001", number=NUMBER_A, **pdf):
    [uploaded] = upload(client, emp_no, make_pdf(number, **pdf)).json()
    response = client.post("/api/claims", json={"employee_no": emp_no, "reason": "客户招待",
                                                "invoice_ids": [uploaded["invoices"][0]["id"]]})
    assert response.status_code == 201, response.text
    return response.json()


def callback(client, payload, secret=CALLBACK_SECRET, timestamp=None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = signed_headers(secret, f"cb_{time.monotonic_ns()}", body, timestamp)
    return client.post("/api/oa/callback", content=body, headers={**headers, "Content-Type": "application/json"})


def test_health(client):
    assert client.get("/api/health").json() == {"status": "ok", "db": "ok", "version": client.app.version}


def test_openapi_documents_the_routes(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/employees/{emp_no}/uploads", "/api/claims", "/api/claims/{claim_id}",
            "/api/claims/{claim_id}/submit", "/api/oa/callback", "/api/health"} <= set(paths)


def test_upload_returns_the_invoices(client, make_pdf):
    response = upload(client, "E001", make_pdf(NUMBER_A, "106.00"), b"%PDF-1.4 nothing")
    assert response.status_code == 201
    first, second = response.json()
    assert first["error"] is None and first["media_type"] == "application/pdf"
    [invoice] = first["invoices"]
    assert invoice["business_key"] == NUMBER_A and invoice["total"] == "106.00" and invoice["claim_id"] is None
    assert invoice["data"]["fields"]["invoice_number"] == NUMBER_A
    assert second["invoices"] == [] and second["error"] == "no invoice found in this file"


def test_upload_limits(client, make_pdf):
    too_big = upload(client, "E001", b"%PDF-1.4" + b"0" * 70 * 1024)
    assert too_big.status_code == 413 and too_big.json()["code"] == "document_too_large"
    too_many = upload(client, "E001", *[make_pdf(str(n)) for n in range(4)])
    assert too_many.status_code == 400  # the multipart parser refuses past form_limits.max_files
    huge = client.post("/api/employees/E001/uploads", content=b"x" * (5 * 1024 * 1024),
                       headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert huge.status_code == 413
    unsupported = upload(client, "E001", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old word file")
    assert unsupported.status_code == 201 and "not supported" in unsupported.json()[0]["error"]


def test_claim_lifecycle_over_http(client, make_pdf):
    claim = make_claim(client, make_pdf, total="1409.50")
    assert claim["state"] == "draft" and claim["employee_no"] == "E001"
    assert claim["total"] == "1409.50" and claim["total_upper"] == "壹仟肆佰零玖圆伍角整"
    [line] = claim["lines"]
    assert {k: line[k] for k in ("line_no", "amount", "category", "cost_center")} == {
        "line_no": 1, "amount": "1409.50", "category": "entertainment", "cost_center": "CC1001"}
    assert client.get(f"/api/claims/{claim['id']}").json() == claim

    submitted = client.post(f"/api/claims/{claim['id']}/submit", json={"actor": "E001"})
    assert submitted.status_code == 200 and submitted.json()["state"] == "pending_approval"
    again = client.post(f"/api/claims/{claim['id']}/submit")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    approved = callback(client, {"doc_no": claim["doc_no"], "decision": "approved", "oa_request_id": "OA7",
                                 "comment": "同意"})
    assert approved.status_code == 200
    assert approved.json() == {"claim_id": claim["id"], "doc_no": claim["doc_no"], "state": "approved",
                               "changed": True}
    duplicate = callback(client, {"claim_id": claim["id"], "decision": "approved", "oa_request_id": "OA7"})
    assert duplicate.status_code == 200 and duplicate.json()["changed"] is False
    final = client.get(f"/api/claims/{claim['id']}").json()
    assert (final["state"], final["oa_request_id"], final["oa_status"]) == ("approved", "OA7", "approved")
    audit = client.get(f"/api/claims/{claim['id']}/audit").json()
    assert [(a["from_state"], a["to_state"]) for a in audit] == [
        (None, "draft"), ("draft", "submitted"), ("submitted", "pending_approval"), ("pending_approval", "approved")]


def test_rejection_over_http(client, make_pdf):
    claim = make_claim(client, make_pdf)
    client.post(f"/api/claims/{claim['id']}/submit")
    rejected = callback(client, {"doc_no": claim["doc_no"], "decision": "rejected", "comment": "超标"})
    assert rejected.json()["state"] == "rejected"
    late = callback(client, {"doc_no": claim["doc_no"], "decision": "approved"})
    assert late.status_code == 200 and late.json() == {**rejected.json(), "changed": False}


@pytest.mark.parametrize("forgery", ["wrong_secret", "stale", "unsigned", "tampered"])
def test_callbacks_that_are_not_authentic_are_refused(client, make_pdf, forgery):
    claim = make_claim(client, make_pdf)
    client.post(f"/api/claims/{claim['id']}/submit")
    payload = {"doc_no": claim["doc_no"], "decision": "approved"}
    if forgery == "wrong_secret":
        response = callback(client, payload, secret=generate_secret())
    elif forgery == "stale":
        response = callback(client, payload, timestamp=int(time.time()) - 6 * 60)
    elif forgery == "unsigned":
        response = client.post("/api/oa/callback", json=payload)
    else:
        body = json.dumps(payload).encode()
        headers = signed_headers(CALLBACK_SECRET, "cb_1", body)
        response = client.post("/api/oa/callback", content=body.replace(b"approved", b"rejected"), headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "callback_rejected"
    assert client.get(f"/api/claims/{claim['id']}").json()["state"] == "pending_approval"


def test_malformed_callbacks_and_unknown_claims(client):
    assert callback(client, {"doc_no": "BX1", "decision": "perhaps"}).status_code == 422
    missing = callback(client, {"doc_no": "BX1", "decision": "approved"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_blocked_claim_cannot_be_submitted(client, make_pdf):
    claim = make_claim(client, make_pdf, buyer="某个人")
    assert [f["rule_id"] for f in claim["findings"]] == ["R5"]
    response = client.post(f"/api/claims/{claim['id']}/submit")
    assert response.status_code == 422 and response.json()["code"] == "claim_blocked"


def test_duplicate_invoice_across_employees_over_http(client, make_pdf):
    first = make_claim(client, make_pdf, "E001")
    second = make_claim(client, make_pdf, "E002")
    [finding] = second["findings"]
    assert finding["rule_id"] == "R3" and finding["evidence"]["other_claim"] == first["doc_no"]
    assert client.post(f"/api/claims/{second['id']}/submit").status_code == 422


def test_not_found_and_validation_errors(client, make_pdf):
    assert client.get("/api/claims/999999").status_code == 404
    assert client.post("/api/claims/999999/submit").status_code == 404
    assert upload(client, "E999", make_pdf(NUMBER_A)).status_code == 404
    no_invoices = client.post("/api/claims", json={"employee_no": "E001", "invoice_ids": [], "reason": "r"})
    assert no_invoices.status_code == 422
    taken = make_claim(client, make_pdf)
    again = client.post("/api/claims", json={"employee_no": "E001", "reason": "r",
                                             "invoice_ids": [taken["lines"][0]["invoice_id"]]})
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_callback_without_oa_configuration_is_503(database_url, org, storage_dir):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None)
    with TestClient(create_app(settings)) as client:
        response = callback(client, {"doc_no": "BX1", "decision": "approved"})
    assert response.status_code == 503 and response.json()["code"] == "not_configured"


def test_lifespan_loads_the_org_file(database_url, storage_dir, tmp_path, make_pdf):
    org_file = tmp_path / "org.yaml"
    org_file.write_text("company: {legal_name: 示例公司, tax_id: '91110000000000000X'}\n"
                        "employees: [{emp_no: E100, name: 赵六, department: D9}]\n", encoding="utf-8")
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=org_file)
    with TestClient(create_app(settings)) as client:
        assert upload(client, "E100", make_pdf(NUMBER_A)).status_code == 201
