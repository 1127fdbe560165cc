"""Shared plumbing of the file pipelines: config, job id, per-source part writers."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler

from mlentory_crawl.config import FilesConfig
from mlentory_crawl.storage import PartWriter, safe_name

logger = logging.getLogger(__name__)


def job_id_of(crawler: Crawler) -> str:
    """The crawl job id: the spider's (persisted across JOBDIR resumes) or a timestamp."""
    spider = crawler.spider
    job = getattr(spider, "job_id", None)
    if not job:
        job = crawler.settings.get("JOB_ID") or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        if spider is not None:
            spider.job_id = job  # type: ignore[attr-defined]
    return str(job)


class PartStorePipeline:
    """Base for pipelines that append records to ``<DATA_DIR>/<area>/<source>/<job>/``."""

    area = ""
    ext = "jsonl"

    def __init__(self, crawler: Crawler, config: FilesConfig) -> None:
        self.crawler = crawler
        self.config = config
        self._writers: dict[str, PartWriter] = {}

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

    def writer(self, source: str) -> PartWriter:
        """The (lazily opened) part writer of ``source``."""
        writer = self._writers.get(source)
        if writer is None:
            writer = PartWriter(self.folder(source), self.ext, self.config.part_records)
            self._writers[source] = writer
            logger.info("Writing %s records of %s to %s", self.area, source, writer.folder)
        return writer

    def close_spider(self) -> None:
        """Close every open part."""
        for writer in self._writers.values():
            writer.close()
