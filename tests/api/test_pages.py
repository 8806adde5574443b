"""The employee web pages: upload on a phone, see what was read, file and submit a claim."""

import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from pipeline.sync.webhook import generate_secret

NUMBER = "26422000000123456789"


@pytest.fixture
def client(database_url, org, storage_dir):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None,
                        oa_webhook_url="http://127.0.0.1:9/unused", oa_webhook_secret=generate_secret(),
                        oa_callback_secret=generate_secret(), max_upload_files=3)
    with TestClient(create_app(settings)) as client:
        yield client


def test_upload_page_works_on_a_phone(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'name="viewport"' in page.text and 'type="file"' in page.text and "multiple" in page.text
    assert 'value="E001"' in page.text  # employees from the org data


def test_upload_read_file_claim_and_submit(client, make_pdf):
    page = client.post("/upload", data={"emp_no": "E001"},
                       files=[("files", ("a.pdf", make_pdf(NUMBER, "106.00"), "application/pdf")),
                              ("files", ("notes.txt", b"hello", "text/plain"))])
    assert page.status_code == 200
    assert NUMBER in page.text and "106.00" in page.text
    assert "file type not supported" in page.text  # the bad file is explained, the good one still read
    [invoice_id] = re.findall(r'name="invoice_ids" value="(\d+)"', page.text)

    created = client.post("/claims", data={"emp_no": "E001", "reason": "客户招待", "invoice_ids": [invoice_id]},
                          follow_redirects=False)
    assert created.status_code == 303
    claim_page = client.get(created.headers["location"])
    assert "¥106.00" in claim_page.text and "壹佰零陆圆整" in claim_page.text and "draft" in claim_page.text

    submitted = client.post(created.headers["location"] + "/submit", follow_redirects=True)
    assert submitted.status_code == 200 and "pending_approval" in submitted.text


def test_blocked_claim_shows_the_reasons_instead_of_submitting(client, make_pdf):
    page = client.post("/upload", data={"emp_no": "E001"},
                       files=[("files", ("a.pdf", make_pdf(NUMBER, buyer="个人", buyer_tax_id=""), "application/pdf"))])
    [invoice_id] = re.findall(r'name="invoice_ids" value="(\d+)"', page.text)
    location = client.post("/claims", data={"emp_no": "E001", "reason": "x", "invoice_ids": [invoice_id]},
                           follow_redirects=False).headers["location"]
    refused = client.post(location + "/submit")
    assert refused.status_code == 422
    assert "R5" in refused.text and "个人" in refused.text and "draft" in refused.text


def test_unknown_employee_is_a_readable_error(client, make_pdf):
    page = client.post("/upload", data={"emp_no": "NOBODY"},
                       files=[("files", ("a.pdf", make_pdf(NUMBER), "application/pdf"))])
    assert page.status_code == 422 and "NOBODY" in page.text and "<html" in page.text
