"""PapersWithCode archive spider: streams the five JSON dumps into RawRecords, memory bounded.

The PwC site and API closed in July 2025; its data lives on as gzip JSON dumps
(``papers-with-abstracts``, ``links-between-papers-and-code``, ``evaluation-tables``,
``methods``, ``datasets``). This spider reads them from a local folder/file (or ``file://``
URL) or from an HTTP(S) base URL, and never holds a whole dump in memory:

* local files are read 1 MiB at a time in a worker thread and parsed incrementally
  (:class:`mlentory_crawl.streaming.DumpReader`); ``start()`` waits while more than
  ``PWC_MAX_PENDING_ITEMS`` items are in the pipelines;
* over HTTP each dump is fetched as a sequence of ``Range`` requests of ``PWC_CHUNK_BYTES``
  (16 MiB), each fed to the same incremental parser. A server that ignores ``Range`` answers
  200 with the whole file, which then must fit ``DOWNLOAD_MAXSIZE`` (256 MiB by default;
  papers-with-abstracts is ~540 MB gzip: download it first and use ``path``).

Arguments (``-a name=value``; validated by :class:`PwcArgs`):

* ``dumps``: comma list of dumps (aliases ``papers``, ``links``, ``evaluations``); default:
  every dump found at the location.
* ``path``: a local folder holding ``<dump>.json.gz`` (or ``.json``) files, one dump file, or
  a ``file://`` URL of either.
* ``base_url``: an ``http(s)://`` (or ``file://``) folder URL; ``<base_url>/<dump>.json.gz``.
  Default for both: the ``PWC_DUMPS_URL`` setting.
* ``limit``: at most this many records per dump.

Order: ``papers-with-abstracts`` and ``links-between-papers-and-code`` are read before the
dumps that name papers only by their PwC page (methods, datasets, evaluation tables), which
are resolved through the on-disk paper index (:class:`~.pwc_dumps.PaperIndex`,
``PWC_PAPER_INDEX``, default ``DATA_DIR/index/paperswithcode/papers.sqlite3``; ``off``
disables it). Request budget over HTTP: ``ceil(size / PWC_CHUNK_BYTES)`` requests per dump.

JOBDIR: requests carry plain data (dump name, offset, a stream token). Parser state is not
persisted: a resumed job re-reads each dump from its start; the file pipelines skip the
records the job already wrote (``repeats_records_on_resume``), and the stores' upserts are
idempotent. Chunk requests of the interrupted job are dropped as stale.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.asyncio import run_in_thread, sleep
from twisted.python.failure import Failure

from mlentory_crawl.config import ConfigError
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.normalizers.pwc_refs import PAPERS_ATTACHMENT
from mlentory_crawl.spiders.base import BaseSourceSpider, failed_url, header_text
from mlentory_crawl.spiders.pwc_config import DumpSource, PwcArgs, PwcConfig, resolve_sources
from mlentory_crawl.spiders.pwc_dumps import DUMPS, PaperIndex
from mlentory_crawl.spiders.pwc_stream import Prepared, Stream, prepare, staged, take_chunk
from mlentory_crawl.streaming import DumpFormatError, DumpReader

logger = logging.getLogger(__name__)


class PapersWithCodeSpider(BaseSourceSpider):
    """Streams the PapersWithCode archive dumps (see the module docstring).

    Close reasons (set in ``_close_reason``, raised by the base class once idle): ``limit``
    when a dump was cut by ``limit``, ``dump_failed`` when a dump could not be read to its end.
    """

    name = "paperswithcode"
    source = "paperswithcode"
    #: A resumed job re-reads the dumps: the file pipelines skip the records already written.
    repeats_records_on_resume = True
    args_model = PwcArgs
    args: PwcArgs
    config: PwcConfig

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.sources: dict[str, DumpSource] = {}
        self.missing: list[str] = []
        self.streams: dict[str, Stream] = {}
        self.index: PaperIndex | None = None
        self._waiting: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Validate settings and resolve the dump location before any request."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = PwcConfig.from_settings(crawler.settings)
        location = spider.args.path or spider.args.base_url or spider.config.location
        if not location:
            raise ConfigError(
                "paperswithcode: no dump location: pass -a path=DIR, -a base_url=URL "
                "or set PWC_DUMPS_URL"
            )
        found, spider.missing = resolve_sources(location, spider.args.dumps)
        spider.sources = {s.dump: s for s in found}
        return spider

    def closed(self, reason: str) -> None:
        """Close the paper index and what an interrupted stream left open."""
        for stream in self.streams.values():
            stream.close()
        if self.index is not None:
            self.index.close()

    # -- start ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """Chunk requests for remote dumps; local dumps are streamed right here, in order."""
        explicit = self.args.dumps is not None
        for dump in self.missing:
            self._missing(dump, explicit)
        logger.info(
            "paperswithcode: job %s, dumps %s, limit %s per dump",
            self.job_id, ", ".join(f"{s.dump} <{s.url}>" for s in self.sources.values()) or "none",
            self.args.limit,
        )  # fmt: skip
        if self.config.index_path is not None and self.sources:
            self.index = await run_in_thread(PaperIndex, self.config.index_path)
        ordered = [self.sources[d] for d in DUMPS if d in self.sources]
        if any(s.path is None for s in ordered):  # HTTP: the dependent dumps follow later
            self._waiting = [s.dump for s in ordered if self._depends(s.dump)]
            for source in ordered:
                if source.dump not in self._waiting:
                    yield self._open_remote(source)
            return
        for source in ordered:  # local files: one after the other, in archive order
            async for record in self._stream_local(source):
                yield record

    def _depends(self, dump: str) -> bool:
        if self.index is None or not DUMPS[dump].needs_papers:
            return False
        feeders = ("papers-with-abstracts", "links-between-papers-and-code")
        return any(f in self.sources for f in feeders)

    def _new_stream(self, source: DumpSource) -> Stream:
        stage = self.config.staging_dir / f"rows-{secrets.token_hex(6)}.sqlite3"
        stream = Stream(source, DumpReader(self.config.max_element_chars), stage_path=stage)
        self.streams[source.dump] = stream
        self._inc("dumps/opened")
        return stream

    # -- local files -----------------------------------------------------------------------------

    async def _stream_local(self, source: DumpSource) -> AsyncIterator[RawRecord]:
        stream = self._new_stream(source)
        assert source.path is not None
        try:
            stream.fh = await run_in_thread(source.path.open, "rb")
        except OSError as exc:
            self._failed(stream, f"cannot open {source.path}: {exc.strerror}", "read_failed")
            self._end(stream)
            return
        async for record in self._pump(stream):
            yield record

    async def _pump(self, stream: Stream) -> AsyncIterator[RawRecord]:
        """Parse what the stream can read now; at its end, the staged models; then close it.

        Returns early (stream still open) when a remote dump needs its next chunk.
        """
        while not stream.exhausted and not stream.limited:
            if stream.fh is not None:
                await self._backpressure()
            try:
                prepared = await run_in_thread(prepare, stream, self.index, self.args.limit)
            except DumpFormatError as exc:
                self._failed(stream, str(exc), "malformed_dump")
            except OSError as exc:
                self._failed(stream, f"read error: {exc}", "read_failed")
            else:
                for record in self._records(stream, prepared):
                    yield record
                if not prepared and not stream.exhausted:
                    return  # a remote dump: wait for the next chunk
        while not stream.limited:  # leaderboard rows, one record per model
            await self._backpressure()
            prepared = await run_in_thread(staged, stream, self.index)
            if not prepared:
                break
            for record in self._records(stream, prepared):
                yield record
        await run_in_thread(stream.close)
        self._end(stream)

    async def _backpressure(self) -> None:
        """Wait while more than ``PWC_MAX_PENDING_ITEMS`` items are in the pipelines.

        Items yielded by ``start()`` are not throttled by Scrapy (callback output is, by
        ``CONCURRENT_ITEMS``), so a fast parser could otherwise outrun slow pipelines.
        """
        try:
            engine = self.crawler.engine
        except RuntimeError:  # no engine (callback tests)
            return
        slot = getattr(engine.scraper, "slot", None)
        while (
            slot is not None
            and engine.running
            and slot.itemproc_size > self.config.max_pending_items
        ):
            await sleep(0.02)

    # -- HTTP ------------------------------------------------------------------------------------

    def _open_remote(self, source: DumpSource) -> Request:
        return self.chunk_request(self._new_stream(source), 0)

    def chunk_request(self, stream: Stream, start: int) -> Request:
        """One ``Range`` request of a remote dump (404/410/416 reach the callback as data)."""
        end = start + self.config.chunk_bytes - 1
        return Request(
            stream.source.url,
            callback=self.parse_chunk,
            errback=self.chunk_failed,
            headers={"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"},
            cb_kwargs={"dump": stream.dump, "start": start, "token": stream.token},
            meta={"handle_httpstatus_list": [404, 410, 416]},
            dont_filter=True,  # one URL, many byte ranges: only the Range header differs
        )

    async def parse_chunk(
        self, response: Response, dump: str, start: int, token: str
    ) -> AsyncIterator[Request | RawRecord]:
        """Feed one chunk to the dump's parser, yield its records, then ask for the next."""
        stream = self.streams.get(dump)
        if stream is None or stream.token != token or stream.ended or start != stream.next_offset:
            self._inc("chunks/stale")
            logger.warning("Dropping a stale chunk of %s at byte %s (resumed job?)", dump, start)
            return
        self._inc("chunks")
        stream.chunks += 1
        content_range = header_text(response, "Content-Range") or ""
        problem = take_chunk(
            stream, response.status, content_range, response.body, start, self.config.chunk_bytes
        )
        if problem == "missing":
            self._missing(dump, self.args.dumps is not None)
            stream.ended = True
        elif problem:
            self._failed(stream, problem, "bad_chunk")
        if not stream.ended:
            async for record in self._pump(stream):
                yield record
        if not stream.ended:
            yield self.chunk_request(stream, stream.next_offset)
            return
        for request in self._next_dumps():
            yield request

    async def chunk_failed(self, failure: Failure) -> AsyncIterator[Request | RawRecord]:
        """A chunk failed for good (network, 5xx after retries, size limit): the dump stops."""
        request: Request | None = getattr(failure, "request", None)
        kwargs = request.cb_kwargs if request is not None else {}
        stream = self.streams.get(str(kwargs.get("dump")))
        if stream is None or stream.token != kwargs.get("token") or stream.ended:
            logger.error(
                "A chunk request for %s failed: %s", failed_url(failure), failure.getErrorMessage()
            )
            return
        message = failure.getErrorMessage()
        hint = " (download the dump and use -a path=...)" if "maxsize" in message.lower() else ""
        self._failed(stream, f"{message}{hint}", "chunk_failed")
        async for record in self._pump(stream):  # the staged models, then the end
            yield record
        for request in self._next_dumps():
            yield request

    def _next_dumps(self) -> Iterator[Request]:
        """Open the waiting dumps once every independent dump has ended."""
        if any(not s.ended for d, s in self.streams.items() if d not in self._waiting):
            return
        waiting, self._waiting = self._waiting, []
        for dump in waiting:
            yield self._open_remote(self.sources[dump])

    # -- shared ----------------------------------------------------------------------------------

    def _records(self, stream: Stream, prepared: list[Prepared]) -> Iterator[RawRecord]:
        limit = self.args.limit
        for kind, source_id, url, payload, known in prepared:
            if limit is not None and stream.records >= limit:
                self._limit(stream, limit)
                return
            stream.records += 1
            self._inc(f"records/{stream.dump}")
            attachments = {}
            if known:
                self._inc("papers/resolved")
                attachments[PAPERS_ATTACHMENT] = Attachment(
                    url=self.config.index_path.as_uri() if self.config.index_path else "",
                    status=200,
                    text=json.dumps(known, sort_keys=True, ensure_ascii=False),
                    content_type="application/json",
                )
            yield self.make_record(
                source_id=source_id, url=url, api_url=stream.source.url, payload=payload,
                kind=kind, attachments=attachments, retrieved_at=stream.retrieved_at,
            )  # fmt: skip
        if limit is not None and stream.records >= limit and stream.full:
            self._limit(stream, limit)  # reading stopped early: more records were there

    def _limit(self, stream: Stream, limit: int) -> None:
        if stream.limited:
            return
        stream.limited = True
        self._inc("limit_reached")
        self._close_reason = self._close_reason or "limit"
        logger.info("paperswithcode: limit of %d records reached in %s", limit, stream.dump)

    def _end(self, stream: Stream) -> None:
        if stream.ended:
            return
        stream.ended = True
        reader = stream.reader
        self._inc("dumps/done")
        self._inc(f"elements/{stream.dump}", stream.elements)
        self._inc(f"bytes/{stream.dump}", reader.bytes_in)
        logger.info(
            "paperswithcode: %s %s: %d elements, %d records, %d bytes read (%d decompressed)",
            stream.dump,
            "failed" if stream.failed else "cut by limit" if stream.limited else "done",
            stream.elements,
            stream.records, reader.bytes_in, reader.bytes_out,
        )  # fmt: skip

    def _failed(self, stream: Stream, reason: str, code: str) -> None:
        """Stop reading a dump (what was read is still emitted; ``_pump`` then ends it)."""
        stream.failed = True
        self._inc(f"errors/{code}")
        self._close_reason = "dump_failed"
        logger.error(
            "paperswithcode: dump %s stopped after %d elements: %s",
            stream.dump, stream.elements, reason,
        )  # fmt: skip

    def _missing(self, dump: str, explicit: bool) -> None:
        if explicit:
            self._inc("errors/missing_dump")
            logger.warning("paperswithcode: dump %s was asked for but is not there", dump)
        else:
            self._inc("dumps/missing")
            logger.info("paperswithcode: dump %s not found at the location; skipped", dump)
