"""``scrapy load``: (re)load ``DATA_DIR/normalized`` into Neo4j and Elasticsearch.

It is how a store is rebuilt from the files, and how records left unsent by an outage are
delivered (the crawl prints the exact command). It reuses the crawl's sinks, so a load writes
exactly what the pipelines would have written::

    scrapy load                                   # every source and job, every configured store
    scrapy load --source huggingface --job 20260101T000000Z --only neo4j
    scrapy load --only es --rebuild               # fresh index, alias swapped when complete

Job folders are replayed oldest first (by the time of their first part file, then name), so the
latest harvest of a record is written last. Order is not what keeps the stores right, though:
each record carries its retrieval time, and both stores skip a record older than the one they
hold (Neo4j compares ``Record.retrievedAt``, Elasticsearch uses it as an external version), so
loading an old job after a new one changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.settings import BaseSettings
from scrapy.utils.log import configure_logging

from mlentory_crawl.config import ConfigError, FilesConfig
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.sinks.elasticsearch import EsConfig
from mlentory_crawl.sinks.es_client import EsSink
from mlentory_crawl.sinks.neo4j import Neo4jConfig
from mlentory_crawl.sinks.neo4j_client import Neo4jSink
from mlentory_crawl.sinks.retry import StoreUnavailable, WriteResult
from mlentory_crawl.storage import PartWriter, ReadStats, dump_json_line, iter_jsonl, safe_name

logger = logging.getLogger(__name__)

Sink = Neo4jSink | EsSink


def job_folders(root: Path, sources: list[str], jobs: list[str]) -> list[Path]:
    """The ``<source>/<job>`` folders under ``root`` to load, oldest first.

    Args:
        root: ``DATA_DIR/normalized``.
        sources: source names to keep (all when empty).
        jobs: job ids to keep (all when empty); compared as folder names.
    """
    wanted_jobs = {safe_name(j) for j in jobs}
    found: list[tuple[float, str, Path]] = []
    for source_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if sources and source_dir.name not in {safe_name(s) for s in sources}:
            continue
        for job_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            if wanted_jobs and job_dir.name not in wanted_jobs:
                continue
            parts = sorted(job_dir.glob("part-*.jsonl"))
            if parts:
                found.append((min(p.stat().st_mtime for p in parts), job_dir.name, job_dir))
    return [path for _, _, path in sorted(found)]


def iter_records(folders: list[Path], read: ReadStats, invalid: list[int]) -> Iterator[Any]:
    """Yield validated FAIR4ML records from the part files of ``folders``, in order."""
    for folder in folders:
        for doc in iter_jsonl(sorted(folder.glob("part-*.jsonl")), read):
            try:
                yield FAIR4MLRecord.model_validate(doc)
            except ValidationError as exc:
                invalid[0] += 1
                logger.warning("Skipping an invalid record in %s: %s", folder, exc.errors()[:1])


class Loader:
    """Feeds batches of records to the sinks, one batch in flight while the next is parsed."""

    def __init__(self, sinks: list[Sink], files: FilesConfig, batch_size: int) -> None:
        self.sinks = sinks
        self.data_dir = files.data_dir
        self.context = files.base_iri + "context.jsonld"
        self.batch_size = batch_size
        self.totals = {sink.store: WriteResult() for sink in sinks}
        self.read = 0
        self._quarantine: dict[tuple[str, str, str], PartWriter] = {}
        self._started = time.monotonic()
        self._last_report = 0.0
        self._reported = -1

    async def run(self, records: Iterator[Any]) -> None:
        """Write every record; raise :class:`StoreUnavailable` when a store gives up."""
        pending: asyncio.Task[None] | None = None
        batch: list[Any] = []
        for record in records:
            batch.append(record)
            if len(batch) >= self.batch_size:
                if pending is not None:
                    await pending
                pending = asyncio.create_task(self._write(batch))
                batch = []
                await asyncio.sleep(0)  # let the write go out while the next batch is parsed
        if pending is not None:
            await pending
        if batch:
            await self._write(batch)
        self.progress(force=True)
        for writer in self._quarantine.values():
            writer.close()

    async def _write(self, batch: list[Any]) -> None:
        results = await asyncio.gather(*(sink.write(batch) for sink in self.sinks))
        self.read += len(batch)
        for sink, result in zip(self.sinks, results, strict=True):
            self.totals[sink.store].add(result)
            for failure in result.failures:
                self._quarantine_one(sink.store, failure.record, failure.error_type, failure.reason)
        self.progress()

    def _quarantine_one(self, store: str, record: Any, error_type: str, reason: str) -> None:
        prov = record.provenance
        key = (prov.source, prov.jobId, store)
        writer = self._quarantine.get(key)
        if writer is None:
            folder = self.data_dir / "quarantine" / safe_name(prov.source)
            writer = PartWriter(folder / safe_name(prov.jobId) / store, "jsonl")
            self._quarantine[key] = writer
        line = {"stage": store, "reason": reason, "errors": {"type": error_type}}
        writer.write_line(dump_json_line(line | {"record": record.to_jsonld(self.context)}))

    def progress(self, force: bool = False) -> None:
        """Print one progress line (at most every 2 s unless ``force``)."""
        now = time.monotonic()
        if (not force and now - self._last_report < 2) or self.read == self._reported:
            return
        self._last_report, self._reported = now, self.read
        rate = self.read / max(now - self._started, 1e-9)
        parts = []
        for store, total in self.totals.items():
            done = f"{store}: {total.records:,} written"
            extra = [f"{total.stale:,} already newer"] if total.stale else []
            extra += [f"{n:,} {reason}" for reason, n in total.skipped.items()]
            extra += [f"{len(total.failures):,} quarantined"] if total.failures else []
            parts.append(done + (f" ({', '.join(extra)})" if extra else ""))
        print(f"{self.read:,} records read ({rate:,.0f}/s); " + "; ".join(parts), flush=True)


def open_sinks(settings: BaseSettings, only: str | None) -> list[Sink]:
    """The configured sinks (``--only`` narrows them); a requested but unset store is an error."""
    sinks: list[Sink] = []
    if only in (None, "neo4j"):
        if Neo4jConfig.enabled(settings):
            sinks.append(Neo4jSink(Neo4jConfig.from_settings(settings)))
        elif only == "neo4j":
            raise UsageError("--only neo4j needs NEO4J_URI (e.g. bolt://127.0.0.1:7687)")
    if only in (None, "es"):
        if EsConfig.enabled(settings):
            sinks.append(EsSink(EsConfig.from_settings(settings)))
        elif only == "es":
            raise UsageError("--only es needs ELASTICSEARCH_URL (e.g. http://127.0.0.1:9200)")
    if not sinks:
        raise UsageError("no store configured: set NEO4J_URI and/or ELASTICSEARCH_URL")
    return sinks


async def load(
    sinks: list[Sink], folders: list[Path], files: FilesConfig, batch_size: int, rebuild: bool
) -> Loader:
    """Open the sinks, load the folders, and close (swapping the alias after an ES rebuild).

    Args:
        sinks: the stores to write.
        folders: ``normalized/<source>/<job>`` folders, in load order.
        files: file settings (``data_dir`` is where quarantined records go).
        batch_size: records per write.
        rebuild: wipe Neo4j first; fill a new Elasticsearch index and swap the alias.
    """
    read, invalid = ReadStats(), [0]
    loader = Loader(sinks, files, batch_size)
    opened: list[Sink] = []
    new_index: str | None = None
    try:
        for sink in sinks:
            await sink.open()
            opened.append(sink)
        for sink in sinks:
            if rebuild and isinstance(sink, Neo4jSink):
                print("neo4j: deleting the project's nodes before reloading", flush=True)
                await sink.wipe()
            elif rebuild and isinstance(sink, EsSink):
                # Nobody reads the new index until the swap: no refreshes, no replicas meanwhile.
                new_index = sink.target = await sink.create_index(loading=True)
                print(f"es: loading into new index {new_index}", flush=True)
        await loader.run(iter_records(folders, read, invalid))
        for sink in sinks:
            if isinstance(sink, EsSink):
                if new_index is None:
                    await sink.refresh()
                else:
                    await sink.settle(new_index)
                    old = await sink.swap_alias(new_index)
                    print(
                        f"es: alias {sink.config.alias} -> {new_index}; removed {old}", flush=True
                    )
                    new_index = None
    finally:
        for sink in opened:
            if new_index is not None and isinstance(sink, EsSink):
                with contextlib.suppress(Exception):  # the alias still serves the old index
                    await sink.client.indices.delete(index=new_index)
        for sink in opened:
            await sink.close()
    if read.partial_lines or read.bad_lines or invalid[0]:
        print(
            f"skipped {read.partial_lines} partial line(s), {read.bad_lines} unreadable line(s), "
            f"{invalid[0]} invalid record(s)",
            flush=True,
        )
    return loader


class Command(ScrapyCommand):
    """``scrapy load [--source S] [--job J] [--only neo4j|es] [--data-dir D] [--rebuild]``."""

    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        """Command syntax."""
        return "[--source S] [--job J] [--only neo4j|es] [--data-dir DIR] [--rebuild]"

    def short_desc(self) -> str:
        """One line for ``scrapy -h``."""
        return "(Re)load DATA_DIR/normalized into Neo4j and Elasticsearch"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The command's options."""
        super().add_options(parser)
        parser.add_argument("--source", action="append", default=[], help="source (repeatable)")
        parser.add_argument("--job", action="append", default=[], help="job id (repeatable)")
        parser.add_argument("--only", choices=("neo4j", "es"), help="load one store only")
        parser.add_argument("--data-dir", help="data folder (default: DATA_DIR)")
        parser.add_argument("--batch-size", type=int, help="records per batch")
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Neo4j: delete the project's nodes first; Elasticsearch: load into a new "
            "index and swap the alias when done (no downtime)",
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Load the selected job folders into the selected stores."""
        assert self.settings is not None
        configure_logging(self.settings)
        try:
            files = FilesConfig.from_settings(self.settings)
            sinks = open_sinks(self.settings, opts.only)
        except ConfigError as exc:
            raise UsageError(str(exc), print_help=False) from exc
        if opts.data_dir:
            files = dataclasses.replace(files, data_dir=Path(opts.data_dir).expanduser())
        data_dir = files.data_dir
        folders = job_folders(data_dir / "normalized", opts.source, opts.job)
        if not folders:
            print(f"nothing to load under {(data_dir / 'normalized').resolve()}", flush=True)
            self.exitcode = 1 if (opts.source or opts.job) else 0
            return
        batch_size = opts.batch_size or min(s.config.batch_size for s in sinks)
        names = ", ".join(f"{f.parent.name}/{f.name}" for f in folders[:5])
        more = f" and {len(folders) - 5} more" if len(folders) > 5 else ""
        print(
            f"loading {len(folders)} job folder(s) ({names}{more}) into "
            f"{', '.join(s.store for s in sinks)}",
            flush=True,
        )
        try:
            asyncio.run(load(sinks, folders, files, batch_size, opts.rebuild))
        except StoreUnavailable as exc:
            logger.error("Load stopped: %s. Nothing is lost; run the same command again.", exc)
            self.exitcode = 1
