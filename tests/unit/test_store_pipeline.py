"""The buffered store pipeline with a fake sink: batching, timer, outages, unsent report."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.utils.test import get_crawler
from test_graph_rows import record

from mlentory_crawl.items import NormalizedItem
from mlentory_crawl.pipelines.store_base import StorePipeline
from mlentory_crawl.sinks.retry import Failure, StoreUnavailable, WriteResult
from mlentory_crawl.storage import iter_jsonl, part_files


class FakeSink:
    store = "fake"

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.down = False
        self.down_at_open = False
        self.budgets: list[float | None] = []
        self.refuse: set[str] = set()
        self.closed = False

    async def open(self) -> None:
        if self.down_at_open:
            raise StoreUnavailable("fake", "fake store at x://h is not reachable", "Refused")

    def prepare(self, record: Any) -> Any:
        if record.primaryTopic.endswith("boom"):
            raise ValueError("cannot represent")
        return SimpleNamespace(record=record)

    async def write_prepared(
        self, prepared: list[Any], *, budget: float | None = None
    ) -> WriteResult:
        records = [p.record for p in prepared]
        self.budgets.append(budget)
        await asyncio.sleep(0)
        if self.down:
            raise StoreUnavailable("fake", "connection refused", "ServiceUnavailable")
        self.batches.append(list(records))
        failures = [
            Failure(r, "bad_value", "mapping conflict") for r in records if r.id in self.refuse
        ]
        return WriteResult(
            records=len(records) - len(failures), rows=len(records), failures=failures
        )

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def crawler(tmp_path: Path) -> Crawler:
    crawler = get_crawler(Spider, {"DATA_DIR": str(tmp_path)})
    crawler.spider = Spider(name="t")
    crawler.spider.job_id = "job-1"  # type: ignore[attr-defined]
    crawler._apply_settings()
    crawler.stats.open_spider()
    return crawler


def items(n: int) -> list[NormalizedItem]:
    out = []
    for i in range(n):
        rec = record(name=f"acme/m{i}")
        out.append(NormalizedItem(rec.model_copy(update={"id": rec.id + str(i)})))
    return out


def run(pipe: StorePipeline, feed: list[Any], between: Any = None) -> None:
    async def go() -> None:
        await pipe.open_spider()
        await asyncio.gather(*(pipe.process_item(i) for i in feed))
        if between is not None:
            await between()
        await pipe.close_spider()

    asyncio.run(go())


def test_batches_by_size_then_flushes_the_rest_on_close(crawler: Crawler) -> None:
    sink = FakeSink()
    pipe = StorePipeline(crawler, sink, batch_size=4, flush_interval=60, label="Fake")
    run(pipe, [*items(10), "not a record"])
    assert [len(b) for b in sink.batches] == [4, 4, 2]
    assert crawler.stats.get_value("fake/batches") == 3 and sink.closed


def test_timer_flushes_a_partial_batch(crawler: Crawler) -> None:
    sink = FakeSink()
    pipe = StorePipeline(crawler, sink, batch_size=100, flush_interval=0.05, label="Fake")

    async def wait() -> None:
        await asyncio.sleep(0.3)
        assert [len(b) for b in sink.batches] == [3]

    run(pipe, items(3), wait)


def test_down_at_start_closes_the_spider_with_a_clear_error(
    crawler: Crawler, caplog: pytest.LogCaptureFixture
) -> None:
    sink = FakeSink()
    sink.down_at_open = True
    pipe = StorePipeline(crawler, sink, batch_size=4, flush_interval=60, label="Fake")
    with pytest.raises(CloseSpider) as info:
        asyncio.run(pipe.open_spider())
    assert info.value.reason == "fake_unavailable"
    assert "Fake is configured but unusable: fake store at x://h is not reachable" in caplog.text
    asyncio.run(pipe.close_spider())  # Scrapy still calls close_spider: nothing to flush


def test_outage_reports_unsent_records_with_the_load_command(
    crawler: Crawler, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    sink = FakeSink()
    pipe = StorePipeline(crawler, sink, batch_size=2, flush_interval=60, label="Fake")
    feed = items(6)

    async def go() -> None:
        await pipe.open_spider()
        for item in feed[:2]:
            await pipe.process_item(item)
        await pipe.drain()  # writes run in tasks: let each phase's batch reach the sink
        sink.down = True
        for item in feed[2:4]:
            await pipe.process_item(item)
        await pipe.drain()
        sink.down = False
        for item in feed[4:]:
            await pipe.process_item(item)
        await pipe.close_spider()

    with caplog.at_level(logging.ERROR):
        asyncio.run(go())
    assert [len(b) for b in sink.batches] == [2, 2]
    assert sink.budgets == [None, None, 0.0]  # after a failure: one quick try, then normal
    stats = crawler.stats.get_stats()
    assert stats["fake/records_unsent"] == 2 and stats["fake/errors/ServiceUnavailable"] == 1
    expected = f"scrapy load --source huggingface --job job-1 --only fake --data-dir {tmp_path}"
    assert expected in caplog.text


def test_refused_records_are_counted_and_quarantined(crawler: Crawler, tmp_path: Path) -> None:
    sink = FakeSink()
    feed = items(3)
    sink.refuse = {feed[1].record.id}
    pipe = StorePipeline(crawler, sink, batch_size=10, flush_interval=60, label="Fake")
    run(pipe, feed)
    assert crawler.stats.get_value("fake/errors/bad_value") == 1
    lines = list(iter_jsonl(part_files(tmp_path / "quarantine", "jsonl")))
    assert len(lines) == 1 and lines[0]["stage"] == "fake"
    assert lines[0]["reason"] == "mapping conflict"
    assert lines[0]["record"]["@id"] == feed[1].record.id
    assert part_files(tmp_path / "quarantine", "jsonl")[0].parent.name == "fake"


def test_two_writes_in_flight_and_close_waits_for_them(crawler: Crawler) -> None:
    sink = FakeSink()
    active: list[int] = []
    running = 0
    original = sink.write_prepared

    async def slow(prepared: list[Any], *, budget: float | None = None) -> WriteResult:
        nonlocal running
        running += 1
        active.append(running)
        await asyncio.sleep(0.05)
        running -= 1
        return await original(prepared, budget=budget)

    sink.write_prepared = slow  # type: ignore[method-assign]
    pipe = StorePipeline(
        crawler, sink, batch_size=2, flush_interval=60, label="Fake", max_inflight=2
    )
    run(pipe, items(9))
    assert max(active) == 2 and running == 0
    assert sum(len(b) for b in sink.batches) == 9 and crawler.stats.get_value("fake/batches") == 5


def test_items_are_prepared_while_a_batch_is_written_with_bounded_room(crawler: Crawler) -> None:
    """A write does not hold up the item flow until a second full batch waits for its turn."""
    sink = FakeSink()
    release = asyncio.Event()
    original = sink.write_prepared

    async def blocked(prepared: list[Any], *, budget: float | None = None) -> WriteResult:
        await release.wait()
        return await original(prepared, budget=budget)

    sink.write_prepared = blocked  # type: ignore[method-assign]
    pipe = StorePipeline(crawler, sink, batch_size=2, flush_interval=60, label="Fake")
    feed = items(7)

    async def go() -> list[str]:
        await pipe.open_spider()
        for item in feed[:5]:  # batch 1 being written, batch 2 waiting, item 5 buffered
            await asyncio.wait_for(pipe.process_item(item), timeout=1)
        sixth = asyncio.ensure_future(pipe.process_item(feed[5]))  # would take out batch 3
        await asyncio.sleep(0.05)
        events = [f"sixth done before release: {sixth.done()}"]
        release.set()
        await asyncio.wait_for(sixth, timeout=1)
        await pipe.process_item(feed[6])
        await pipe.close_spider()
        return events

    assert asyncio.run(go()) == ["sixth done before release: False"]
    assert [len(b) for b in sink.batches] == [2, 2, 2, 1]  # in order, nothing lost
    assert [r.id for b in sink.batches for r in b] == [i.record.id for i in feed]
