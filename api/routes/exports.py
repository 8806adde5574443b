"""Finance exports over HTTP (``api.exports``).

* ``GET /api/exports/claims.csv`` and ``GET /api/exports/claims.xlsx``: one row per claim (the workbook adds a
  sheet of claim lines). Query: ``state`` (repeatable; default ``approved``; ``all`` for every state), ``date_from``
  / ``date_to`` (China dates of the last state change), ``numbers`` (xlsx: amounts as number cells).
* ``GET /api/exports/vouchers?format=yonyou|kingdee``: vouchers of the selected claims in the 用友 or 金蝶 import
  layout, ``filetype=xlsx`` (default) or ``csv``; ``voucher_date`` and ``start_no`` override the date and first
  number. Claims that cannot be booked (a category without an account code) are left out and listed in the
  ``X-Skipped-Claims`` header (``doc_no: reason``, ``|``-separated, URL-encoded).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import exports
from api.deps import SessionDep, SettingsDep
from api.settings import Settings

router = APIRouter(prefix="/exports", tags=["exports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
States = Annotated[list[str] | None, Query(description="claim states; default approved; 'all' for every state")]


def _states(state: list[str] | None) -> list[str] | None:
    if not state:
        return ["approved"]
    return None if "all" in state else state


def _attachment(data: bytes, media_type: str, name: str, headers: dict[str, str] | None = None) -> Response:
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', **(headers or {})})


def voucher_options(settings: Settings, voucher_date: date | None = None, start_no: int = 1
                    ) -> exports.VoucherOptions:
    return exports.VoucherOptions(credit_account=settings.voucher_credit_account,
                                  credit_account_name=settings.voucher_credit_account_name,
                                  word=settings.voucher_word, preparer=settings.voucher_preparer,
                                  voucher_date=voucher_date, start_no=start_no)


@router.get("/claims.csv")
def claims_csv(session: SessionDep, state: States = None, date_from: date | None = None,
               date_to: date | None = None) -> Response:
    claims = exports.select_claims(session, _states(state), date_from, date_to)
    return _attachment(exports.claims_csv(claims), CSV, "claims.csv")


@router.get("/claims.xlsx")
def claims_xlsx(session: SessionDep, state: States = None, date_from: date | None = None,
                date_to: date | None = None, numbers: bool = False) -> Response:
    claims = exports.select_claims(session, _states(state), date_from, date_to)
    return _attachment(exports.claims_xlsx(claims, amounts_as_numbers=numbers), XLSX, "claims.xlsx")


@router.get("/vouchers")
def vouchers(session: SessionDep, settings: SettingsDep, format: Literal["yonyou", "kingdee"],
             filetype: Literal["xlsx", "csv"] = "xlsx", state: States = None, date_from: date | None = None,
             date_to: date | None = None, voucher_date: date | None = None,
             start_no: Annotated[int, Query(ge=1)] = 1, numbers: bool = False) -> Response:
    claims = exports.select_claims(session, _states(state), date_from, date_to)
    options = voucher_options(settings, voucher_date, start_no)
    batch = exports.build_vouchers(claims, options)
    header, rows = exports.vouchers_table(batch, format, options)
    skipped = {"X-Skipped-Claims": quote(" | ".join(f"{d}: {why}" for d, why in batch.skipped), safe=" :|")} \
        if batch.skipped else {}
    name = f"vouchers-{format}.{filetype}"
    if filetype == "csv":
        return _attachment(exports.table_csv(header, rows), CSV, name, skipped)
    data = exports.table_xlsx([("凭证", header, rows)], amounts_as_numbers=numbers)
    return _attachment(data, XLSX, name, skipped)
