"""OCR jobs on Celery workers: the same extraction, run through a real broker (RabbitMQ or Redis) and a real
worker, gives the same result as in-process; an unreachable broker or absent worker is a clear error."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from api import workers
from api.settings import Settings
from pipeline.runner import extract_bytes
from pipeline.serialize import extraction_to_json

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "invoices" / "toll_11162913.pdf"


@pytest.fixture(autouse=True)
def real_extraction(monkeypatch):
    """These tests run the real pipeline on the workers, not the API suite's fake."""
    import pipeline.runner

    monkeypatch.setattr(pipeline.runner, "extract_bytes", extract_bytes)


def _celery_settings(broker: str, backend: str, **extra) -> Settings:
    return Settings(jobs_backend="celery", celery_broker_url=broker, celery_result_backend=backend, **extra)


@pytest.fixture(params=["rabbitmq", "redis"])
def broker_url(request) -> str:
    if request.param == "rabbitmq":
        return request.getfixturevalue("rabbitmq_url")
    return request.getfixturevalue("redis_url")


def test_extraction_on_a_celery_worker_equals_in_process(broker_url, redis_url):
    settings = _celery_settings(broker_url, redis_url)
    app = workers.make_celery(settings)
    queue = f"test-{uuid.uuid4().hex[:8]}"  # a private queue: no stray worker of another run takes our job
    app.conf.task_default_queue = queue
    workers._celery_for.cache_clear()
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=60, queues=[queue]):
        # send through the app bound to the private queue
        result = app.send_task(workers.EXTRACT_TASK, args=[SAMPLE.name, __import__("base64").b64encode(
            SAMPLE.read_bytes()).decode()], queue=queue)
        remote = result.get(timeout=60)
    local = extraction_to_json(extract_bytes(SAMPLE.name, SAMPLE.read_bytes()))
    assert remote["invoices"] == local["invoices"]
    assert remote["invoices"][0]["fields"]["invoice_number"] == "11162913" and remote["error"] is None


def test_extract_goes_through_the_queue_when_configured(broker_url, redis_url, monkeypatch):
    settings = _celery_settings(broker_url, redis_url)
    app = workers.celery_app(settings)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=60):
        extraction = workers.extract(SAMPLE.name, SAMPLE.read_bytes(), settings)
    assert [i.get("invoice_number") for i in extraction.invoices] == ["11162913"]
    assert str(extraction.invoices[0].total) == "190.19"


def test_no_worker_is_a_clear_error_not_a_hang(redis_url):
    settings = _celery_settings(redis_url, redis_url, celery_timeout_seconds=1.0)
    workers._celery_for.cache_clear()
    app = workers.celery_app(settings)
    app.conf.task_default_queue = f"nobody-listens-{uuid.uuid4().hex[:8]}"
    with pytest.raises(workers.JobBackendUnavailable, match="no OCR worker answered"):
        workers.extract(SAMPLE.name, SAMPLE.read_bytes(), settings)
    workers._celery_for.cache_clear()


def test_unreachable_broker_is_a_clear_error():
    settings = _celery_settings("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0", celery_timeout_seconds=2.0)
    workers._celery_for.cache_clear()
    try:
        with pytest.raises(workers.JobBackendUnavailable):
            workers.extract(SAMPLE.name, SAMPLE.read_bytes(), settings)
    finally:
        workers._celery_for.cache_clear()


def test_in_process_is_the_default():
    assert Settings().jobs_backend == "inprocess"
    extraction = workers.extract(SAMPLE.name, SAMPLE.read_bytes(), Settings())
    assert extraction.invoices[0].get("invoice_number") == "11162913"
