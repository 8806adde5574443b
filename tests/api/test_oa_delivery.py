"""The OA delivery guarantee, small: 200 claims through the Weaver emulator failing 30% of its calls and timing
out 5% (half of both after it did the work), several relays at once, lost / duplicate / stale callbacks, then
reconciliation. Every claim must exist exactly once at the OA with its decision written back, on SQLite and on
PostgreSQL. ``benchmarks/oa_delivery_bench.py`` runs the same with 10,000 claims."""

from __future__ import annotations

import logging

from benchmarks.oa_delivery_bench import BenchConfig, run


def test_200_claims_exactly_once_through_faults(database_url, caplog):
    caplog.set_level(logging.ERROR, logger="api.relay")
    result = run(BenchConfig(claims=200, database=database_url, relays=3, extra_relays=2, seed=11))
    assert result.ok, result.as_dict()["violations"]
    # the faults really happened, including the ones that duplicate documents when a client simply retries
    assert result.faults["create:error"] > 30 and result.faults["create:timeout"] > 0
    assert result.faults["lookup:error"] > 0 and result.faults["status:error"] + result.faults.get(
        "status:timeout", 0) > 0
    assert result.relay["sent"] == 200 and result.relay["dead"] == 0
    assert result.relay["deduplicated"] > 10  # created at the OA on an attempt whose answer was lost
    assert result.relay["failed"] == result.relay["retried"] > 60 and result.attempts == 200 + result.relay["failed"]
    # callbacks that never came were made up by polling; repeated and stale ones were answered and ignored
    assert result.callbacks["lost"] > 0 and result.reconcile["decided"] == result.callbacks["lost"]
    assert result.callbacks["duplicates_acknowledged"] > 0 and result.callbacks["stale_acknowledged"] > 0
    assert result.callbacks.get("not_acknowledged", 0) == 0


def test_the_check_catches_duplicates_when_retries_do_not_look_first(database_url, caplog, monkeypatch):
    """The same run with the Weaver adapter retrying blindly (as if it had an idempotency key it has not): the
    documents created on an attempt whose answer was lost are created again, and the run says so."""
    from pipeline.sync.weaver import WeaverAdapter

    caplog.set_level(logging.ERROR, logger="api.relay")
    monkeypatch.setattr(WeaverAdapter, "native_idempotency", True)
    result = run(BenchConfig(claims=60, database=database_url, relays=2, extra_relays=0, seed=5,
                             lost_callbacks=0.0))
    assert not result.ok and result.violations["duplicated_at_oa"]
    assert not result.violations["missing_at_oa"]
