"""Server-rendered web pages for employees on a phone: upload invoices, check what was read, file a claim.

Plain HTML forms (no JavaScript needed), built on the same services as the JSON API:

* ``GET /``: pick the employee and photos/files (the phone offers its camera);
* ``POST /upload``: stores and reads the files, shows each invoice's key fields, category and problems, with a
  form to put the chosen invoices on a claim;
* ``POST /claims``: creates the claim and redirects to it; ``GET /claims/{id}``: lines, total, findings, state;
* ``POST /claims/{id}/submit``: submits it for approval, or shows why it cannot be submitted.
Service errors are shown on the page in plain words instead of JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlmodel import select

from api import services
from api.deps import SessionDep, SettingsDep
from api.errors import ServiceError
from api.tables import Employee
from pipeline.claim import InvalidTransition
from pipeline.errors import PipelineError

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

KIND_NAMES = {
    "vat_special": "增值税专用发票", "vat_normal": "增值税普通发票", "vat_roll": "增值税普通发票(卷式)",
    "vat_e_normal": "增值税电子普通发票", "vat_e_special": "增值税电子专用发票", "vat_e_toll": "通行费电子发票",
    "digital_special": "电子发票（增值税专用发票）", "digital_normal": "电子发票（普通发票）",
    "rail_e_ticket": "电子发票（铁路电子客票）", "rail_paper_ticket": "火车票", "air_e_itinerary": "航空电子行程单",
    "air_paper_itinerary": "航空行程单", "taxi": "出租车发票", "quota": "定额发票", "receipt": "Receipt",
    "trip_table": "行程单（凭证，不计金额）", "unknown": "未识别票据",
}
SHOWN_FIELDS = (
    ("invoice_number", "发票号码"), ("invoice_code", "发票代码"), ("issue_date", "开票日期"),
    ("seller_name", "销售方"), ("buyer_name", "购买方"), ("total_incl_tax", "价税合计"),
    ("from_station", "出发站"), ("to_station", "到达站"), ("train_no", "车次"), ("depart_datetime", "乘车时间"),
)


def _employees(session) -> list[Employee]:
    return list(session.exec(select(Employee).order_by(Employee.emp_no)))


@router.get("/", response_class=HTMLResponse)
def upload_form(request: Request, session: SessionDep, settings: SettingsDep):
    return templates.TemplateResponse(request, "upload.html", {
        "employees": _employees(session), "max_files": settings.max_upload_files})


@router.post("/upload", response_class=HTMLResponse)
def upload(request: Request, session: SessionDep, settings: SettingsDep, emp_no: Annotated[str, Form()],
           files: list[UploadFile]):
    context = {"employees": _employees(session), "max_files": settings.max_upload_files}
    if len(files) > settings.max_upload_files:
        context["error"] = f"一次最多上传 {settings.max_upload_files} 个文件 · at most {settings.max_upload_files} files"
        return templates.TemplateResponse(request, "upload.html", context, status_code=422)
    try:
        results = services.upload_files(session, emp_no, [(f.filename or "upload", f.file.read()) for f in files],
                                        storage_dir=settings.storage_dir, max_file_bytes=settings.max_upload_bytes)
    except (ServiceError, PipelineError) as exc:
        context["error"] = str(exc)
        return templates.TemplateResponse(request, "upload.html", context, status_code=422)
    return templates.TemplateResponse(request, "upload_result.html", {
        "emp_no": emp_no, "results": results, "kind_names": KIND_NAMES, "shown_fields": SHOWN_FIELDS,
        "any_invoice": any(f.invoices for f in results)})


@router.post("/claims")
def create_claim(request: Request, session: SessionDep, emp_no: Annotated[str, Form()],
                 reason: Annotated[str, Form()], invoice_ids: Annotated[list[int], Form()]):
    try:
        claim = services.create_claim(session, emp_no, invoice_ids, reason)
    except ServiceError as exc:
        return templates.TemplateResponse(request, "error.html", {"error": str(exc)}, status_code=422)
    return RedirectResponse(f"/claims/{claim.id}", status_code=303)


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
def show_claim(request: Request, claim_id: int, session: SessionDep, error: str | None = None):
    claim = services.get_claim(session, claim_id)
    return templates.TemplateResponse(request, "claim.html", {"claim": claim, "error": error})


@router.post("/claims/{claim_id}/submit", response_class=HTMLResponse)
def submit_claim(request: Request, claim_id: int, session: SessionDep):
    try:
        services.submit_claim(session, claim_id)
    except (ServiceError, InvalidTransition) as exc:
        session.rollback()
        claim = services.get_claim(session, claim_id)
        return templates.TemplateResponse(request, "claim.html", {"claim": claim, "error": str(exc)},
                                          status_code=422)
    return RedirectResponse(f"/claims/{claim_id}", status_code=303)
