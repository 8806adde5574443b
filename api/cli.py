"""The ``reimburse`` command.

Contracts (evaluation scripts rely on these; keep them stable):

* ``reimburse extract --json FILE...`` prints one JSON line per file:
  ``{"file": PATH, "invoices": [{"kind", "fields", "confidence", ...}], "error": null | "message"}``.
  A bad file gives an ``error`` and the command goes on with the next file; the exit code is 0 unless
  no file at all could be read.
* ``reimburse classify --json`` reads JSON lines ``{"seller_name", "items": [{"name"}], "kind"}`` on stdin and
  prints ``{"category", "confidence", "abstained", "model_version"}`` per line.

* ``reimburse check --json CLAIM.json`` evaluates a claim (employee, trip, invoices as printed by ``extract``)
  against the policy (``--policy``, ``--org``; default ``samples/policy/policy.yaml`` and the org file it names) and
  prints ``{"findings", "route", "allowances", ...}`` without saving anything; bad input exits with code 2
  (``pipeline.policy.check_cli``).

Other commands: ``train`` (retrain on finance corrections; ``--baseline`` rebuilds the shipped model) and ``model
list|rollback|promote`` (``api.model_cli``), ``demo`` (the ``make run`` path), ``serve``, ``relay``,
``oa dry-run --adapter NAME --claim-json FILE [--mapping FILE]`` (print the request body an OA adapter would send
for a 报销单, mapping default ``samples/oa/<NAME>.yaml``; exit code 2 on an invalid mapping or document),
``oa check|reconcile``, ``outbox list|show|requeue`` and ``export claims|vouchers`` (``api.oa_cli``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.model_cli import add_model_parser
from api.oa_cli import add_export_parser, add_oa_commands, add_outbox_parser


def _classifier():
    from models.category import load_model

    return load_model()


def _classify_invoice(model, inv) -> Any:
    """The invoice's category; each item line also gets its own (printed as ``items[].category``)."""
    seller, amount = inv.get("seller_name"), inv.get("total_incl_tax")
    if inv.items:
        lines = model.classify_lines(seller, inv.items, kind=inv.kind.value, amount=amount)
        inv.items = [dataclasses.replace(i, category=c.category) for i, c in zip(inv.items, lines, strict=True)]
    return model.classify(seller, [i.name for i in inv.items], kind=inv.kind.value, amount=amount)


def cmd_extract(args: argparse.Namespace) -> int:
    from pipeline.runner import extract_file
    from pipeline.serialize import invoice_to_json

    model = None if args.no_classify else _classifier()
    files = [Path(f) for f in args.files]
    ok = 0
    progress = tqdm(files, desc="extracting", unit="file", file=sys.stderr,
                    disable=len(files) < 2 or not sys.stderr.isatty())
    for path in progress:
        result = extract_file(path)
        invoices = []
        for inv in result.invoices:
            classification = _classify_invoice(model, inv) if model is not None else None
            invoices.append(invoice_to_json(inv, classification))
        ok += result.error is None
        record = {"file": str(path), "invoices": invoices, "error": result.error}
        if args.timings:
            record["timings"] = {k: round(v, 4) for k, v in result.timings.items()}
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            _print_human(record)
    return 0 if ok or not files else 1


def _print_human(record: dict[str, Any]) -> None:
    print(f"== {record['file']}")
    if record["error"]:
        print(f"   error: {record['error']}")
    for inv in record["invoices"]:
        f = inv["fields"]
        print(f"   {inv['kind']}: no. {f.get('invoice_number', '?')}  date {f.get('issue_date', '?')}  "
              f"total {f.get('total_incl_tax', '?')}  seller {f.get('seller_name', '?')}  "
              f"category {f.get('category', '-')}")
        for issue in inv.get("issues", []):
            print(f"     ! {issue['message']}")


