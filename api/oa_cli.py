"""CLI commands for OA delivery and finance exports, added to ``reimburse`` by ``api.cli``.

* ``reimburse outbox list [--status pending|sending|delivered|dead] [--limit N] [--json]``
* ``reimburse outbox show ID [--payload] [--json]``
* ``reimburse outbox requeue ID | --all-dead [--actor NAME]`` (``api.outbox_admin.requeue``)
* ``reimburse oa check``: builds the configured adapter (``api.oa_config``) and prints its configuration with
  secrets masked; exit code 2 naming the problem when the configuration is bad.
* ``reimburse oa reconcile [--after-minutes N] [--workers N]``: one full reconciliation sweep
  (``api.reconcile.Reconciler.run_all``), printing its report as JSON.
* ``reimburse export claims --format csv|xlsx -o FILE [--state S ...] [--from DATE] [--to DATE]``
* ``reimburse export vouchers --format yonyou|kingdee [--file-type xlsx|csv] -o FILE [...same filters]
  [--voucher-date DATE] [--start-no N]``; skipped claims are listed on stderr.
All read the database and OA settings from the environment (``api.settings``). Errors exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session


@contextmanager
def _session():
    from api.db import init_db, make_engine
    from api.settings import get_settings

    engine = make_engine(get_settings().database_url)
    init_db(engine)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------- outbox

def cmd_outbox(args: argparse.Namespace) -> int:
    from api import outbox_admin
    from api.errors import ServiceError

    try:
        with _session() as session:
            if args.outbox_command == "list":
                rows = outbox_admin.list_messages(session, args.status, args.limit)
                if args.json:
                    print(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2))
                for r in rows if not args.json else []:
                    error = (r.last_error or "").replace("\n", " ")[:80]
                    print(f"{r.id:>7}  {r.status:<9} {r.attempts:>3}x  {r.doc_no:<20} "
                          f"next {r.next_attempt_at:%Y-%m-%d %H:%M:%S}  {error}")
                return 0
            if args.outbox_command == "show":
                data = outbox_admin.show_message(session, args.id, payload=args.payload)
                print(json.dumps(data, ensure_ascii=False, indent=2))
                return 0
            ids = outbox_admin.requeue(session, args.id, all_dead=args.all_dead, actor=args.actor)
            print(f"requeued {len(ids)} message(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))
            return 0
    except ServiceError as exc:
        return _fail(exc)


def add_outbox_parser(sub: Any) -> None:
    outbox = sub.add_parser("outbox", help="inspect and requeue OA outbox messages (dead letters)")
    commands = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = commands.add_parser("list", help="list messages, newest first")
    listing.add_argument("--status", choices=["pending", "sending", "delivered", "dead"])
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = commands.add_parser("show", help="one message with its claim and the relay's notes")
    show.add_argument("id", type=int)
    show.add_argument("--payload", action="store_true", help="include the 报销单 sent")
    show.add_argument("--json", action="store_true", help="(the output is always JSON)")
    requeue = commands.add_parser("requeue", help="make a dead (or pending) message due now")
    target = requeue.add_mutually_exclusive_group(required=True)
    target.add_argument("id", type=int, nargs="?")
    target.add_argument("--all-dead", action="store_true")
    requeue.add_argument("--actor", default="operator", help="who requeues (noted in the audit log)")
    for parser in (listing, show, requeue):
        parser.set_defaults(func=cmd_outbox)


# ---------------------------------------------------------------- oa check / reconcile

def cmd_oa_check(args: argparse.Namespace) -> int:
    from api.oa_config import OaConfigError, build_adapter, describe, resolve
    from api.settings import get_settings

    settings = get_settings()
    try:
        adapter = build_adapter(settings)
        config = resolve(settings)
    except OaConfigError as exc:
        return _fail(exc)
    print(json.dumps({**describe(config), "configured": adapter is not None}, ensure_ascii=False, indent=2))
    if adapter is not None and hasattr(adapter, "close"):
        adapter.close()
    return 0


def cmd_oa_reconcile(args: argparse.Namespace) -> int:
    from api.db import init_db, make_engine, session_factory
    from api.oa_config import OaConfigError, build_adapter
    from api.reconcile import Reconciler
    from api.settings import get_settings

    settings = get_settings()
    try:
        adapter = build_adapter(settings)
    except OaConfigError as exc:
        return _fail(exc)
    if adapter is None:
        return _fail(RuntimeError("no OA is configured (REIMBURSE_OA_ADAPTER / REIMBURSE_OA_OPTIONS)"))
    engine = make_engine(settings.database_url)
    init_db(engine)
    after = settings.oa_reconcile_after_minutes if args.after_minutes is None else args.after_minutes
    try:
        reconciler = Reconciler(session_factory(engine), adapter, after=timedelta(minutes=after),
                                batch_size=settings.oa_reconcile_batch_size, workers=args.workers)
        print(json.dumps(reconciler.run_all().as_dict()))
    finally:
        engine.dispose()
        if hasattr(adapter, "close"):
            adapter.close()
    return 0


def add_oa_commands(oa: Any) -> None:
    check = oa.add_parser("check", help="validate the OA configuration and print it (secrets masked)")
    check.set_defaults(func=cmd_oa_check)
    reconcile = oa.add_parser("reconcile", help="compare waiting claims with the OA once (status / look-up)")
    reconcile.add_argument("--after-minutes", type=float, default=None,
                           help="only claims waiting at least this long (default REIMBURSE_OA_RECONCILE_AFTER_MINUTES)")
    reconcile.add_argument("--workers", type=int, default=1, help="OA calls in parallel")
    reconcile.set_defaults(func=cmd_oa_reconcile)


# ---------------------------------------------------------------- exports

def cmd_export(args: argparse.Namespace) -> int:
    from api import exports
    from api.routes.exports import voucher_options
    from api.settings import get_settings

    states = None if "all" in args.state else (args.state or ["approved"])
    try:
        with _session() as session:
            claims = exports.select_claims(session, states, args.date_from, args.date_to)
            if args.export_command == "claims":
                data = exports.claims_csv(claims) if args.format == "csv" else exports.claims_xlsx(claims)
                count = len(claims)
            else:
                options = voucher_options(get_settings(), args.voucher_date, args.start_no)
                batch = exports.build_vouchers(claims, options)
                header, rows = exports.vouchers_table(batch, args.format, options)
                data = (exports.table_csv(header, rows) if args.file_type == "csv"
                        else exports.table_xlsx([("凭证", header, rows)]))
                count = len(batch.vouchers)
                for doc_no, why in batch.skipped:
                    print(f"skipped {doc_no}: {why}", file=sys.stderr)
    except (ValueError, OSError) as exc:
        return _fail(exc)
    Path(args.output).write_bytes(data)
    print(f"wrote {count} {'claims' if args.export_command == 'claims' else 'vouchers'} to {args.output}")
    return 0


def add_export_parser(sub: Any) -> None:
    export = sub.add_parser("export", help="claims (CSV / Excel) and vouchers (用友 / 金蝶) for finance")
    commands = export.add_subparsers(dest="export_command", required=True)
    claims = commands.add_parser("claims", help="one row per claim (Excel: plus a sheet of lines)")
    claims.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    vouchers = commands.add_parser("vouchers", help="one voucher per claim in an ERP import layout")
    vouchers.add_argument("--format", choices=["yonyou", "kingdee"], required=True)
    vouchers.add_argument("--file-type", choices=["xlsx", "csv"], default="xlsx")
    vouchers.add_argument("--voucher-date", type=date.fromisoformat, help="date on every voucher (default: each "
                                                                           "claim's approval date)")
    vouchers.add_argument("--start-no", type=int, default=1, help="first voucher number")
    for parser in (claims, vouchers):
        parser.add_argument("-o", "--output", required=True, metavar="FILE")
        parser.add_argument("--state", action="append", default=[],
                            help="claim state (repeatable; default approved; 'all' for every state)")
        parser.add_argument("--from", dest="date_from", type=date.fromisoformat, help="first China date (YYYY-MM-DD)")
        parser.add_argument("--to", dest="date_to", type=date.fromisoformat, help="last China date (YYYY-MM-DD)")
        parser.set_defaults(func=cmd_export)


__all__ = ["add_export_parser", "add_oa_commands", "add_outbox_parser"]
