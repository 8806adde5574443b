"""The ``make run`` path: demo invoices through the whole product over real HTTP, then serve the API.

``run_demo()`` starts, in this process, the API on ``host:port`` (fresh SQLite database ``var/demo.db``, the
outbox relay as an in-process thread) and the built-in demo OA on a free loopback port. Then, as a client would:

1. employee E001 uploads the two toll e-invoice PDFs in ``samples/invoices``, files a claim and submits it;
   the relay delivers the signed 报销单 to the OA, which approves it and calls back (signed) → ``approved``;
2. employee E002 uploads the phone photo of a 京东 invoice made out to 个人; the checks flag the invoice title, so
   the claim stays a draft for finance to look at (submitting it is refused with the reasons);
3. a summary of fields, categories, findings and OA status is printed, and the API keeps serving until Ctrl-C.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from api import loopback
from api.app import create_app
from api.oa_receiver import DemoOa, create_receiver_app
from api.settings import Settings
from pipeline.sync.webhook import generate_secret

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
VAR = Path("var")
CLAIMS = (
    ("E001", ["toll_11162913.pdf", "toll_07007198.pdf"], "3月武汉—十堰送货高速通行费"),
    ("E002", ["jd_photo_33207675.png"], "办公零食采购"),
)


def _print_invoice(inv: dict[str, Any]) -> None:
    f = inv["data"]["fields"]
    print(f"    · {inv['kind']}  no. {f.get('invoice_number', '?')}  {f.get('issue_date', '?')}  "
          f"¥{f.get('total_incl_tax', '?')}")
    print(f"      seller {f.get('seller_name', '?')} ({f.get('seller_tax_id', '?')}), "
          f"buyer {f.get('buyer_name', '?')}")
    category = inv.get("category") or "—"
    abstained = " (abstained: finance decides)" if inv.get("abstained") else ""
    print(f"      category {category} {inv.get('category_confidence') or 0:.2f}{abstained}")


def _print_claim(claim: dict[str, Any]) -> None:
    print(f"  claim {claim['doc_no']} by {claim['employee_no']}: {claim['state']}, total ¥{claim['total']} "
          f"({claim['total_upper']}), OA {claim['oa_status'] or '—'} {claim['oa_request_id'] or ''}")
    for finding in claim["findings"]:
        about = f" (invoice {finding['invoice_id']})" if finding.get("invoice_id") else ""
        print(f"    ! {finding['rule_id']} [{finding['severity']}]{about} {finding['message_zh']}")
        print(f"      {finding['message_en']}")


def _run_scenario(client: httpx.Client) -> list[dict[str, Any]]:
    claims = []
    for emp_no, names, reason in CLAIMS:
        files = [("files", (n, (SAMPLES / "invoices" / n).read_bytes())) for n in names]
        print(f"\n{emp_no} uploads {', '.join(names)}")
        t0 = time.perf_counter()
        uploaded = client.post(f"/api/employees/{emp_no}/uploads", files=files).raise_for_status().json()
        print(f"  read in {time.perf_counter() - t0:.1f} s")
        invoice_ids = []
        for result in uploaded:
            if result["error"]:
                print(f"  {result['name']}: {result['error']}")
            for inv in result["invoices"]:
                _print_invoice(inv)
                invoice_ids.append(inv["id"])
        claim = client.post("/api/claims", json={"employee_no": emp_no, "invoice_ids": invoice_ids,
                                                 "reason": reason}).raise_for_status().json()
        submitted = client.post(f"/api/claims/{claim['id']}/submit")
        if submitted.status_code == 422:
            print(f"  submit refused: {submitted.json().get('detail')}")
        else:
            submitted.raise_for_status()
        claims.append(claim)
    return claims


def _wait_for_decisions(client: httpx.Client, claims: list[dict[str, Any]], timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        current = [client.get(f"/api/claims/{c['id']}").raise_for_status().json() for c in claims]
        if all(c["state"] != "pending_approval" for c in current) or time.monotonic() > deadline:
            return current
        time.sleep(0.3)


def run_demo(serve: bool = True, host: str = "127.0.0.1", port: int = 8000) -> int:
    VAR.mkdir(exist_ok=True)
    db = VAR / "demo.db"
    for stale in (db, db.with_name("demo.db-wal"), db.with_name("demo.db-shm")):
        stale.unlink(missing_ok=True)  # the demo starts from an empty database every time
    webhook_secret, callback_secret = generate_secret(), generate_secret()
    oa = DemoOa(webhook_secret, f"http://{host}:{port}/api/oa/callback", callback_secret)
    oa_server = loopback.start(create_receiver_app(oa))  # a free loopback port
    settings = Settings(database_url=f"sqlite:///{db}", storage_dir=VAR / "files",
                        org_file=SAMPLES / "org" / "company.yaml",
                        oa_webhook_url=f"{oa_server.url}/webhook", oa_webhook_secret=webhook_secret,
                        oa_callback_secret=callback_secret, relay_enabled=True, relay_poll_seconds=0.5)
    try:
        api_server = loopback.start(create_app(settings), host, port)
    except (OSError, RuntimeError) as exc:
        oa_server.stop()
        print(f"cannot serve on {host}:{port} ({exc}); is another `make run` still running?")
        return 1
    print(f"API on http://{host}:{port} (database {db}), demo OA on {oa_server.url}")
    try:
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=120) as client:
            claims = _wait_for_decisions(client, _run_scenario(client))
        print("\n=== Summary")
        for claim in claims:
            _print_claim(claim)
        print(f"  OA received {len(oa.approvals)} document(s): "
              + ", ".join(f"{a.oa_request_id} {a.document.get('doc_no')} → {a.decision}" for a in oa.approvals))
        if serve:
            print(f"\nServing the API on http://{host}:{port} (OpenAPI: /docs). Ctrl-C to stop.")
            while api_server.thread.is_alive():
                api_server.thread.join(timeout=1)
    except KeyboardInterrupt:
        pass
    finally:
        api_server.stop()
        oa_server.stop()
    return 0
