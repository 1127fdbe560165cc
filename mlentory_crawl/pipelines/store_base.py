"""Base of the store pipelines: buffer records, flush by size and by time, report what's unsent.

``process_item`` turns the FAIR4ML record of each :class:`NormalizedItem` into what the store
takes (rows, bulk lines) and appends it to a buffer; when the buffer reaches the batch size the
batch is taken out and handed to a write task, so the items that arrive meanwhile are prepared
and fill the next batch while the store works (Scrapy lets only ``CONCURRENT_ITEMS`` items wait
in a pipeline, so a write awaited in ``process_item`` would leave the CPU idle). Writes run in
order, at most ``max_inflight`` at a time, and at most one full batch waits for its turn: an
item that would take out another waits, which gives back-pressure: a slow store slows the item
flow instead of growing memory (bounded by ``batch_size * (max_inflight + 2)`` records). A
periodic task flushes a partial buffer every ``flush_interval`` seconds, and ``close_spider``
flushes the rest and waits for every write. A store that is down at start stops the crawl
(``CloseSpider``) with a clear message; one that fails mid-crawl loses nothing: the files hold
the records, and the ERROR at close names the ``scrapy load`` command that delivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any, Protocol

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider

from mlentory_crawl.config import FilesConfig
from mlentory_crawl.items.raw import NormalizedItem
from mlentory_crawl.pipelines.normalize import QuarantineWriter
from mlentory_crawl.sinks.retry import StoreUnavailable, UnsentRecords, WriteResult

logger = logging.getLogger(__name__)


class Sink(Protocol):
    """What a store client offers the pipeline."""

    store: str

    async def open(self) -> None:
        """Connect and prepare the store (raises :class:`StoreUnavailable`)."""

    def prepare(self, record: Any) -> Any:
        """Turn a record into what :meth:`write_prepared` sends (has a ``record`` attribute)."""

    async def write_prepared(
        self, prepared: list[Any], *, budget: float | None = None
    ) -> WriteResult:
        """Write one prepared batch (raises :class:`StoreUnavailable`)."""

    async def close(self) -> None:
        """Release the connection."""


class StoreQuarantine(QuarantineWriter):
    """Records a store refused: ``DATA_DIR/quarantine/<source>/<job>/<store>/part-*.jsonl``.

    A folder of its own, so it never shares a part file with the normalizer's quarantine.
    """

    def __init__(self, crawler: Crawler, config: FilesConfig, store: str) -> None:
        super().__init__(crawler, config)
        self.store = store

    def folder(self, source: str) -> Path:
        """The job folder of ``source``, plus the store name."""
        return super().folder(source) / self.store


class StorePipeline:
    """Buffered, batched writes of FAIR4ML records to one store.

    Args:
        crawler: the running crawler (stats, spider).
        sink: the store client.
        batch_size: records per write.
        flush_interval: seconds between timed flushes of a partial buffer.
        label: the store's name in messages (``Neo4j``).
        max_inflight: batches written at the same time (1 keeps writes in order; more lets
            the next batch's request be built and sent while the store works on one).
    """

    def __init__(
        self,
        crawler: Crawler,
        sink: Sink,
        batch_size: int,
        flush_interval: float,
        label: str,
        max_inflight: int = 1,
    ) -> None:
        self.crawler = crawler
        self.sink = sink
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.label = label
        self.files = FilesConfig.from_settings(crawler.settings)
        self.quarantine = StoreQuarantine(crawler, self.files, sink.store)
        self.unsent = UnsentRecords(sink.store)
        self._buffer: list[Any] = []
        self.max_inflight = max_inflight
        self._slots = asyncio.Semaphore(max_inflight)
        self._room = asyncio.Semaphore(max_inflight + 1)  # batches taken out, not yet written
        self._writes: set[asyncio.Task[None]] = set()
        self._timer: asyncio.Task[None] | None = None
        self._ticking = False
        self._closing = False
        self._open = False
        self._degraded = False

    @property
    def stats(self) -> Any:
        """The crawler's stats collector."""
        return self.crawler.stats

    def inc(self, key: str, count: int = 1) -> None:
        """Add to ``<store>/<key>``."""
        if count:
            self.stats.inc_value(f"{self.sink.store}/{key}", count)

    async def open_spider(self) -> None:
        """Connect; stop the crawl with a clear message when the store is unusable."""
        try:
            await self.sink.open()
        except StoreUnavailable as exc:
            self.inc(f"errors/{exc.error_type}")
            logger.error("%s is configured but unusable: %s", self.label, exc.reason)
            raise CloseSpider(f"{self.sink.store}_unavailable") from exc
        self._open = True
        self._timer = asyncio.get_running_loop().create_task(self._tick())

    async def process_item(self, item: Any) -> Any:
        """Buffer the record of a normalized item; pass every item through unchanged."""
        if self._open and isinstance(item, NormalizedItem):
            try:
                self._buffer.append(self.sink.prepare(item.record))
            except Exception as exc:
                self._refuse(item.record, f"prepare_{type(exc).__name__}", str(exc))
                logger.exception("%s cannot represent %s", self.label, item.record.primaryTopic)
                return item
            if len(self._buffer) >= self.batch_size:
                await self.flush(full_only=True)
        return item

    async def flush(self, full_only: bool = False) -> None:
        """Hand the buffer to write tasks, batch by batch, in order.

        Returns once the batches are taken out (not written: :meth:`drain` waits for that).
        A caller finding no room (``max_inflight`` writes running and one batch waiting)
        waits, which gives back-pressure to the item flow.

        Args:
            full_only: take out only full batches (size-triggered flushes); the timer and
                ``close_spider`` also take out a partial one.
        """
        while self._buffer and (not full_only or len(self._buffer) >= self.batch_size):
            await self._room.acquire()
            if not self._buffer or (full_only and len(self._buffer) < self.batch_size):
                self._room.release()
                return
            batch = self._buffer[: self.batch_size]
            self._buffer = self._buffer[self.batch_size :]
            task = asyncio.get_running_loop().create_task(self._write_in_turn(batch))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _write_in_turn(self, batch: list[Any]) -> None:
        try:
            async with self._slots:  # FIFO: batches are written in the order taken out
                await self._write(batch)
        finally:
            self._room.release()

    async def drain(self) -> None:
        """Wait until every batch taken out is written (or reported unsent)."""
        while self._writes:
            await asyncio.gather(*list(self._writes))

    async def _tick(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.flush_interval)
            if self._buffer and not self._writes and not self._closing:
                self._ticking = True
                try:
                    await self.flush()
                finally:
                    self._ticking = False

    async def _write(self, batch: list[Any]) -> None:
        # After a failed batch, try later batches once (no long backoff) until one succeeds.
        budget = 0.0 if self._degraded else None
        try:
            result = await self.sink.write_prepared(batch, budget=budget)
        except StoreUnavailable as exc:
            self._degraded = True
            if exc.partial is not None:
                self.record_result(exc.partial)
            unsent = list(exc.unsent) if exc.unsent is not None else [p.record for p in batch]
            self.inc(f"errors/{exc.error_type}")
            self.inc("records_unsent", len(unsent))
            self.unsent.add(unsent, exc.error_type)
            logger.error(
                "%s batch of %s record(s) not written (%s); continuing with files only for "
                "these records",
                self.label,
                len(unsent),
                exc.reason,
            )
            return
        except Exception as exc:
            self.inc(f"errors/{type(exc).__name__}")
            self.inc("records_unsent", len(batch))
            self.unsent.add([p.record for p in batch], type(exc).__name__)
            logger.exception("%s write failed unexpectedly", self.label, exc_info=exc)
            return
        if self._degraded:
            logger.warning("%s is reachable again", self.label)
            self._degraded = False
        self.inc("batches")
        self.record_result(result)

    def record_result(self, result: WriteResult) -> None:
        """Stats and quarantine for one write (store-specific stat names in subclasses)."""
        self.inc("retries", result.retries)
        self.inc("skipped/stale", result.stale)
        for reason, count in result.skipped.items():
            self.inc(f"skipped/{reason}", count)
        for failure in result.failures:
            self._refuse(failure.record, failure.error_type, failure.reason)
            logger.warning(
                "%s refused %s (%s); quarantined",
                self.label,
                failure.record.primaryTopic,
                failure.reason[:300],
            )

    def _refuse(self, record: Any, error_type: str, reason: str) -> None:
        """Count and quarantine one record the store cannot take."""
        self.inc(f"errors/{error_type}")
        self.quarantine.put(
            record.provenance.source,
            self.sink.store,
            reason,
            {"type": error_type, "iri": record.primaryTopic},
            record.to_jsonld(self.files.base_iri + "context.jsonld"),
        )

    async def close_spider(self) -> None:
        """Flush the rest, close the store, and report unsent records with their command."""
        self._closing = True
        if self._timer is not None:
            if not self._ticking:  # never cancel a timed flush mid-write: it would lose a batch
                self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        if self._open:
            await self.flush()
            await self.drain()
            await self.finish()
            await self.sink.close()
            self._open = False
        self.quarantine.close_spider()
        self.unsent.report(self.files.data_dir, logger)

    async def finish(self) -> None:
        """Store-specific work at close, before the connection closes (e.g. refresh)."""
