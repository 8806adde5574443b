"""Where the slow jobs run: in this process (the embedded default) or on Celery workers (to scale out).

Two jobs exist, and both run the same functions whichever backend runs them:

* ``reimburse.extract``: one file's bytes -> ``pipeline.runner.extract_bytes`` -> the JSON of the ``Extraction``
  (``pipeline.serialize.extraction_to_json``). OCR is the expensive step, so any number of worker processes on
  any number of machines can take these from the broker;
* ``reimburse.relay``: one pass of the outbox relay (``api.relay.relay_once``), for deployments that run the
  relay as a periodic Celery task instead of the API's in-process thread.

``extract(name, data, settings)`` is what the services call: with ``jobs_backend="inprocess"`` it calls the
runner directly; with ``"celery"`` it sends the job to the broker (``celery_broker_url``, RabbitMQ or Redis) and
waits up to ``celery_timeout_seconds`` for the result (``celery_result_backend``, Redis). Start a worker with
``celery -A api.workers worker --loglevel=info`` (it reads the same ``REIMBURSE_*`` settings).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from api.settings import Settings, get_settings
from pipeline import runner, serialize
from pipeline.types import Extraction

EXTRACT_TASK = "reimburse.extract"
RELAY_TASK = "reimburse.relay"


_QUICK_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


class JobBackendUnavailable(RuntimeError):
    """The broker or the workers cannot be reached; the upload is refused rather than lost."""


def make_celery(settings: Settings) -> Celery:
    app = Celery("reimburse", broker=settings.celery_broker_url, backend=settings.celery_result_backend)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                    task_acks_late=True, worker_prefetch_multiplier=1, result_expires=3600,
                    broker_connection_retry_on_startup=True, broker_connection_timeout=5,
                    # fail fast when the broker or result store is down: the upload is refused, not stalled
                    task_publish_retry_policy=_QUICK_RETRY, broker_transport_options=_QUICK_RETRY,
                    result_backend_transport_options=_QUICK_RETRY, redis_socket_connect_timeout=5)

    @app.task(name=EXTRACT_TASK)
    def extract_task(name: str, data_b64: str) -> dict:
        return serialize.extraction_to_json(runner.extract_bytes(name, base64.b64decode(data_b64)))

    @app.task(name=RELAY_TASK)
    def relay_task() -> int:
        from sqlmodel import Session

        from api.app import build_adapter
        from api.db import make_engine
        from api.relay import RetryPolicy, relay_once

        adapter = build_adapter(settings)
        if adapter is None:
            return 0
        engine = make_engine(settings.database_url)
        try:
            return relay_once(lambda: Session(engine), adapter, retry=RetryPolicy.from_settings(settings))
        finally:
            engine.dispose()

    return app


@lru_cache(maxsize=4)
def _celery_for(broker: str, backend: str) -> Celery:
    settings = get_settings().model_copy(update={"celery_broker_url": broker, "celery_result_backend": backend})
    return make_celery(settings)


def celery_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    return _celery_for(settings.celery_broker_url, settings.celery_result_backend)


def extract(name: str, data: bytes, settings: Settings | None = None) -> Extraction:
    settings = settings or get_settings()
    if settings.jobs_backend == "inprocess":
        return runner.extract_bytes(name, data)
    try:
        result = celery_app(settings).send_task(EXTRACT_TASK, args=[name, base64.b64encode(data).decode()])
        return serialize.extraction_from_json(result.get(timeout=settings.celery_timeout_seconds))
    except CeleryTimeout as exc:
        raise JobBackendUnavailable(f"no OCR worker answered within {settings.celery_timeout_seconds:.0f} s; "
                                    "please try again later") from exc
    except (BrokerError, RedisError, OSError, RuntimeError) as exc:  # RuntimeError: result store retries exhausted
        raise JobBackendUnavailable(f"the job queue is unreachable ({exc}); please try again later") from exc


# ``celery -A api.workers worker`` looks for a module-level ``app``; build it only when Celery asks for it.
def __getattr__(name: str):
    if name in {"app", "celery"}:
        return celery_app()
    raise AttributeError(name)
