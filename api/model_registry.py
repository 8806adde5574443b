"""Retraining the expense-category model from the corrections in the database, by hand or on a schedule.

Contract:
* ``retrain_from_db(session_factory, force=False, actor="system", **options) -> models.registry.Outcome``: reads the
  labelled examples (``api.corrections.labelled_examples``) in a short session, then trains, gates and swaps with
  ``models.registry.retrain`` (no database transaction is open while it trains). ``options`` go to that function
  (``runtime_dir``, ``scale``, ``shared``, ``max_f1_drop``, ``correction_weight``).
* ``retrain_if_due(session_factory, **options) -> Outcome | None``: retrains only when the corrections differ from
  those the current model learnt and from those of the last attempt (promoted or refused), and at least
  ``ModelSettings.retrain_min_new_corrections`` are new; ``None`` when not due.
* ``RetrainScheduler(session_factory, interval_seconds)``: a daemon thread calling ``retrain_if_due`` every interval
  until ``stop()``; ``start_scheduler(session_factory)`` starts one when ``ModelSettings.retrain_enabled``
  (``REIMBURSE_MODEL_RETRAIN_ENABLED``), else returns None. A failed attempt is logged and tried next interval.
* ``model_status()``: the model in use (version and where it came from) and the stored versions.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from api.corrections import labelled_examples
from api.db import SessionFactory
from models import registry
from models.category import load_model, resolve_model_dir
from models.corrections import examples_hash
from models.settings import get_model_settings

log = logging.getLogger(__name__)


def _examples(session_factory: SessionFactory):
    with session_factory() as session:
        return labelled_examples(session)


def retrain_from_db(session_factory: SessionFactory, force: bool = False, actor: str = "system",
                    **options: Any) -> registry.Outcome:
    examples = _examples(session_factory)
    return registry.retrain(examples, force=force, actor=actor, **options)


def _learnt(runtime_dir) -> tuple[str, int]:
    """Corrections hash and count of the current model in the store ("" and 0 for the shipped baseline)."""
    version = registry.current_version(runtime_dir)
    if version is None:
        return "", 0
    meta = load_model(registry.store_dir(runtime_dir) / f"category-{version}.joblib").meta
    learnt = meta.get("corrections") or {}
    return learnt.get("hash", ""), learnt.get("used", 0)


def retrain_if_due(session_factory: SessionFactory, **options: Any) -> registry.Outcome | None:
    examples = _examples(session_factory)
    current = examples_hash(examples)
    runtime_dir = options.get("runtime_dir")
    learnt_hash, learnt_n = _learnt(runtime_dir)
    if current in (learnt_hash, registry.last_attempt_hash(runtime_dir)):
        return None
    if sum(e.teaches for e in examples) - learnt_n < get_model_settings().retrain_min_new_corrections:
        return None
    return registry.retrain(examples, actor="scheduler", **options)


class RetrainScheduler:
    def __init__(self, session_factory: SessionFactory, interval_seconds: float, **options: Any):
        self._stop = threading.Event()
        self._session_factory, self._interval, self._options = session_factory, interval_seconds, options
        self.last_outcome: registry.Outcome | None = None
        self._thread = threading.Thread(target=self._run, name="model-retrain", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                outcome = retrain_if_due(self._session_factory, **self._options)
            except registry.StoreBusy:
                continue
            except Exception:  # keep the scheduler alive; the next interval tries again
                log.exception("scheduled retraining failed")
                continue
            if outcome is not None:
                self.last_outcome = outcome
                log.info("scheduled retraining: %s %s (macro-F1 %s, previous %s)", outcome.status, outcome.version,
                         outcome.macro_f1, outcome.previous_macro_f1)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start_scheduler(session_factory: SessionFactory) -> RetrainScheduler | None:
    settings = get_model_settings()
    if not settings.retrain_enabled:
        return None
    scheduler = RetrainScheduler(session_factory, settings.retrain_interval_hours * 3600)
    scheduler.start()
    return scheduler


def model_status() -> dict[str, Any]:
    folder = resolve_model_dir()
    model = load_model()
    return {"version": model.model_version, "directory": str(folder),
            "runtime_dir": str(registry.store_dir()), "threshold": model.threshold,
            "versions": [v.to_json() for v in registry.versions()]}
