"""Exports for finance: claims as CSV / Excel, and accounting vouchers (凭证) in the import layouts of 用友 and 金蝶.

Claims: ``select_claims(session, states=("approved",), date_from=None, date_to=None)`` picks claims by state and
by the China date of their last state change (for an approved claim: the approval date). ``claims_csv(claims)``
(UTF-8 with BOM, so Excel opens it as UTF-8) and ``claims_xlsx(claims)`` (sheets 报销单 and 明细) write one row per
claim (``CLAIM_COLUMNS``) and, in the workbook, one row per claim line (``LINE_COLUMNS``). Every figure comes from
the canonical 报销单 (``api.document.claim_document``), so the approved amounts are the ones sent to the OA.

Vouchers: ``build_vouchers(claims, options)`` makes one 记账凭证 per claim: a debit per (account, project) of
the approved line amounts, the account being the line category's code from the taxonomy
(``models.taxonomy.load_taxonomy().account_for(category, company)``, company key = the company's tax id when the
taxonomy has accounts for it, else its legal name), and one credit of the total to ``options.credit_account``
(default 2241 其他应付款, with the employee as 个人 / 职员). Debits equal credits in every voucher (checked).
A claim with a line whose category has no account code, or with nothing approved, is skipped and reported in
``VoucherBatch.skipped``. ``vouchers_table(batch, layout)`` lays the entries out as rows of:

* ``yonyou`` (U8 总账「凭证引入」/ NC 凭证导入 style): 制单日期, 凭证类别字, 凭证号, 附单据数, 摘要, 科目编码,
  借方金额, 贷方金额, 部门编码, 个人编码, 项目编码, 制单人, 外部单据号. [制单日期 + 凭证类别字 + 凭证号]
  identifies one voucher; U8 renumbers on import when told to.
* ``kingdee`` (K/3 WISE「标准凭证引入」/ 云星空 凭证引入 style): 凭证日期, 会计年度, 会计期间, 凭证字, 凭证号,
  分录序号, 凭证摘要, 科目代码, 科目名称, 币别代码, 币别名称, 原币金额, 借方, 贷方, 制单, 附件数, 核算项目,
  参考信息; 核算项目 as ``类别---代码---名称`` joined with ``;`` (部门, 职员, 项目).
Column names follow public descriptions of those import templates; check them against the template your
installation exports before the first import. ``table_csv`` / ``table_xlsx`` write any such table.

Amounts are Decimal, written as 2-dp strings (also in Excel, where they are text cells unless
``amounts_as_numbers=True``); dates are China dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from openpyxl import Workbook
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from api.document import claim_document
from api.tables import Claim, ClaimLine, Employee, InvoiceRecord
from models.taxonomy import Taxonomy, load_taxonomy
from pipeline.claim import ClaimState
from pipeline.money import fmt_amount

CHINA = timezone(timedelta(hours=8), "CST")
ZERO = Decimal("0.00")
Layout = Literal["yonyou", "kingdee"]
LAYOUTS: tuple[str, ...] = ("yonyou", "kingdee")


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


# ---------------------------------------------------------------- claims

def select_claims(session: Session, states: Sequence[str] | None = ("approved",), date_from: date | None = None,
                  date_to: date | None = None) -> list[Claim]:
    """Claims in ``states`` (None: all) whose last state change falls on a China date in [date_from, date_to]."""
    query = select(Claim).options(
        selectinload(Claim.employee).selectinload(Employee.company),
        selectinload(Claim.lines).selectinload(ClaimLine.invoice).selectinload(InvoiceRecord.file),
        selectinload(Claim.findings), selectinload(Claim.attachments))
    if states:
        query = query.where(col(Claim.state).in_([ClaimState(s) for s in states]))
    if date_from is not None:
        query = query.where(Claim.updated_at >= datetime.combine(date_from, time(), CHINA).astimezone(UTC))
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), time(), CHINA).astimezone(UTC)
        query = query.where(Claim.updated_at < end)
    return list(session.exec(query.order_by(col(Claim.updated_at), col(Claim.id))))


CLAIM_COLUMNS = ("单据编号", "状态", "报销人工号", "报销人", "部门编码", "部门", "成本中心", "项目", "事由",
                 "报销金额", "核定金额", "冲借款金额", "实付金额", "大写金额", "附件张数", "明细行数", "提交日期",
                 "状态日期", "OA单号", "OA状态")
LINE_COLUMNS = ("单据编号", "行号", "费用类型编码", "费用类型", "科目编码", "发票种类", "发票代码", "发票号码",
                "开票日期", "销售方", "金额", "核定金额", "不含税金额", "税额", "税率", "成本中心", "项目")


def _document(claim: Claim) -> dict[str, Any]:
    return claim_document(claim, claim.employee.company)


def _claim_row(claim: Claim, doc: dict[str, Any]) -> list[Any]:
    return [claim.doc_no, claim.state.value, doc["applicant"]["emp_no"], doc["applicant"]["name"],
            doc["dept"]["code"], doc["dept"]["name"], doc["cost_center"], (doc["project"] or {}).get("code"),
            claim.reason, doc["amount_claimed"], doc["amount_approved"], doc["loan_offset"], doc["amount_payable"],
            doc["amount_upper"], doc["attachment_count"], len(doc["lines"]), china_date(claim.created_at).isoformat(),
            china_date(claim.updated_at).isoformat(), claim.oa_request_id, claim.oa_status]


def _line_rows(doc: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for line in doc["lines"]:
        kind = line["expense_type"] or {}
        inv = line["invoice"]
        rows.append([doc["doc_no"], line["line_no"], kind.get("code"), kind.get("name"), kind.get("account"),
                     inv["kind"], inv["code"], inv["number"], inv["date"], inv["seller"], line["amount"],
                     line["amount_approved"], line["amount_ex_tax"], line["tax"], line["tax_rate"],
                     line["cost_center"], line["project"]])
    return rows


def claims_table(claims: Iterable[Claim]) -> tuple[list[list[Any]], list[list[Any]]]:
    """(claim rows, line rows), each without the header."""
    claim_rows, line_rows = [], []
    for claim in claims:
        doc = _document(claim)
        claim_rows.append(_claim_row(claim, doc))
        line_rows += _line_rows(doc)
    return claim_rows, line_rows


def claims_csv(claims: Iterable[Claim]) -> bytes:
    rows, _ = claims_table(claims)
    return table_csv(CLAIM_COLUMNS, rows)


def claims_xlsx(claims: Iterable[Claim], *, amounts_as_numbers: bool = False) -> bytes:
    rows, lines = claims_table(claims)
    return table_xlsx([("报销单", CLAIM_COLUMNS, rows), ("明细", LINE_COLUMNS, lines)],
                      amounts_as_numbers=amounts_as_numbers)


# ---------------------------------------------------------------- vouchers

@dataclass(frozen=True)
class VoucherOptions:
    credit_account: str = "2241"  # 其他应付款: what the company owes the employee until it pays
    credit_account_name: str = "其他应付款"
    word: str = "记"  # 凭证字 / 凭证类别字
    preparer: str = ""  # 制单人
    start_no: int = 1
    voucher_date: date | None = None  # default: the China date of each claim's approval
    currency_code: str = "RMB"
    currency_name: str = "人民币"
    account_names: dict[str, str] = field(default_factory=dict)  # 科目名称 by code (金蝶's 科目名称 column)


@dataclass(frozen=True)
class Entry:
    debit: Decimal
    credit: Decimal
    account: str
    account_name: str | None
    summary: str
    dept_code: str | None = None
    dept_name: str | None = None
    person_code: str | None = None
    person_name: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class Voucher:
    number: int
    day: date
    doc_no: str
    attachments: int
    entries: tuple[Entry, ...]

    @property
    def debit_total(self) -> Decimal:
        return sum((e.debit for e in self.entries), ZERO)

    @property
    def credit_total(self) -> Decimal:
        return sum((e.credit for e in self.entries), ZERO)


@dataclass
class VoucherBatch:
    vouchers: list[Voucher] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_no, why)


def _company_key(taxonomy: Taxonomy, tax_id: str, name: str) -> str:
    return tax_id if tax_id in taxonomy.company_accounts else name


def _summary(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _voucher(claim: Claim, doc: dict[str, Any], number: int, taxonomy: Taxonomy, options: VoucherOptions
             ) -> Voucher | str:
    company = _company_key(taxonomy, claim.employee.company.tax_id, claim.employee.company.name)
    applicant, dept = doc["applicant"], doc["dept"]
    groups: dict[tuple[str, str | None], tuple[Decimal, list[str]]] = {}  # (account, project) -> amount, names
    for line in doc["lines"]:
        amount = Decimal(line["amount_approved"])
        if amount == ZERO:
            continue
        kind = line["expense_type"]
        account = None
        if kind and kind.get("code"):
            try:
                account = taxonomy.account_for(kind["code"], company)
            except KeyError:
                account = None
        if not account:
            return (f"line {line['line_no']}: category {kind.get('code') if kind else None!r} has no account code "
                    "(models/taxonomy.yaml accounts)")
        key = (account, line.get("project"))
        total, names = groups.get(key, (ZERO, []))
        name = kind.get("name") or kind["code"]
        groups[key] = (total + amount, names if name in names else [*names, name])
    if not groups:
        return "nothing approved to book"
    entries = []
    for (account, project), (amount, names) in groups.items():
        entries.append(Entry(debit=amount, credit=ZERO, account=account,
                             account_name=options.account_names.get(account) or "、".join(names),
                             summary=_summary(f"{applicant['name']}报销{'、'.join(names)} {doc['doc_no']}"),
                             dept_code=dept["code"], dept_name=dept["name"], person_code=applicant["emp_no"],
                             person_name=applicant["name"], project=project))
    total = sum((e.debit for e in entries), ZERO)
    entries.append(Entry(debit=ZERO, credit=total, account=options.credit_account,
                         account_name=options.account_names.get(options.credit_account) or options.credit_account_name,
                         summary=_summary(f"应付{applicant['name']}报销款 {doc['doc_no']}"), dept_code=dept["code"],
                         dept_name=dept["name"], person_code=applicant["emp_no"], person_name=applicant["name"]))
    day = options.voucher_date or china_date(claim.updated_at)
    voucher = Voucher(number, day, doc["doc_no"], int(doc["attachment_count"] or 0), tuple(entries))
    if voucher.debit_total != voucher.credit_total:  # cannot happen by construction; never write one that does
        raise AssertionError(f"voucher for {doc['doc_no']} does not balance")
    return voucher


def build_vouchers(claims: Iterable[Claim], options: VoucherOptions | None = None,
                   taxonomy: Taxonomy | None = None) -> VoucherBatch:
    options = options or VoucherOptions()
    taxonomy = taxonomy or load_taxonomy()
    batch = VoucherBatch()
    number = options.start_no
    for claim in claims:
        result = _voucher(claim, _document(claim), number, taxonomy, options)
        if isinstance(result, str):
            batch.skipped.append((claim.doc_no, result))
        else:
            batch.vouchers.append(result)
            number += 1
    return batch


YONYOU_COLUMNS = ("制单日期", "凭证类别字", "凭证号", "附单据数", "摘要", "科目编码", "借方金额", "贷方金额",
                  "部门编码", "个人编码", "项目编码", "制单人", "外部单据号")
KINGDEE_COLUMNS = ("凭证日期", "会计年度", "会计期间", "凭证字", "凭证号", "分录序号", "凭证摘要", "科目代码", "科目名称",
                   "币别代码", "币别名称", "原币金额", "借方", "贷方", "制单", "附件数", "核算项目", "参考信息")


def _kingdee_items(entry: Entry) -> str:
    items = []
    if entry.dept_code:
        items.append(f"部门---{entry.dept_code}---{entry.dept_name or ''}")
    if entry.person_code:
        items.append(f"职员---{entry.person_code}---{entry.person_name or ''}")
    if entry.project:
        items.append(f"项目---{entry.project}---")
    return ";".join(items)


def _amount(value: Decimal) -> str:
    return fmt_amount(value)


def vouchers_table(batch: VoucherBatch, layout: Layout, options: VoucherOptions | None = None
                   ) -> tuple[tuple[str, ...], list[list[Any]]]:
    options = options or VoucherOptions()
    rows: list[list[Any]] = []
    for v in batch.vouchers:
        for index, e in enumerate(v.entries, start=1):
            if layout == "yonyou":
                rows.append([v.day.isoformat(), options.word, v.number, v.attachments, e.summary, e.account,
                             _amount(e.debit), _amount(e.credit), e.dept_code, e.person_code, e.project,
                             options.preparer, v.doc_no])
            elif layout == "kingdee":
                rows.append([v.day.isoformat(), v.day.year, v.day.month, options.word, v.number, index, e.summary,
                             e.account, e.account_name, options.currency_code, options.currency_name,
                             _amount(e.debit + e.credit), _amount(e.debit), _amount(e.credit), options.preparer,
                             v.attachments, _kingdee_items(e), v.doc_no])
            else:
                raise ValueError(f"unknown voucher layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return (YONYOU_COLUMNS if layout == "yonyou" else KINGDEE_COLUMNS), rows


# ---------------------------------------------------------------- writers

def _text(value: Any) -> Any:
    return "" if value is None else value


def table_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


AMOUNT_HEADERS = frozenset({"报销金额", "核定金额", "冲借款金额", "实付金额", "金额", "不含税金额", "税额", "借方金额",
                            "贷方金额", "原币金额", "借方", "贷方"})


def table_xlsx(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]], *,
               amounts_as_numbers: bool = False) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        amount_columns = {i for i, h in enumerate(header) if h in AMOUNT_HEADERS}
        for row in rows:
            values = [_text(v) for v in row]
            if amounts_as_numbers:
                values = [Decimal(v) if i in amount_columns and v != "" else v for i, v in enumerate(values)]
            sheet.append(values)
            if amounts_as_numbers:
                for i in amount_columns:
                    sheet.cell(sheet.max_row, i + 1).number_format = "0.00"
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = [
    "CLAIM_COLUMNS",
    "KINGDEE_COLUMNS",
    "LAYOUTS",
    "LINE_COLUMNS",
    "YONYOU_COLUMNS",
    "Entry",
    "Voucher",
    "VoucherBatch",
    "VoucherOptions",
    "build_vouchers",
    "claims_csv",
    "claims_table",
    "claims_xlsx",
    "select_claims",
    "table_csv",
    "table_xlsx",
    "vouchers_table",
]
