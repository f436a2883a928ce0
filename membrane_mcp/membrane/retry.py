"""When to repeat a request: safe (read) requests on transient failures, writes only when nothing ran.

A write is repeated only if it cannot have reached the server (connect failure) or Membrane refused it
with its own `rate_limit_exceeded` envelope before running anything. Everything happens inside the
caller's deadline. A write that failed after it may have reached Membrane comes back with
`outcome_unknown=True`; no message is written or rewritten here (see ``membrane_mcp.tools.errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn, TypeVar

import anyio
import httpx

from membrane_mcp.membrane.errors import (
    ActionRunError,
    DeadlineExceeded,
    MembraneError,
    RateLimited,
    UpstreamUnavailable,
)

if TYPE_CHECKING:
    from tenacity import RetryCallState

logger = logging.getLogger("membrane_mcp.membrane")

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# A read is idempotent, so Membrane's own 500 (often transient) is worth another try within the deadline.
SAFE_RETRYABLE_STATUSES = RETRYABLE_STATUSES | {500}
# Nothing left the machine: safe to repeat even a write.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    # Six tries: a 429 burst with Retry-After uses up several, and the deadline bounds the total anyway.
    max_attempts: int = 6
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    # A Retry-After longer than this is not waited for: the RateLimited error goes back to the caller.
    max_retry_after: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep)


def remaining(deadline: float | None) -> float | None:
    """Seconds left before `deadline` (anyio's clock), None without one."""
    return None if deadline is None else deadline - anyio.current_time()


def is_retryable(exc: BaseException, *, safe: bool) -> bool:
    if isinstance(exc, DeadlineExceeded):
        return False
    if isinstance(exc, _NOT_SENT):
        return True
    if isinstance(exc, RateLimited) and exc.key == "rate_limit_exceeded":
        return True  # Membrane's own limit: refused before running anything.
    if not safe:
        return False
    if isinstance(exc, httpx.TransportError):
        return not isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.ProxyError)
    if isinstance(exc, ActionRunError):
        return False  # the app answered and refused: asking again gets the same answer
    return isinstance(exc, MembraneError) and exc.status in SAFE_RETRYABLE_STATUSES


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MembraneError):
        return f"HTTP {exc.status}" + (f" {exc.key}" if exc.key else "")
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def transport_failure(
    exc: httpx.TransportError, *, safe: bool, request_line: str, deadline: float | None, attempts: int
) -> MembraneError:
    """The error to raise for a network failure that was not (or no longer) retried."""
    left = remaining(deadline)
    sent = not isinstance(exc, _NOT_SENT)
    cls: type[MembraneError] = UpstreamUnavailable
    if isinstance(exc, httpx.TimeoutException) and left is not None and left <= 0.05:
        cls = DeadlineExceeded
    return cls(
        _describe(exc),
        request_line=request_line,
        sent=sent,
        outcome_unknown=sent and not safe,
        attempts=attempts,
    )


def _retry_after(state: RetryCallState) -> float | None:
    exc = state.outcome.exception() if state.outcome else None
    return exc.retry_after if isinstance(exc, MembraneError) else None


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    safe: bool,
    deadline: float | None,
    policy: RetryPolicy,
    request_line: str,
) -> T:
    """Run `attempt` (one HTTP exchange raising httpx or Membrane errors) under the retry policy.

    The first try runs on its own: most succeed, and tenacity's bookkeeping (its retrying object, the
    wait and stop strategies, the attempt's state and statistics) was ~2 % of the HTTP server's CPU per
    call. A first failure worth retrying is handed to tenacity as its first attempt's outcome, so
    what follows (the waits, the stop rules, the attempt count) is what it was before.
    """
    try:
        return await attempt()
    except (httpx.TransportError, MembraneError) as exc:
        if not is_retryable(exc, safe=safe):
            _raise_final(exc, safe=safe, request_line=request_line, deadline=deadline, attempts=1)
        first_failure: BaseException | None = exc

    async def attempt_after_the_first() -> T:
        nonlocal first_failure
        if first_failure is not None:
            failure, first_failure = first_failure, None
            raise failure
        return await attempt()

    from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter  # at the first retry

    backoff = wait_exponential_jitter(
        multiplier=policy.initial_backoff, max=policy.max_backoff, jitter=policy.jitter
    )

    # tenacity computes `wait` first, then asks `stop`, which sees the planned sleep (upcoming_sleep).
    def wait(state: RetryCallState) -> float:
        delay = backoff(state)
        retry_after = _retry_after(state)
        return delay if retry_after is None else max(delay, retry_after)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        retry_after = _retry_after(state)
        if retry_after is not None and retry_after > policy.max_retry_after:
            return True
        left = remaining(deadline)
        return left is not None and state.upcoming_sleep >= left

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.info(
            "retrying %s after %s (attempt %d of %d) in %.2fs",
            request_line,
            _describe(exc) if exc else "?",
            state.attempt_number + 1,
            policy.max_attempts,
            state.upcoming_sleep,
        )

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(lambda exc: is_retryable(exc, safe=safe)),
        before_sleep=log_retry,
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        return await retrying(attempt_after_the_first)
    except (httpx.TransportError, MembraneError) as exc:
        attempts = retrying.statistics.get("attempt_number", 1)
        _raise_final(exc, safe=safe, request_line=request_line, deadline=deadline, attempts=attempts)


def _raise_final(
    exc: httpx.TransportError | MembraneError,
    *,
    safe: bool,
    request_line: str,
    deadline: float | None,
    attempts: int,
) -> NoReturn:
    """Raise the error a call ends with after `attempts` tries: a network failure as a MembraneError."""
    if isinstance(exc, httpx.TransportError):
        raise transport_failure(
            exc, safe=safe, request_line=request_line, deadline=deadline, attempts=attempts
        ) from exc
    exc.attempts = attempts
    if isinstance(exc, UpstreamUnavailable) and exc.status is not None and not safe:
        exc.outcome_unknown = True  # a write answered 5xx may have run before Membrane failed
    raise exc
