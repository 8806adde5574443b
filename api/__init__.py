"""The web side: FastAPI app, settings, database tables, services, the outbox relay and the demo OA receiver."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reimburse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
