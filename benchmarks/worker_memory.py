"""Peak memory of one real Celery OCR worker process over a stream of phone photos and real invoice images.

    python -m benchmarks.worker_memory [--photos benchmarks/out/photos] [--broker amqp://...] [--backend redis://...]
                                       [--runtime auto|onnxruntime|openvino]

Starts ``celery -A api.workers worker --pool=solo`` (one process: the unit that scales out) with the given
``REIMBURSE_OCR_RUNTIME``, sends every generated photo and every image of ../shared/data/real through
``api.workers.extract`` (the same call the API makes with ``jobs_backend="celery"``), then reads the worker's peak
resident memory (``VmHWM`` in ``/proc/<pid>/status``) before stopping it. Needs the broker and the result backend
running (RabbitMQ and Redis on this machine). Prints the figures and the command.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.truth import REAL, REPO


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        return dict(line.split(":", 1) for line in fh if ":" in line)


def _mb(value: str) -> float:
    return int(value.split()[0]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=REPO / "benchmarks" / "out" / "photos")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--backend", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--runtime", default="auto", choices=["auto", "onnxruntime", "openvino"])
    args = parser.parse_args(argv)
    files = sorted(args.photos.glob("*.jpg")) + sorted(p for p in REAL.glob("cn_img*/*")
                                                       if p.suffix.lower() in {".jpg", ".png", ".jpeg"})
    if not files:
        parser.error("no images: generate photos with python -m benchmarks.photos.generate")
    queue = f"bench-memory-{os.getpid()}"
    env = {**os.environ, "REIMBURSE_JOBS_BACKEND": "celery", "REIMBURSE_CELERY_BROKER_URL": args.broker,
           "REIMBURSE_CELERY_RESULT_BACKEND": args.backend, "REIMBURSE_OCR_RUNTIME": args.runtime}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "api.workers", "worker", "--pool=solo",
                               "--loglevel=WARNING", "-Q", queue], cwd=REPO, env=env)
    try:
        os.environ.update({k: v for k, v in env.items() if k.startswith("REIMBURSE_")})
        from api import workers
        from api.settings import get_settings

        get_settings.cache_clear()
        workers.celery_app().conf.task_default_queue = queue
        workers.celery_app().conf.task_routes = {workers.EXTRACT_TASK: {"queue": queue}}
        started, failures = time.perf_counter(), 0
        for n, path in enumerate(files, start=1):
            result = workers.extract(path.name, path.read_bytes())
            failures += result.error is not None and not result.invoices
            print(f"\r{n}/{len(files)} images", end="", file=sys.stderr, flush=True)
        elapsed = time.perf_counter() - started
        status = _status(worker.pid)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    print(file=sys.stderr)
    print(f"`python -m benchmarks.worker_memory {' '.join(argv if argv is not None else sys.argv[1:])}`")
    print(f"images: {len(files)} ({failures} refused or without an invoice), {elapsed:.1f} s in all")
    print(f"worker peak RSS (VmHWM): {_mb(status['VmHWM']):.0f} MB; resident at the end (VmRSS): "
          f"{_mb(status['VmRSS']):.0f} MB; ocr_runtime={args.runtime}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
