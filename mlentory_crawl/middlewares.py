"""Downloader middlewares: polite retries (429 + 5xx back-off) and a transient bearer token.

``BackoffRetryMiddleware`` replaces Scrapy's ``RetryMiddleware`` (same meta keys and
``retry/*`` stats, plus the project's ``http/*`` stats):

* **429** (``RETRY_RATELIMIT_HTTP_CODES``): wait ``t + 1`` seconds when the IETF
  ``RateLimit: "api";r=0;t=<seconds>`` header says the quota is exhausted (what the Hub sends),
  else honour ``Retry-After`` (seconds or an HTTP date), else exponential back-off. The wait
  also pauses the request's downloader slot so other requests to the same host wait too.
* **5xx / 408** (``RETRY_HTTP_CODES``) and network errors (``RETRY_EXCEPTIONS``): exponential
  back-off ``RETRY_BACKOFF_BASE * 2**(n-1)`` capped at ``RETRY_BACKOFF_MAX``, with
  ``±RETRY_BACKOFF_JITTER`` relative jitter; a ``Retry-After`` on a 5xx is honoured too.
* Every wait is capped by ``RETRY_MAX_DELAY`` and happens without blocking the reactor (the
  async ``process_response`` awaits a timer). After ``RETRY_TIMES`` retries the response is
  passed on and the give-up is logged with its reason.

``BearerAuthMiddleware`` (:mod:`mlentory_crawl.bearer_auth`, re-exported here) adds
``Authorization: Bearer <token>`` only to requests for the configured endpoint, and only while
they are in flight.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import call_later, sleep
from scrapy.utils.python import global_object_name
from scrapy.utils.response import response_status_message

from mlentory_crawl.bearer_auth import BearerAuthMiddleware
from mlentory_crawl.config import ConfigError

__all__ = [
    "BackoffConfig",
    "BackoffRetryMiddleware",
    "BearerAuthMiddleware",
    "parse_ratelimit",
    "parse_retry_after",
]

logger = logging.getLogger(__name__)

_WAIT_STEP = 1.0  # seconds: long waits are cut in steps so a shutdown is not held up


@dataclass(frozen=True)
class BackoffConfig:
    """Retry/back-off settings, read once and validated.

    Attributes:
        http_codes: statuses retried with exponential back-off (``RETRY_HTTP_CODES``).
        ratelimit_codes: statuses treated as rate limiting (``RETRY_RATELIMIT_HTTP_CODES``,
            default ``[429]``).
        backoff_base: first back-off in seconds (``RETRY_BACKOFF_BASE``, default 1).
        backoff_max: cap of the exponential part (``RETRY_BACKOFF_MAX``, default 60).
        jitter: relative jitter 0..1 (``RETRY_BACKOFF_JITTER``, default 0.25).
        max_delay: cap of any single wait (``RETRY_MAX_DELAY``, default 300).
        pause_slot: also pause the host's downloader slot during a 429 wait
            (``RETRY_RATELIMIT_PAUSE_SLOT``, default true).
    """

    http_codes: frozenset[int]
    ratelimit_codes: frozenset[int]
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    jitter: float = 0.25
    max_delay: float = 300.0
    pause_slot: bool = True

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> BackoffConfig:
        """Read and validate the settings.

        Raises:
            ConfigError: a value is unusable (negative delay, jitter outside 0..1, ...).
        """
        try:
            http_codes = frozenset(int(x) for x in settings.getlist("RETRY_HTTP_CODES"))
            ratelimit_codes = frozenset(
                int(x) for x in settings.getlist("RETRY_RATELIMIT_HTTP_CODES", [429])
            )
            config = cls(
                http_codes=http_codes,
                ratelimit_codes=ratelimit_codes,
                backoff_base=settings.getfloat("RETRY_BACKOFF_BASE", 1.0),
                backoff_max=settings.getfloat("RETRY_BACKOFF_MAX", 60.0),
                jitter=settings.getfloat("RETRY_BACKOFF_JITTER", 0.25),
                max_delay=settings.getfloat("RETRY_MAX_DELAY", 300.0),
                pause_slot=settings.getbool("RETRY_RATELIMIT_PAUSE_SLOT", True),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid retry setting: {exc}") from exc
        if config.backoff_base < 0 or config.backoff_max < 0 or config.max_delay < 0:
            raise ConfigError("RETRY_BACKOFF_BASE, RETRY_BACKOFF_MAX, RETRY_MAX_DELAY must be >= 0")
        if not 0 <= config.jitter <= 1:
            raise ConfigError(f"RETRY_BACKOFF_JITTER must be within 0..1, got {config.jitter}")
        return config


_RL_ITEM = re.compile(r'^\s*(?:"(?P<qname>[^"]*)"|(?P<name>[^;,\s]+))(?P<params>(?:\s*;[^,]*)?)')


def parse_ratelimit(value: str | bytes | None) -> tuple[int | None, float | None]:
    """Parse an IETF ``RateLimit`` header (draft 09, as sent by the Hub).

    ``"api";r=0;t=55`` → ``(0, 55.0)``. With several policies (comma-separated) the most
    constraining one wins: the exhausted policy with the longest reset, else the lowest
    remaining quota.

    Returns:
        ``(remaining, reset_seconds)``; ``(None, None)`` when absent or unparseable.
    """
    if not value:
        return None, None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    entries: list[tuple[int | None, float | None]] = []
    for item in text.split(","):
        match = _RL_ITEM.match(item)
        if not match:
            continue
        params: dict[str, str] = {}
        for param in match.group("params").split(";"):
            key, sep, val = param.partition("=")
            if sep:
                params[key.strip().lower()] = val.strip().strip('"')
        try:
            remaining = int(params["r"]) if "r" in params else None
            reset = float(params["t"]) if "t" in params else None
        except ValueError:
            continue
        if remaining is not None or reset is not None:
            entries.append((remaining, reset))
    if not entries:
        return None, None
    exhausted = [t for r, t in entries if r == 0 and t is not None]
    if exhausted:
        return 0, max(exhausted)
    known = [e for e in entries if e[0] is not None]
    return min(known, key=lambda e: e[0] or 0) if known else entries[0]


def parse_retry_after(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After``: delay seconds (``"120"``) or an HTTP date.

    Returns:
        Seconds to wait (``>= 0``), or ``None`` when absent or unparseable.
    """
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Retries 429 (honouring ``RateLimit``/``Retry-After``) and 5xx/408 with back-off.

    Stats: ``http/retry/<status or exception>``, ``http/retry/gave_up``,
    ``http/ratelimit/waits``, ``http/ratelimit/wait_seconds``, ``http/backoff/wait_seconds``
    (plus Scrapy's usual ``retry/count``, ``retry/reason_count/*``, ``retry/max_reached``).
    """

    crawler: Crawler

    def __init__(self, settings: BaseSettings, config: BackoffConfig | None = None) -> None:
        super().__init__(settings)  # raises NotConfigured when RETRY_ENABLED is off
        self.config = config or BackoffConfig.from_settings(settings)
        self.sleep: Callable[[float], Awaitable[None]] = sleep
        self.random = random.Random()  # noqa: S311 (jitter, not security)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build from the crawler settings (read once)."""
        mw = cls(crawler.settings)
        mw.crawler = crawler
        return mw

    # -- delay computation (pure, unit-tested) ------------------------------------------------

    def backoff_delay(self, attempt: int) -> float:
        """Exponential back-off for the *attempt*-th retry (1-based), with jitter and caps."""
        cfg = self.config
        base = min(cfg.backoff_max, cfg.backoff_base * (2 ** max(0, attempt - 1)))
        if cfg.jitter:
            base *= self.random.uniform(1 - cfg.jitter, 1 + cfg.jitter)
        return min(cfg.max_delay, max(0.0, base))

    def compute_delay(
        self, status: int, headers: Mapping[Any, Any], attempt: int
    ) -> tuple[float, str]:
        """How long to wait before retrying a response, and on what basis.

        Args:
            status: the HTTP status.
            headers: the response headers (Scrapy ``Headers`` or a plain mapping).
            attempt: the 1-based number of the retry about to happen.

        Returns:
            ``(seconds, basis)`` where basis is ``RateLimit``, ``Retry-After`` or ``backoff``;
            seconds never exceed ``RETRY_MAX_DELAY``.
        """
        cfg = self.config
        retry_after = parse_retry_after(_header(headers, "Retry-After"))
        if status in cfg.ratelimit_codes:
            remaining, reset = parse_ratelimit(_header(headers, "RateLimit"))
            if remaining == 0 and reset is not None:
                return min(cfg.max_delay, reset + 1), "RateLimit"
            if retry_after is not None:
                return min(cfg.max_delay, retry_after), "Retry-After"
            return self.backoff_delay(attempt), "backoff"
        delay = self.backoff_delay(attempt)
        if retry_after is not None and retry_after > delay:
            return min(cfg.max_delay, retry_after), "Retry-After"
        return delay, "backoff"

    # -- Scrapy hooks --------------------------------------------------------------------------

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        """Retry 429/5xx responses after a non-blocking wait; pass the rest through."""
        status = response.status
        if request.meta.get("dont_retry", False) or (
            status not in self.config.http_codes and status not in self.config.ratelimit_codes
        ):
            return response
        attempt = request.meta.get("retry_times", 0) + 1
        delay, basis = self.compute_delay(status, response.headers, attempt)
        reason = response_status_message(status)
        retry_request = self._retry(request, reason)
        if retry_request is None:
            self.crawler.stats.inc_value("http/retry/gave_up")  # logged by get_retry_request
            return response
        stats = self.crawler.stats
        stats.inc_value(f"http/retry/{status}")
        if status in self.config.ratelimit_codes:
            stats.inc_value("http/ratelimit/waits")
            self._add_seconds("http/ratelimit/wait_seconds", delay)
            logger.info(
                "Rate limited (%s) on %s: retry %d in %.1fs (from %s)",
                status,
                request,
                attempt,
                delay,
                basis,
            )
            self._pause_slot(request, delay)
        else:
            self._add_seconds("http/backoff/wait_seconds", delay)
            logger.debug(
                "HTTP %s on %s: retry %d in %.1fs (%s)", status, request, attempt, delay, basis
            )
        await self._wait(delay)
        return retry_request

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        """Retry network errors (``RETRY_EXCEPTIONS``) after an exponential back-off."""
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.exceptions_to_retry
        ):
            return None
        attempt = request.meta.get("retry_times", 0) + 1
        retry_request = self._retry(request, exception)
        if retry_request is None:
            self.crawler.stats.inc_value("http/retry/gave_up")  # logged by get_retry_request
            return None
        delay = self.backoff_delay(attempt)
        self.crawler.stats.inc_value(f"http/retry/{global_object_name(type(exception))}")
        self._add_seconds("http/backoff/wait_seconds", delay)
        await self._wait(delay)
        return retry_request

    def _add_seconds(self, key: str, seconds: float) -> None:
        stats = self.crawler.stats
        stats.set_value(key, round(float(stats.get_value(key, 0.0)) + seconds, 3))

    # -- waiting -------------------------------------------------------------------------------

    def _stopping(self) -> bool:
        engine = getattr(self.crawler, "_engine", None)  # None before the crawl starts
        return not getattr(self.crawler, "crawling", True) or (
            engine is not None and not getattr(engine, "running", True)
        )

    async def _wait(self, delay: float) -> None:
        """Wait *delay* seconds in short steps; stop early when the crawl is shutting down."""
        remaining = delay
        while remaining > 0 and not self._stopping():
            step = min(_WAIT_STEP, remaining)
            await self.sleep(step)
            remaining -= step

    def _pause_slot(self, request: Request, delay: float) -> None:
        """Best effort: hold the request's downloader slot for *delay* seconds.

        Uses the downloader's slot ``latercall`` (the mechanism of ``DOWNLOAD_DELAY``); when
        Scrapy's internals differ, only the retried request is delayed.
        """
        if not self.config.pause_slot or delay <= 0:
            return
        downloader = getattr(getattr(self.crawler, "_engine", None), "downloader", None)
        slots = getattr(downloader, "slots", None)
        key = request.meta.get("download_slot")
        slot = slots.get(key) if isinstance(slots, dict) and key is not None else None
        if slot is None or not hasattr(slot, "latercall") or downloader is None:
            return
        process_queue = getattr(downloader, "_process_queue", None)
        if not callable(process_queue):
            return
        if slot.latercall is not None:
            slot.latercall.cancel()

        def resume() -> None:
            slot.latercall = None
            process_queue(slot)

        slot.latercall = call_later(delay, resume)


def _header(headers: Mapping[Any, Any], name: str) -> str | bytes | None:
    value = headers.get(name)
    if value is None and not hasattr(headers, "getlist"):
        lowered = {str(k).lower(): v for k, v in headers.items()}
        value = lowered.get(name.lower())
    if isinstance(value, list):
        value = value[0] if value else None
    return value
