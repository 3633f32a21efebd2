"""When to send a request again, and how long to wait first.

The policy (`RetryPolicy`) is data; `attempt` is the flow that applies it to one `Call`.
What is retried (docs/api.md; RFC 9110, section 9.2.2 on idempotent methods):

- 429 (rate limited) and 408 always: the server did not act on the request. `Retry-After`
  is honoured (capped by `max_retry_after`).
- 500, 502, 503 and 504, and a connection that broke after the request was sent, only for
  idempotent calls: GET, HEAD, PUT of a file or a part, DELETE, and the POSTs the contract
  makes safe (deleting many files, creating an upload session). Creating a project or a
  checkpoint, copying, moving and changing permissions are not retried once sent: a
  second send could do the thing twice. Neither is `complete_upload` called alone; an
  upload's own completion is (a second one finds the session consumed: `settle.py`).
- A connection that could not be made (`httpx.ConnectError`, `httpx.PoolTimeout`) for any
  call: nothing was sent.

A request sent again after an attempt whose answer was lost (a broken connection once it
was sent, or a 500, 502 or 504, which a gateway may answer for a change the server made)
may find that attempt's change made: an exclusive create then answers 412, a deletion 404.
`send` hands such an error to the call's `settle` flow (see `settle.py`), which reads the
file's history and reports the change as done when it is there, made by the caller.

Waits grow exponentially with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"): a uniform draw in `[0, min(max_backoff, backoff * 2**n))`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias, TypeVar

import httpx

from .effects import Attempt, Close, Flow, Sleep
from .errors import StorageConnectionError, StorageError, scrubbed
from .operations.call import Call

__all__ = ["RetryPolicy", "Review", "Settle", "attempt", "send"]

logger = logging.getLogger("anaconda_storage_core")

T = TypeVar("T")

RETRY_ALWAYS = frozenset({408, 429})
RETRY_IDEMPOTENT = frozenset({500, 502, 503, 504})
# Answers after which the request may have been carried out all the same: a 500 may come
# after the change was committed, a 502 or 504 from a gateway whose server went on. (A 503
# is the server declining the request; 408 and 429 say it was not acted on.)
OUTCOME_UNKNOWN = frozenset({500, 502, 504})

Settle: TypeAlias = Callable[[StorageError], Flow[T]]
"""Given the error of an answer that came after an attempt whose answer was lost, a flow
that returns the call's result after all (that attempt did what was asked) or raises."""

Review: TypeAlias = Callable[[T], Flow[T]]
"""Given the result of a success that came after an attempt whose answer was lost, a flow
that returns it corrected for what that attempt did (deleting many files: the paths the
retry found gone may be the ones the lost attempt deleted)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attributes:
        attempts: How many times a request is sent at most (1: never retried).
        backoff: The first wait's upper bound, in seconds; it doubles with each retry.
        max_backoff: The largest wait drawn by backoff.
        max_retry_after: The longest `Retry-After` honoured; longer ones are capped.
    """

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 20.0
    max_retry_after: float = 60.0
    random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2**retry)
        return self.random.uniform(0, ceiling)

    def retries_status(self, status: int, idempotent: bool) -> bool:
        """Whether an answer with `status` is worth sending the request again for."""
        return status in RETRY_ALWAYS or (idempotent and status in RETRY_IDEMPOTENT)

    def retries_error(self, error: httpx.TransportError, idempotent: bool) -> bool:
        """Whether a failed exchange is worth sending the request again for."""
        if isinstance(error, (httpx.ConnectError, httpx.PoolTimeout)):
            return True  # nothing reached the server
        if not idempotent:
            return False
        return isinstance(
            error, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
        )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _where(request: httpx.Request) -> str:
    # The method and the URL without its query: never a header, so never the API key.
    return f"{request.method} {request.url.copy_with(query=None)}"


def connection_error(request: httpx.Request, error: httpx.TransportError) -> StorageConnectionError:
    """The `StorageConnectionError` for a failed exchange (raise it `from error`)."""
    detail = str(error) or type(error).__name__
    return StorageConnectionError(f"connection failed: {_where(request)}: {detail}")


def attempt(call: Call[T], policy: RetryPolicy, *, read_within: int = 0) -> Flow[httpx.Response]:
    """Send `call.request` until it gets an answer not worth retrying, or attempts run out.

    Args:
        read_within: For a streamed call: a success announcing at most this many bytes may
            be answered read in full (see `effects.Attempt`).

    Returns:
        The last response: a success, an error answer not retried (parse it to raise), or
        the last retried one (429/5xx) when attempts ran out. Streamed successes are open.

    Raises:
        StorageConnectionError: The exchange failed and is not retried any more.
    """
    response, _ = yield from _attempts(call, policy, read_within)
    return response


def _outcome_lost(error: httpx.TransportError) -> bool:
    # Whether the request may have reached the server and been acted on.
    return not isinstance(error, (httpx.ConnectError, httpx.PoolTimeout))


def _attempts(
    call: Call[T], policy: RetryPolicy, read_within: int = 0
) -> Flow[tuple[httpx.Response, bool]]:
    """`attempt`, also telling whether an earlier attempt's outcome is unknown: it may have
    been carried out, its answer lost."""
    retry = 0
    unknown = False
    while True:
        last = retry + 1 >= policy.attempts
        try:
            response: httpx.Response = yield Attempt(call.request, call.stream, read_within)
        except httpx.TransportError as exc:
            if last or not policy.retries_error(exc, call.idempotent):
                raise connection_error(call.request, exc) from scrubbed(exc)
            unknown = unknown or _outcome_lost(exc)
            wait = policy.delay(retry)
            logger.info("retrying %s in %.2fs: %s", _where(call.request), wait, type(exc).__name__)
        else:
            if last or not policy.retries_status(response.status_code, call.idempotent):
                return response, unknown
            unknown = unknown or response.status_code in OUTCOME_UNKNOWN
            if not response.is_closed:
                yield Close(response)
            wait = policy.delay(retry, _retry_after(response))
            logger.info(
                "retrying %s in %.2fs: status %d",
                _where(call.request),
                wait,
                response.status_code,
            )
        yield Sleep(wait)
        retry += 1


def send(
    call: Call[T],
    policy: RetryPolicy,
    settle: Settle[T] | None = None,
    review: Review[T] | None = None,
) -> Flow[T]:
    """Send `call` (with retries) and parse its answer: the flow of every simple API call.

    Args:
        call: The request and its parser.
        policy: When to retry.
        settle: For a write: what to make of an error answer that came after an attempt
            whose answer was lost (see `settle.py`). Not used otherwise: an error answer
            to a request whose every earlier attempt was answered is what it says.
        review: For a change that answers success either way: what to make of a success
            that came after an attempt whose answer was lost (see `settle.py`).
    """
    response, unknown = yield from _attempts(call, policy)
    if not unknown:
        return call.parse(response)
    if response.status_code < 400:
        result = call.parse(response)
        return result if review is None else (yield from review(result))
    if settle is None:
        return call.parse(response)
    try:
        return call.parse(response)
    except StorageError as exc:
        error = exc  # settled outside the handler: its checks' errors are not chained to it
    return (yield from settle(error))
