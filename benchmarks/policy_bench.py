"""Policy-engine throughput: invoice lines checked per second on one core, excluding I/O.

    python -m benchmarks.policy_bench [--invoices 20000] [--history 50000] [--claim-size 8] [--seed 7] [--repeat 3]

Builds synthetic travel claims (two rail tickets and a hotel, then meals, taxi rides, tolls and office goods, with a
share of policy breaches) and an in-memory history of past claims from the same sellers, then times, after a
warm-up and in one thread, building each ``ClaimInput`` from its invoices and either ``check_claim`` (every rule) or
``evaluate_claim`` (rules, budget, allowances, amounts after caps, routing) over all claims. Making the invoices (what extraction or the database hands over) and loading the
policy are not timed. The figure is invoice lines per second of this process's CPU time (``time.process_time``),
best and median of ``--repeat`` runs on fresh claims, so other work on a shared machine distorts it less; the wall
time is shown too. Prints a markdown table with the command line.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from pipeline.policy import (
    BudgetState, ClaimInput, ClaimLine, InMemoryHistory, TravelRequest, check_claim, evaluate_claim, load_org,
    load_policy,
)
from pipeline.policy.check_cli import DEFAULT_POLICY
from pipeline.policy.schema import master_data_path
from pipeline.types import FieldSource, Invoice, InvoiceKind, LineItem

CITIES = ["北京", "上海", "广州", "杭州", "成都", "拉萨", "大连", "长沙"]
SEATS = ["二等座", "二等座", "二等座", "一等座", "硬卧"]


def _inv(kind: InvoiceKind, fields: dict, items=(), confidence: float = 0.99) -> Invoice:
    inv = Invoice(kind=kind)
    for key, value in fields.items():
        inv.set(key, value, confidence, FieldSource.XML)
    inv.items.extend(items)
    return inv


def _spec(invoice: Invoice, category: str, **extra) -> tuple[Invoice, dict]:
    """An invoice and what the claim says about it; the ``ClaimLine`` is built inside the timed loop."""
    return invoice, {"category": category, **extra}


class Generator:
    def __init__(self, seed: int, buyer: tuple[str, str]) -> None:
        self.rng = random.Random(seed)
        self.serial = 0
        self.buyer = {"buyer_name": buyer[0], "buyer_tax_id": buyer[1]}
        self.sellers = [(f"某{n}号餐饮有限公司", f"91420100MA4K{n:05d}X") for n in range(2000)]
        self.hotels = [(f"某{n}号酒店有限公司", f"91110100MA01{n:05d}H") for n in range(500)]

    def number(self) -> str:
        self.serial += 1
        return f"2642{self.serial:016d}"

    def money(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low * 100, high * 100)) / 100

    def vat(self, day: date, seller: tuple[str, str], total: Decimal, item: str, rate: str) -> Invoice:
        ex = (total / (1 + Decimal(rate))).quantize(Decimal("0.01"))
        return _inv(InvoiceKind.DIGITAL_NORMAL,
                    {"invoice_number": self.number(), "issue_date": day, "total_incl_tax": total,
                     "amount_excl_tax": ex, "tax_amount": total - ex, "seller_name": seller[0],
                     "seller_tax_id": seller[1], **self.buyer},
                    [LineItem(item, ex, rate, total - ex)])

    def rail(self, when: datetime, start: str, end: str) -> Invoice:
        return _inv(InvoiceKind.RAIL_E_TICKET,
                    {"invoice_number": self.number(), "issue_date": when.date() + timedelta(days=2),
                     "total_incl_tax": self.money(80, 900), "depart_datetime": when, "from_station": start,
                     "to_station": end + "南", "seat_class": self.rng.choice(SEATS), "train_no": f"G{self.serial % 999}",
                     "seat_no": f"0{self.serial % 9 + 1}车{self.serial % 20 + 1}A号", **self.buyer})

    def claim_lines(self, size: int, start: date, city: str) -> list[tuple[Invoice, dict]]:
        rng = self.rng
        nights = rng.randint(1, 4)
        end = start + timedelta(days=nights)
        lines = [_spec(self.rail(datetime.combine(start, datetime.min.time()) + timedelta(hours=8), "武汉", city),
                           "travel.transport"),
                 _spec(self.rail(datetime.combine(end, datetime.min.time()) + timedelta(hours=17), city, "武汉"),
                           "travel.transport"),
                 _spec(self.vat(end, rng.choice(self.hotels), self.money(300, 700) * nights, "*住宿服务*住宿费",
                                    "0.06"), "travel.lodging", city=city, check_in=start, check_out=end)]
        while len(lines) < size:
            pick = rng.random()
            day = start + timedelta(days=rng.randint(0, nights))
            if pick < 0.45:
                lines.append(_spec(self.vat(day, rng.choice(self.sellers), self.money(40, 2500), "*餐饮服务*餐费",
                                                "0.06"), "entertainment", attendees=rng.randint(2, 8),
                                       pre_approval="ZD1"))
            elif pick < 0.7:
                lines.append(_spec(_inv(InvoiceKind.TAXI, {
                    "invoice_code": "111001981234", "invoice_number": f"{self.serial % 10**8:08d}",
                    "issue_date": day, "total_incl_tax": self.money(15, 120)}), "travel.transport"))
                self.serial += 7
            elif pick < 0.85:
                lines.append(_spec(self.vat(day, rng.choice(self.sellers), self.money(20, 400),
                                                "*经营租赁*通行费", "0.03"), "vehicle.toll"))
            else:
                lines.append(_spec(self.vat(day, rng.choice(self.sellers), self.money(50, 900),
                                                rng.choice(["*纸制品*A4打印纸", "*办公用品*办公用品", "*酒*白酒"]), "0.13"),
                                       "office"))
        return lines


def build(n_invoices: int, n_history: int, claim_size: int, seed: int, policy, org):
    gen = Generator(seed, (org.company.legal_name, org.company.tax_id))
    employees = list(org.employees.values())
    history = InMemoryHistory()
    first = date(2026, 1, 5)
    made = 0
    while made < n_history:
        lines = gen.claim_lines(claim_size, first + timedelta(days=gen.rng.randint(0, 150)), gen.rng.choice(CITIES))
        claim_no = f"BXH{made:08d}"
        for invoice, _ in lines:
            history.add(invoice, claim_no, gen.rng.choice(employees).emp_no)
        made += len(lines)
    claims = []
    made = 0
    while made < n_invoices:
        start = first + timedelta(days=gen.rng.randint(0, 150))
        city = gen.rng.choice(CITIES)
        lines = gen.claim_lines(claim_size, start, city)
        trip = TravelRequest(start, lines[1][0].get("depart_datetime").date(), (city,), "benchmark")
        employee = gen.rng.choice(employees)
        claims.append((employee, lines, trip.end + timedelta(days=gen.rng.randint(1, 35)), trip, f"BX{made:08d}"))
        made += len(lines)
    return claims, history


def _claim(spec: tuple) -> ClaimInput:
    employee, lines, submitted, trip, claim_no = spec
    return ClaimInput(employee, [ClaimLine(inv, **extra) for inv, extra in lines], submitted, trip, claim_no=claim_no)


MODES = {
    "check_claim (every rule)": lambda claim, policy, org, history, budgets: check_claim(
        claim, policy, org.company, history),
    "evaluate_claim (rules + budget + allowances + amounts + route)": lambda claim, policy, org, history, budgets:
        evaluate_claim(claim, policy, org.company, history, budgets).findings,
}


def run(n_invoices: int, n_history: int, claim_size: int, seed: int, repeat: int = 3) -> dict[str, dict]:
    policy = load_policy(DEFAULT_POLICY)
    org = load_org(master_data_path(policy))
    claims, history = build(n_invoices, n_history, claim_size, seed, policy, org)
    budgets = [BudgetState("department", "D01", Decimal("200000.00"), consumed=Decimal("150000.00"))]
    for spec in claims[:50]:  # warm-up: imports, calendar cache, compiled conditions
        evaluate_claim(_claim(spec), policy, org.company, history, budgets)
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for n in range(repeat):  # fresh claims each time; every mode builds its own ClaimLines (nothing cached on them)
        claims, history = build(n_invoices, n_history, claim_size, seed + 1 + n, policy, org)
        for mode, fn in MODES.items():
            findings = 0
            wall, cpu = time.perf_counter(), time.process_time()
            for spec in claims:
                findings += len(fn(_claim(spec), policy, org, history, budgets))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            runs[mode].append({"claims": len(claims), "invoices": sum(len(c[1]) for c in claims),
                               "findings": findings, "cpu": cpu, "wall": wall})
    out = {}
    for mode, results in runs.items():
        results.sort(key=lambda r: r["invoices"] / r["cpu"])
        out[mode] = {"best": results[-1], "median": results[len(results) // 2]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--invoices", type=int, default=20_000)
    p.add_argument("--history", type=int, default=50_000)
    p.add_argument("--claim-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    result = run(args.invoices, args.history, args.claim_size, args.seed, args.repeat)
    command = ("python -m benchmarks.policy_bench " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    print(f"`{command}` (one thread; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n")
    print(f"| stage | claims | invoice lines | history invoices | findings | CPU s, best of {args.repeat} (wall) | "
          "invoice lines / CPU s: best (median) |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in result.items():
        best, median = r["best"], r["median"]
        print(f"| {mode} | {best['claims']} | {best['invoices']} | {args.history} | {best['findings']} | "
              f"{best['cpu']:.2f} ({best['wall']:.2f}) | **{best['invoices'] / best['cpu']:,.0f}** "
              f"({median['invoices'] / median['cpu']:,.0f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
