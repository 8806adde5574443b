"""Finance exports: claims as CSV / Excel and vouchers in the 用友 and 金蝶 import layouts (functions, HTTP, CLI)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api import exports, services
from api.app import create_app
from api.cli import main
from api.document import claim_document
from api.settings import Settings, get_settings
from models.taxonomy import Taxonomy, load_taxonomy
from pipeline.sync.base import OaDecision


@pytest.fixture
def claims(session, storage_dir, make_pdf):
    """Approved: E001 1409.50 (entertainment) and E002 two invoices; rejected: one; still waiting: one."""
    def claim(emp_no, *numbers_totals, decision=None):
        files = [(f"{n}.pdf", make_pdf(n, t)) for n, t in numbers_totals]
        uploaded = services.upload_files(session, emp_no, files, storage_dir=storage_dir)
        draft = services.create_claim(session, emp_no, [u.invoices[0].id for u in uploaded], "客户招待")
        submitted = services.submit_claim(session, draft.id)
        if decision:
            services.apply_oa_decision(session, OaDecision(decision, claim_id=submitted.id,
                                                           oa_request_id=f"OA-{submitted.id}"))
        return services.get_claim(session, submitted.id)

    return {"a": claim("E001", ("26422000000000000001", "1409.50"), decision="approved"),
            "b": claim("E002", ("26422000000000000002", "106.00"), ("26422000000000000003", "53.20"),
                       decision="approved"),
            "rejected": claim("E001", ("26422000000000000004", "88.00"), decision="rejected"),
            "waiting": claim("E001", ("26422000000000000005", "66.00"))}


def test_select_claims_by_state_and_date(session, claims):
    approved = exports.select_claims(session)
    assert [c.doc_no for c in approved] == [claims["a"].doc_no, claims["b"].doc_no]
    assert len(exports.select_claims(session, None)) == 4
    assert [c.doc_no for c in exports.select_claims(session, ["rejected"])] == [claims["rejected"].doc_no]
    today = exports.china_date(claims["a"].updated_at)
    assert len(exports.select_claims(session, date_from=today, date_to=today)) == 2
    assert exports.select_claims(session, date_to=date(2000, 1, 1)) == []


def test_claims_csv_and_excel(session, claims):
    selected = exports.select_claims(session)
    text = exports.claims_csv(selected).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == exports.CLAIM_COLUMNS
    first = dict(zip(rows[0], rows[1], strict=True))
    document = claim_document(claims["a"], claims["a"].employee.company)
    assert (first["单据编号"], first["状态"], first["报销人"], first["报销金额"], first["OA单号"]) == (
        claims["a"].doc_no, "approved", "张三", "1409.50", f"OA-{claims['a'].id}")
    assert first["核定金额"] == document["amount_approved"] and first["大写金额"] == document["amount_upper"]

    book = load_workbook(io.BytesIO(exports.claims_xlsx(selected)))
    assert book.sheetnames == ["报销单", "明细"]
    sheet = [list(r) for r in book["报销单"].iter_rows(values_only=True)]
    assert tuple(sheet[0]) == exports.CLAIM_COLUMNS and sheet[2][0] == claims["b"].doc_no
    assert sheet[2][exports.CLAIM_COLUMNS.index("报销金额")] == "159.20"  # text, exact
    lines = [list(r) for r in book["明细"].iter_rows(values_only=True)]
    assert len(lines) == 1 + 3 and {r[exports.LINE_COLUMNS.index("科目编码")] for r in lines[1:]} >= {"660203"}
    numbers = load_workbook(io.BytesIO(exports.claims_xlsx(selected, amounts_as_numbers=True)))["报销单"]
    assert numbers.cell(2, exports.CLAIM_COLUMNS.index("报销金额") + 1).value == pytest.approx(1409.5)


def balanced(batch: exports.VoucherBatch) -> None:
    for voucher in batch.vouchers:
        assert voucher.debit_total == voucher.credit_total > 0
        assert all((e.debit == 0) != (e.credit == 0) for e in voucher.entries)


def test_vouchers_book_each_approved_claim_debit_expense_credit_payable(session, claims):
    selected = exports.select_claims(session)
    batch = exports.build_vouchers(selected, exports.VoucherOptions(preparer="王会计", start_no=7))
    balanced(batch)
    assert batch.skipped == [] and [v.number for v in batch.vouchers] == [7, 8]
    a = batch.vouchers[0]
    document = claim_document(claims["a"], claims["a"].employee.company)
    [expense, payable] = a.entries
    taxonomy = load_taxonomy()
    category = document["lines"][0]["expense_type"]["code"]
    assert (expense.account, expense.debit) == (taxonomy.account_for(category), Decimal(document["amount_approved"]))
    assert (payable.account, payable.credit, payable.person_code) == ("2241", a.debit_total, "E001")
    assert a.day == exports.china_date(claims["a"].updated_at) and a.doc_no == claims["a"].doc_no

    header, rows = exports.vouchers_table(batch, "yonyou", exports.VoucherOptions(preparer="王会计"))
    assert header == exports.YONYOU_COLUMNS
    by_voucher: dict[int, list[dict]] = {}
    for row in rows:
        entry = dict(zip(header, row, strict=True))
        by_voucher.setdefault(entry["凭证号"], []).append(entry)
    for entries in by_voucher.values():
        debit = sum(Decimal(e["借方金额"]) for e in entries)
        assert debit == sum(Decimal(e["贷方金额"]) for e in entries) and debit > 0
        assert {e["凭证类别字"] for e in entries} == {"记"} and {e["制单人"] for e in entries} == {"王会计"}
    assert by_voucher[7][0]["部门编码"] == "D01" and by_voucher[7][0]["外部单据号"] == claims["a"].doc_no

    header, rows = exports.vouchers_table(batch, "kingdee")
    assert header == exports.KINGDEE_COLUMNS
    entry = dict(zip(header, rows[0], strict=True))
    assert entry["核算项目"] == "部门---D01---运输部;职员---E001---张三"
    assert (entry["币别代码"], entry["分录序号"], entry["会计期间"]) == ("RMB", 1, a.day.month)
    assert entry["原币金额"] == entry["借方"] == document["amount_approved"] and entry["贷方"] == "0.00"


def test_claims_without_an_account_code_are_skipped_and_reported(session, claims):
    full = load_taxonomy()
    bare = Taxonomy(full.categories, {}, {})
    batch = exports.build_vouchers(exports.select_claims(session), taxonomy=bare)
    assert batch.vouchers == [] and [d for d, _ in batch.skipped] == [claims["a"].doc_no, claims["b"].doc_no]
    assert "has no account code" in batch.skipped[0][1]
    company = claims["a"].employee.company
    per_company = Taxonomy(full.categories, {}, {company.tax_id: {c: "6699" for c in full.codes}})
    balanced(batch := exports.build_vouchers(exports.select_claims(session), taxonomy=per_company))
    assert {e.account for v in batch.vouchers for e in v.entries} == {"6699", "2241"}


def test_exports_over_http(database_url, storage_dir, claims):
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None,
                        voucher_credit_account="224101", voucher_preparer="系统")
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/exports/claims.csv", params={"state": ["approved", "rejected"]})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert len(list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))) == 1 + 3
        xlsx = client.get("/api/exports/claims.xlsx", params={"state": "all"})
        assert load_workbook(io.BytesIO(xlsx.content))["报销单"].max_row == 1 + 4
        vouchers = client.get("/api/exports/vouchers", params={"format": "kingdee", "filetype": "csv",
                                                                "voucher_date": "2026-03-31", "start_no": 3})
        rows = list(csv.DictReader(io.StringIO(vouchers.content.decode("utf-8-sig"))))
        assert {r["凭证日期"] for r in rows} == {"2026-03-31"} and {r["凭证号"] for r in rows} == {"3", "4"}
        assert {r["科目代码"] for r in rows if r["贷方"] != "0.00"} == {"224101"}
        assert "X-Skipped-Claims" not in vouchers.headers
        book = client.get("/api/exports/vouchers", params={"format": "yonyou"})
        assert load_workbook(io.BytesIO(book.content))["凭证"]["F1"].value == "科目编码"
        assert client.get("/api/exports/vouchers", params={"format": "sap"}).status_code == 422


def test_skipped_claims_are_named_in_a_header(database_url, storage_dir, claims, monkeypatch):
    full = load_taxonomy()
    monkeypatch.setattr(exports, "load_taxonomy", lambda: Taxonomy(full.categories, {}, {}))
    settings = Settings(database_url=database_url, storage_dir=storage_dir, org_file=None)
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/exports/vouchers", params={"format": "yonyou", "filetype": "csv"})
    assert response.status_code == 200
    assert claims["a"].doc_no in unquote(response.headers["X-Skipped-Claims"])


def test_export_command(database_url, claims, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REIMBURSE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "v.csv"
        assert main(["export", "vouchers", "--format", "yonyou", "--file-type", "csv", "-o", str(out)]) == 0
        assert "wrote 2 vouchers" in capsys.readouterr().out
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        assert sum(Decimal(r["借方金额"]) for r in rows) == sum(Decimal(r["贷方金额"]) for r in rows) > 0
        book = tmp_path / "c.xlsx"
        assert main(["export", "claims", "--format", "xlsx", "--state", "all", "-o", str(book)]) == 0
        assert load_workbook(book)["报销单"].max_row == 1 + 4
    finally:
        get_settings.cache_clear()
