"""HTTP plumbing shared by the OA adapters: one call, failures sorted into retryable and permanent errors.

Contract:
* ``OaHttp(base_url, oa, timeout=..., client=None)`` wraps an ``httpx.Client``; ``request(method, path, ...)``
  returns the ``httpx.Response`` of a 2xx/3xx/4xx answer and raises ``DeliveryError`` for what the transport or
  the OA's gateway says: timeouts and connection errors (retryable; a timeout may have reached the OA, so the
  caller must assume the document could exist), HTTP 408 / 425 / 429 / 5xx (retryable). ``passthrough`` lists
  statuses the caller reads itself instead (SOAP 1.1 answers a fault with HTTP 500).
* ``json_object(response)`` / ``json_value(response)`` parse the body or raise ``MalformedResponse`` (retryable:
  proxies answer HTML error pages, and the OA's state is unknown, so the next attempt looks the document up first).
* ``BusinessError`` (not retryable) is what adapters raise when the OA answers well-formed but refuses the request
  (bad form field, no permission); ``AuthError`` (retryable) when its credentials were refused, after one fresh
  token was tried.
* ``TokenCache`` keeps one access token until shortly before it expires; ``invalidate()`` forces a new one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from pipeline.sync.base import DeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429})


class MalformedResponse(DeliveryError):
    """The OA answered something that is not the documented shape (not JSON, missing fields)."""

    def __init__(self, message: str):
        super().__init__(message, retryable=True)


class BusinessError(DeliveryError):
    """The OA understood the request and refused it; sending it again will not help."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


class AuthError(DeliveryError):
    """The OA refused our credentials (wrong secret, expired token after a refresh)."""

    def __init__(self, message: str):
        super().__init__(message, retryable=True)


class OaHttp:
    def __init__(self, base_url: str, oa: str, *, timeout: float = 10.0, client: httpx.Client | None = None):
        if not base_url:
            raise ValueError(f"the {oa} adapter needs the OA base URL")
        self.base_url = base_url.rstrip("/")
        self.oa = oa
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, passthrough: frozenset[int] = frozenset(), **kwargs: Any
                ) -> httpx.Response:
        url = path if path.startswith("http") else self.base_url + path
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{self.oa}: timed out on {method} {path} (the OA may have acted): {exc!r}") from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"{self.oa}: could not reach {path}: {exc!r}") from exc
        if response.status_code in passthrough:
            return response
        if response.status_code >= 500 or response.status_code in RETRYABLE_STATUS:
            raise DeliveryError(f"{self.oa}: HTTP {response.status_code} on {path}: {response.text[:300]}")
        return response


def json_value(response: httpx.Response, oa: str) -> Any:
    try:
        return json.loads(response.content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedResponse(f"{oa}: answer to {response.request.url.path} is not JSON "
                                f"(HTTP {response.status_code}): {response.text[:200]!r}") from None


def json_object(response: httpx.Response, oa: str) -> dict[str, Any]:
    data = json_value(response, oa)
    if not isinstance(data, dict):
        raise MalformedResponse(f"{oa}: answer to {response.request.url.path} is not a JSON object: "
                                f"{response.text[:200]!r}")
    return data


def require(data: dict[str, Any], key: str, oa: str, what: str) -> Any:
    value = data.get(key)
    if value in (None, ""):
        raise MalformedResponse(f"{oa}: {what} answer has no {key!r}: {json.dumps(data, ensure_ascii=False)[:200]}")
    return value


class TokenCache:
    """``get()`` returns a valid token, calling ``fetch() -> (token, ttl_seconds)`` when there is none."""

    def __init__(self, fetch: Callable[[], tuple[str, float]], *, margin_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch, self._margin, self._clock = fetch, margin_seconds, clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires:
                token, ttl = self._fetch()
                self._token = token
                self._expires = self._clock() + max(float(ttl) - self._margin, float(ttl) / 2)
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


__all__ = ["AuthError", "BusinessError", "MalformedResponse", "OaHttp", "RETRYABLE_STATUS", "TokenCache",
           "json_object", "json_value", "require"]
