"""The OA side of an app's life: its metrics and the background workers its lifespan runs.

Contract:
* ``attach_metrics(app, adapter, session_factory) -> OaMetrics``: a fresh ``OaMetrics`` (own registry) on
  ``app.state.metrics``, with the outbox gauges read from the app's database; ``GET /metrics`` serves it.
* ``start_workers(session_factory, adapter, settings, metrics) -> OaWorkers``: with an adapter, starts
  ``settings.relay_workers`` relay threads when ``relay_enabled`` and one reconciliation thread when
  ``oa_reconcile_enabled``; ``OaWorkers.stop()`` stops them all (relays first, so reconciliation sees their last
  writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import FastAPI

from api.db import SessionFactory
from api.metrics import OaMetrics
from api.oa_config import adapter_label
from api.reconcile import ReconcileThread
from api.relay import RelayThread
from api.settings import Settings
from pipeline.sync.base import OaAdapter


def attach_metrics(app: FastAPI, adapter: OaAdapter | None, session_factory: SessionFactory) -> OaMetrics:
    metrics = OaMetrics(adapter_label(adapter))
    metrics.watch_database(session_factory)
    app.state.metrics = metrics
    return metrics


@dataclass
class OaWorkers:
    relays: list[RelayThread] = field(default_factory=list)
    reconciler: ReconcileThread | None = None

    def stop(self) -> None:
        for relay in self.relays:
            relay.stop()
        if self.reconciler is not None:
            self.reconciler.stop()


def start_workers(session_factory: SessionFactory, adapter: OaAdapter | None, settings: Settings,
                  metrics: OaMetrics | None = None) -> OaWorkers:
    workers = OaWorkers()
    if adapter is None:
        return workers
    if settings.relay_enabled:
        workers.relays = [RelayThread(session_factory, adapter, settings, metrics=metrics, name=f"outbox-relay-{i}")
                          for i in range(max(1, settings.relay_workers))]
    if settings.oa_reconcile_enabled:
        workers.reconciler = ReconcileThread(session_factory, adapter, settings, metrics=metrics)
    for relay in workers.relays:
        relay.start()
    if workers.reconciler is not None:
        workers.reconciler.start()
    return workers


__all__ = ["OaWorkers", "attach_metrics", "start_workers"]