def cmd_classify(args: argparse.Namespace) -> int:
    model = _classifier()
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
            items = [i["name"] if isinstance(i, dict) else str(i) for i in row.get("items") or []]
            amount = row.get("amount")
            amount = Decimal(str(amount)) if amount not in (None, "") else None
            c = model.classify(row.get("seller_name"), items, kind=row.get("kind"), amount=amount,
                               in_trip=row.get("in_trip"))
            out: dict[str, Any] = {"category": c.category, "confidence": round(c.confidence, 4),
                                   "abstained": c.abstained, "model_version": c.model_version}
        except (json.JSONDecodeError, AttributeError, TypeError, KeyError, InvalidOperation) as exc:
            out = {"category": None, "confidence": 0.0, "abstained": True, "model_version": None,
                   "error": f"line {lineno}: {exc}"}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.policy.check_cli import check_command

    return check_command(args.claim, policy=args.policy, org=args.org, as_json=args.json)


def cmd_train(args: argparse.Namespace) -> int:
    from api.model_cli import train_command

    return train_command(args.rest)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    uvicorn.run(create_app(), host=args.host, port=args.port)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from api.demo import run_demo

    return run_demo(serve=not args.no_serve, host=args.host, port=args.port)


def cmd_oa_dry_run(args: argparse.Namespace) -> int:
    from pipeline.sync.mapping import MappingError, render_payload

    mapping = args.mapping
    if mapping is None and args.adapter != "generic_webhook":
        mapping = Path("samples/oa") / f"{args.adapter}.yaml"
    try:
        document = json.loads(Path(args.claim_json).read_text(encoding="utf-8"))
        payload = render_payload(args.adapter, document, mapping)
    except (OSError, json.JSONDecodeError, MappingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(payload, ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reimburse", description="Invoice OCR and reimbursement pipeline")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("extract", help="read invoices from files and print their fields")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--json", action="store_true", help="one JSON line per file (the stable contract)")
    e.add_argument("--timings", action="store_true", help="add per-stage timings to each record")
    e.add_argument("--no-classify", action="store_true", help="skip the expense-category model")
    e.set_defaults(func=cmd_extract)

    c = sub.add_parser("classify", help="expense category for JSON lines on stdin")
    c.add_argument("--json", action="store_true", help="JSON lines in and out (the only mode)")
    c.set_defaults(func=cmd_classify)

    k = sub.add_parser("check", help="check a claim described in JSON against the expense policy")
    k.add_argument("claim", metavar="CLAIM.json", help="the claim (employee, trip, invoices); '-' reads stdin")
    k.add_argument("--json", action="store_true", help="print the result as one JSON object")
    k.add_argument("--policy", help="policy YAML (default: samples/policy/policy.yaml)")
    k.add_argument("--org", help="master data YAML (default: the file the policy names)")
    k.set_defaults(func=cmd_check)

    t = sub.add_parser("train", help="retrain the expense-category model on the repo data + finance corrections "
                                     "(--baseline: rebuild the shipped model); see api.model_cli")
    t.add_argument("rest", nargs=argparse.REMAINDER)
    t.set_defaults(func=cmd_train)
    add_model_parser(sub)

    for name, func, helptext in (("serve", cmd_serve, "serve the API"),
                                 ("demo", cmd_demo, "the `make run` path: demo data through to OA, then serve")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--port", type=int, default=8000)
        if name == "demo":
            s.add_argument("--no-serve", action="store_true", help="stop after the summary")
        s.set_defaults(func=func)

    oa = sub.add_parser("oa", help="OA integration tools").add_subparsers(dest="oa_command", required=True)
    d = oa.add_parser("dry-run", help="print the payload an OA adapter would send for a claim document")
    d.add_argument("--adapter", required=True, help="weaver, seeyon, landray, dingtalk, wecom, feishu or "
                                                    "generic_webhook")
    d.add_argument("--claim-json", required=True, metavar="FILE", help="the 报销单 (DOMAIN §8.1) as JSON")
    d.add_argument("--mapping", metavar="FILE", help="field mapping YAML (default samples/oa/<adapter>.yaml)")
    d.set_defaults(func=cmd_oa_dry_run)
    add_oa_commands(oa)  # oa check, oa reconcile; then outbox list|show|requeue and export (api.oa_cli)
    add_outbox_parser(sub)
    add_export_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # argparse.REMAINDER would refuse leading --options: train parses its own
        return cmd_train(argparse.Namespace(rest=argv[1:]))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
