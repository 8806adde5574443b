"""Run an ASGI app with uvicorn in a background thread, on loopback: for the demo, the tests and benchmarks.

``serving(app)`` is a context manager yielding the base URL (a free port unless ``port`` is given); the server
is stopped when the block ends. ``start(app)`` returns a running ``LoopbackServer`` to ``stop()`` later.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class LoopbackServer:
    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout: float = 30.0) -> LoopbackServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


def start(app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> LoopbackServer:
    return LoopbackServer(app, host, port, log_level).start()


@contextmanager
def serving(app: Any, log_level: str = "warning") -> Iterator[str]:
    server = start(app, log_level=log_level)
    try:
        yield server.url
    finally:
        server.stop()
