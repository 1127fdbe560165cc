"""BackoffRetryMiddleware (429 RateLimit/Retry-After, 5xx back-off) and BearerAuthMiddleware."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.internet.error import TimeoutError as TxTimeoutError

from mlentory_crawl.config import ConfigError
from mlentory_crawl.middlewares import (
    BackoffRetryMiddleware,
    BearerAuthMiddleware,
    parse_ratelimit,
    parse_retry_after,
)

URL = "http://replay.test/api/models?limit=5"


class _Spider(Spider):
    name = "t"


def make_mw(**settings: Any) -> tuple[BackoffRetryMiddleware, list[float]]:
    """A middleware whose sleeps are recorded instead of waited."""
    base = {"RETRY_TIMES": 3, "RETRY_HTTP_CODES": [500, 502, 503, 504, 408],
            "RETRY_BACKOFF_JITTER": 0}  # fmt: skip
    crawler = get_crawler(_Spider, {**base, **settings})
    crawler.spider = _Spider.from_crawler(crawler)
    crawler.crawling = True
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    mw.sleep = fake_sleep
    return mw, slept


def stats(mw: BackoffRetryMiddleware) -> dict[str, Any]:
    return mw.crawler.stats.get_stats()


def answer(
    mw: BackoffRetryMiddleware, request: Request, status: int, headers: dict[str, str] | None = None
) -> Request | Response:
    response = Response(request.url, status=status, headers=headers or {}, request=request)
    return asyncio.run(mw.process_response(request, response))


# -- header parsing --------------------------------------------------------------------------------


def test_parse_ratelimit() -> None:
    assert parse_ratelimit('"api";r=0;t=55') == (0, 55.0)
    assert parse_ratelimit(b'"api";r=12;t=200') == (12, 200.0)
    assert parse_ratelimit('"api";r=3;t=10, "resolvers";r=0;t=40') == (0, 40.0)
    assert parse_ratelimit("api;r=7;t=9") == (7, 9.0)
    assert parse_ratelimit(None) == (None, None)
    assert parse_ratelimit("nonsense") == (None, None)


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after("Wed, 31 Dec 2025 12:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


# -- delays ----------------------------------------------------------------------------------------


def test_429_waits_ratelimit_reset_plus_one() -> None:
    mw, _ = make_mw()
    headers = {"RateLimit": '"api";r=0;t=1', "Retry-After": "1"}
    assert mw.compute_delay(429, headers, 1) == (2.0, "RateLimit")
    assert mw.compute_delay(429, {"RateLimit": '"api";r=0;t=55'}, 1) == (56.0, "RateLimit")


def test_429_falls_back_to_retry_after_then_backoff() -> None:
    mw, _ = make_mw()
    assert mw.compute_delay(429, {"RateLimit": '"api";r=4;t=9', "Retry-After": "7"}, 1) == (
        7.0, "Retry-After",
    )  # fmt: skip
    date = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    delay, basis = mw.compute_delay(429, {"Retry-After": date}, 1)
    assert basis == "Retry-After" and 57 <= delay <= 60
    assert mw.compute_delay(429, {}, 3) == (4.0, "backoff")


def test_waits_are_capped_by_retry_max_delay() -> None:
    mw, _ = make_mw()
    assert mw.compute_delay(429, {"RateLimit": '"api";r=0;t=3600'}, 1) == (300.0, "RateLimit")
    mw, _ = make_mw(RETRY_MAX_DELAY=10)
    assert mw.compute_delay(429, {"Retry-After": "120"}, 1) == (10.0, "Retry-After")
    assert mw.compute_delay(503, {}, 20)[0] == 10.0


def test_5xx_backoff_grows_exponentially_with_bounded_jitter() -> None:
    mw, _ = make_mw(RETRY_BACKOFF_BASE=1, RETRY_BACKOFF_MAX=8)
    assert [mw.backoff_delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    mw, _ = make_mw(RETRY_BACKOFF_JITTER=0.25)
    for attempt, nominal in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)]:
        delays = [mw.backoff_delay(attempt) for _ in range(50)]
        assert all(0.75 * nominal <= d <= 1.25 * nominal for d in delays)
        assert len(set(delays)) > 1  # jitter spreads retries out
    assert mw.compute_delay(503, {"Retry-After": "30"}, 1) == (30.0, "Retry-After")


def test_bad_settings_fail_early() -> None:
    with pytest.raises(ConfigError, match="JITTER"):
        make_mw(RETRY_BACKOFF_JITTER=2)
    with pytest.raises(ConfigError):
        make_mw(RETRY_MAX_DELAY=-1)


# -- the middleware hooks --------------------------------------------------------------------------


def test_429_is_retried_after_the_ratelimit_wait() -> None:
    mw, slept = make_mw()
    request = Request(URL)
    retry = answer(mw, request, 429, {"RateLimit": '"api";r=0;t=1', "Retry-After": "1"})
    assert isinstance(retry, Request) and retry.url == URL
    assert retry.meta["retry_times"] == 1 and retry.dont_filter
    assert sum(slept) == pytest.approx(2.0)
    got = stats(mw)
    assert got["http/retry/429"] == 1 and got["http/ratelimit/waits"] == 1
    assert got["http/ratelimit/wait_seconds"] == pytest.approx(2.0)


def test_503_backoff_grows_then_gives_up(caplog: pytest.LogCaptureFixture) -> None:
    mw, slept = make_mw(RETRY_TIMES=2)
    request = Request(URL)
    first = answer(mw, request, 503)
    assert isinstance(first, Request)
    second = answer(mw, first, 503)
    assert isinstance(second, Request) and second.meta["retry_times"] == 2
    assert slept == [1.0, 1.0, 1.0]  # 1 s, then 2 s in 1-s steps
    with caplog.at_level(logging.ERROR):
        final = answer(mw, second, 503)
    assert isinstance(final, Response) and final.status == 503
    assert "Gave up retrying" in caplog.text and "503 Service Unavailable" in caplog.text
    got = stats(mw)
    assert got["http/retry/503"] == 2 and got["http/retry/gave_up"] == 1
    assert got["retry/max_reached"] == 1 and got["http/backoff/wait_seconds"] == 3.0


def test_other_responses_pass_through() -> None:
    mw, slept = make_mw()
    ok = answer(mw, Request(URL), 200)
    assert isinstance(ok, Response) and ok.status == 200
    not_found = answer(mw, Request(URL), 404)
    assert isinstance(not_found, Response) and not_found.status == 404
    kept = answer(mw, Request(URL, meta={"dont_retry": True}), 503)
    assert isinstance(kept, Response) and slept == []


def test_network_errors_are_retried_with_backoff() -> None:
    mw, slept = make_mw()
    retry = asyncio.run(mw.process_exception(Request(URL), TxTimeoutError()))
    assert isinstance(retry, Request) and slept == [1.0]
    assert stats(mw)["http/retry/twisted.internet.error.TimeoutError"] == 1
    assert asyncio.run(mw.process_exception(Request(URL), ValueError("bug"))) is None


def test_wait_stops_early_when_the_crawl_is_stopping() -> None:
    mw, slept = make_mw()
    mw.crawler.crawling = False
    answer(mw, Request(URL), 429, {"RateLimit": '"api";r=0;t=100'})
    assert slept == []


def test_429_pauses_the_downloader_slot() -> None:
    mw, _ = make_mw()
    resumed: list[Any] = []
    slot = SimpleNamespace(latercall=None)
    downloader = SimpleNamespace(slots={"replay.test": slot}, _process_queue=resumed.append)
    mw.crawler._engine = SimpleNamespace(downloader=downloader, running=True)  # type: ignore[assignment]
    request = Request(URL, meta={"download_slot": "replay.test"})

    async def go() -> None:
        await mw.process_response(
            request, Response(URL, status=429, headers={"RateLimit": '"api";r=0;t=0'})
        )
        assert slot.latercall is not None  # the slot is held for 1 s
        await asyncio.sleep(1.2)

    asyncio.run(go())
    assert resumed == [slot] and slot.latercall is None


# -- bearer token ----------------------------------------------------------------------------------


def make_auth(endpoint: str = "https://hub.test", token: str = "hf_secret") -> BearerAuthMiddleware:
    crawler = get_crawler(_Spider, {"HF_ENDPOINT": endpoint, "HF_TOKEN": token})
    return BearerAuthMiddleware.from_crawler(crawler)


def test_bearer_token_only_for_the_endpoint_and_only_in_flight(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        mw = make_auth()
    request = Request("https://hub.test/api/models")
    mw.process_request(request)
    assert request.headers[b"Authorization"] == b"Bearer hf_secret"
    mw.process_response(request, Response(request.url, request=request))
    assert b"Authorization" not in request.headers  # retries/redirect copies are token-free
    assert "Authorization" not in str(request.to_dict())

    for other in ("https://evil.test/api/models", "http://hub.test/api/models",
                  "https://hub.test:8443/x", "https://cdn.hub.test/file"):  # fmt: skip
        foreign = Request(other)
        mw.process_request(foreign)
        assert b"Authorization" not in foreign.headers

    failing = Request("https://hub.test/api/models")
    mw.process_request(failing)
    mw.process_exception(failing, TxTimeoutError())
    assert b"Authorization" not in failing.headers
    assert "hf_secret" not in caplog.text


def test_bearer_token_keeps_an_explicit_header_and_is_off_without_token() -> None:
    mw = make_auth()
    request = Request("https://hub.test/x", headers={"Authorization": "Basic abc"})
    mw.process_request(request)
    mw.process_response(request, Response(request.url, request=request))
    assert request.headers[b"Authorization"] == b"Basic abc"
    with pytest.raises(NotConfigured):
        make_auth(token="")
