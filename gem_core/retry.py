"""Retrying what flaky storage gets wrong for a moment, and only that.

A record that is broken stays broken: `RecordError`s and missing files are never retried. A
connection refused, reset or timed out (an object store restarting, a network blip) is retried
with exponential backoff, and each retry is counted so the job can report it.
"""
from __future__ import annotations

import time

# Exception class names (anywhere in the MRO) that mean "try again": botocore's and
# aiohttp's connection errors, without importing either.
_TRANSIENT_NAMES = {
    "EndpointConnectionError", "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError",
    "ClientConnectorError", "ServerDisconnectedError", "ClientOSError", "ServerTimeoutError",
    "ConnectionError", "TimeoutError", "ConnectionRefusedError", "ConnectionResetError",
}


def is_transient(exc: BaseException) -> bool:
    from gem_core.errors import GemError

    if isinstance(exc, (GemError, FileNotFoundError, IsADirectoryError, PermissionError)):
        return False
    seen = exc
    while seen is not None:  # a transient cause wrapped by a library still counts
        if any(c.__name__ in _TRANSIENT_NAMES for c in type(seen).__mro__):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def call_with_retry(fn, *args, attempts: int = 6, base_s: float = 0.5, max_s: float = 8.0,
                    on_retry=None, **kwargs):
    """fn(*args, **kwargs), retried on transient errors: waits 0.5, 1, 2, 4, 8 s (about 15 s
    in all by default). `on_retry(attempt, exc)` is called before each wait."""
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            if on_retry is not None:
                on_retry(attempt, exc)
            time.sleep(min(max_s, base_s * 2 ** (attempt - 1)))


def retrying(method):
    """Decorator for an idempotent method: retried on transient errors, each retry counted
    in the instance's `retries` attribute."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        def count(attempt, exc):
            self.retries = getattr(self, "retries", 0) + 1

        return call_with_retry(method, self, *args, on_retry=count, **kwargs)

    return wrapper
