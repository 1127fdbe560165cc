"""Shared plumbing of the file pipelines: config, job id, per-source part writers.

Writers de-duplicate after an unclean stop: when a job folder still carries the marker of a
killed process, the records already in it are not written again (``files/<area>/
duplicates_skipped``), so the work a resumed crawl repeats leaves no duplicates
(``docs/resume.md``). A spider whose resumed jobs repeat work even after a clean stop (it
sets ``repeats_records_on_resume = True``, e.g. one that re-reads dumps) gets the same
de-duplication whenever its job folder already holds parts. The folder of the spider's own
source is reopened in a worker thread when the spider opens, so reading the keys of a large
job never blocks the reactor.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from twisted.internet import threads
from twisted.internet.defer import Deferred

from mlentory_crawl.config import FilesConfig
from mlentory_crawl.storage import WRITING_MARKER, PartWriter, safe_name

logger = logging.getLogger(__name__)

_SEP = "\x1f"


def job_id_of(crawler: Crawler) -> str:
    """The crawl job id: the spider's (persisted across JOBDIR resumes) or a timestamp."""
    spider = crawler.spider
    job = getattr(spider, "job_id", None)
    if not job:
        job = crawler.settings.get("JOB_ID") or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        if spider is not None:
            spider.job_id = job  # type: ignore[attr-defined]
    return str(job)


def raw_record_key(obj: Any) -> str | None:
    """Identity of a raw record line: source, kind and source id."""
    if not isinstance(obj, dict):
        return None
    parts = (obj.get("source"), obj.get("kind"), obj.get("source_id"))
    if not all(isinstance(p, str) and p for p in parts):
        return None
    return _SEP.join(parts)  # type: ignore[arg-type]


def jsonld_record_key(obj: Any) -> str | None:
    """Identity of a FAIR4ML JSON-LD record line: its ``@id`` (the record IRI)."""
    if not isinstance(obj, dict):
        return None
    iri = obj.get("@id")
    return iri if isinstance(iri, str) and iri else None


def quarantine_key(obj: Any) -> str | None:
    """Identity of a quarantine line: the stage that refused it and the record's identity."""
    if not isinstance(obj, dict) or not isinstance(obj.get("stage"), str):
        return None
    record = obj.get("record")
    inner = jsonld_record_key(record) or raw_record_key(record)
    return f"{obj['stage']}{_SEP}{inner}" if inner else None


_KEYS = {"raw": raw_record_key, "normalized": jsonld_record_key, "quarantine": quarantine_key}


class PartStorePipeline:
    """Base for pipelines that append records to ``<DATA_DIR>/<area>/<source>/<job>/``."""

    area = ""
    ext = "jsonl"

    def __init__(self, crawler: Crawler, config: FilesConfig) -> None:
        self.crawler = crawler
        self.config = config
        self._writers: dict[str, PartWriter] = {}
        crawler.signals.connect(self._reopen_job_folder, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build the pipeline with its settings read once."""
        return cls(crawler, FilesConfig.from_settings(crawler.settings))

    @property
    def stats(self) -> Any:
        """The crawler's stats collector."""
        return self.crawler.stats

    def folder(self, source: str) -> Path:
        """The job folder of ``source`` in this pipeline's area."""
        return (
            self.config.data_dir
            / self.area
            / safe_name(source)
            / safe_name(job_id_of(self.crawler))
        )

    def record_key(self, obj: dict[str, Any]) -> str | None:
        """The identity of one JSON-lines record of this area (for de-duplication)."""
        key_of = _KEYS.get(self.area)
        return key_of(obj) if key_of is not None else None

    def writer(self, source: str) -> PartWriter:
        """The (lazily opened) part writer of ``source``."""
        writer = self._writers.get(source)
        if writer is None:
            writer = self._new_writer(self.folder(source))
            self._writers[source] = writer
        return writer

    def _repeats_on_resume(self) -> bool:
        return bool(getattr(self.crawler.spider, "repeats_records_on_resume", False))

    def _new_writer(self, folder: Path) -> PartWriter:
        writer = PartWriter(
            folder,
            self.ext,
            self.config.part_records,
            dedupe=True,
            dedupe_existing=self._repeats_on_resume(),
            key_of=self.record_key,
            on_duplicate=self._count_duplicate,
        )
        logger.info("Writing %s records to %s", self.area, writer.folder)
        return writer

    def _count_duplicate(self) -> None:
        self.stats.inc_value(f"files/{self.area}/duplicates_skipped")

    def _reopen_job_folder(self, spider: Spider) -> Deferred[None] | None:
        """Reopen the spider's job folder in a thread when a killed process left it open.

        Repairing the parts and reading the keys of the records already there is work
        proportional to the job's size, so it is kept off the reactor thread.
        """
        source = str(getattr(spider, "source", "") or spider.name)
        if source in self._writers:
            return None
        folder = self.folder(source)
        # A folder to reopen (the writer then decides whether it holds records to skip).
        reopened = (folder / WRITING_MARKER).exists() or (
            self._repeats_on_resume() and folder.is_dir()
        )
        if not reopened:
            return None
        deferred: Deferred[PartWriter] = threads.deferToThread(self._new_writer, folder)
        return deferred.addCallback(self._adopt_writer, source)

    def _adopt_writer(self, writer: PartWriter, source: str) -> None:
        self._writers.setdefault(source, writer)

    def close_spider(self) -> None:
        """Close every open part."""
        for writer in self._writers.values():
            writer.close()
