"""Crawl-level reporting: which sinks are on at start, a summary of what was harvested at close."""

from __future__ import annotations

import logging
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from mlentory_crawl.config import FilesConfig

logger = logging.getLogger(__name__)


class CrawlSummary:
    """Says once at start which sinks are off (and how to turn them on); summarises at close."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.files = FilesConfig.from_settings(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Connect to the spider signals."""
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        """Log where records go and which stores are disabled."""
        settings = self.crawler.settings
        sinks = [f"files under {self.files.data_dir.resolve()}"]
        off = []
        if settings.get("NEO4J_URI"):
            sinks.append("Neo4j")
        else:
            off.append("Neo4j (set NEO4J_URI, e.g. bolt://127.0.0.1:7687)")
        if settings.get("ELASTICSEARCH_URL"):
            sinks.append("Elasticsearch")
        else:
            off.append("Elasticsearch (set ELASTICSEARCH_URL, e.g. http://127.0.0.1:9200)")
        logger.info("Spider %s writes to: %s", spider.name, ", ".join(sinks))
        if off:
            logger.info("Sinks off: %s", "; ".join(off))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Log records normalised, quarantined, the weakest fields and where the files are."""
        stats = self.crawler.stats
        assert stats is not None
        values = stats.get_stats()
        normalized = values.get("fair4ml/records/normalized", 0)
        quarantined = sum(
            v
            for k, v in values.items()
            if k.startswith("fair4ml/quarantined/")
            and k.rsplit("/", 1)[-1]
            in {"invalid_input", "validation_error", "unexpected_error", "no_normalizer"}
        )
        fields = sorted(
            {
                k.removeprefix("fair4ml/field/").rsplit("/", 1)[0]
                for k in values
                if k.startswith("fair4ml/field/") and k.endswith(("/present", "/missing"))
            }
        )
        coverage = []
        for name in fields:
            present = values.get(f"fair4ml/field/{name}/present", 0)
            total = present + values.get(f"fair4ml/field/{name}/missing", 0)
            if total:
                coverage.append((present / total, name))
        weakest = ", ".join(f"{n} {p:.0%}" for p, n in sorted(coverage)[:8] if p < 1)
        logger.info(
            "Crawl %s finished (%s): %s records normalized, %s quarantined; files in %s",
            getattr(spider, "job_id", "?"),
            reason,
            normalized,
            quarantined,
            self.files.data_dir.resolve(),
        )
        if weakest:
            logger.info("Least covered FAIR4ML fields: %s", weakest)
