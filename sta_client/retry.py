"""When and how long to retry (pure): connection failures, timeouts, 429 and 5xx are retried with
exponential back-off and jitter, honouring `Retry-After`, within a time budget and an attempt
bound; 4xx never. `exchange` is a generator both transports drive (sans-IO): it yields `Send` and
`Sleep` steps and receives the replies, so the rule is written once."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

from sta_client.errors import TransportError
from sta_client.requests import Request
from sta_client.responses import Reply, retry_after_s
from sta_client.settings import ClientSettings

log = logging.getLogger(__name__)

# a definite answer, not a passing condition
FINAL_5XX = frozenset({501, 505})


@dataclass(frozen=True)
class Send:
    request: Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Exchange = Generator[Step, Reply | None, Reply]


@dataclass(frozen=True)
class RetryPolicy:
    budget_s: float = 30.0
    max_attempts: int = 8
    base_s: float = 0.2
    max_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: ClientSettings) -> RetryPolicy:
        return cls(settings.retry_budget_s, settings.max_attempts, settings.backoff_base_s, settings.backoff_max_s)


def retryable_status(status: int) -> bool:
    return status == 429 or (status >= 500 and status not in FINAL_5XX)


def backoff_s(policy: RetryPolicy, attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential back-off with jitter: between half and all of base·2^(attempt-1), at most max_s."""
    ceiling = min(policy.max_s, policy.base_s * 2.0 ** (attempt - 1))
    return ceiling * (0.5 + rng() / 2)


def delay_s(policy: RetryPolicy, attempt: int, reply: Reply | None, rng: Callable[[], float] = random.random) -> float:
    """The wait before the next attempt: the server's `Retry-After` when it sent one, else back-off."""
    asked = retry_after_s(reply.headers) if reply is not None else None
    return asked if asked is not None else backoff_s(policy, attempt, rng)


def exchange(request: Request, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> Exchange:
    """Send `request` (the very same one, idempotency key included) until it gets a final answer, or
    the budget is spent: then the last answer is returned (its reader raises its typed error) or
    the last transport failure raised."""
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        failure: TransportError | None = None
        try:
            reply = yield Send(request)
        except TransportError as error:
            failure, reply = error, None
        if reply is not None and not retryable_status(reply.status):
            return replace(reply, retried=attempt > 1)
        wait = delay_s(policy, attempt, reply)
        if attempt >= policy.max_attempts or clock() - started + wait > policy.budget_s:
            if reply is None:
                assert failure is not None
                raise failure
            return replace(reply, retried=attempt > 1)
        log.warning("%s %s: %s; retry %d in %.2f s", request.method, request.path,
                    failure if reply is None else f"status {reply.status}", attempt, wait)
        yield Sleep(wait)
