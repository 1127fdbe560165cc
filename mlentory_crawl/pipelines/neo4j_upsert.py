"""Neo4j upserts of FAIR4ML records: batched, exact, idempotent. Off unless NEO4J_URI is set.

Stats: ``neo4j/records_upserted``, ``neo4j/rows_upserted``, ``neo4j/batches``,
``neo4j/retries``, ``neo4j/skipped/stale``, ``neo4j/errors/<type>``, ``neo4j/records_unsent``.
The graph model is in ``docs/graph.md``; the statements in :mod:`mlentory_crawl.sinks.neo4j`.
"""

from __future__ import annotations

from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from mlentory_crawl.pipelines.store_base import StorePipeline
from mlentory_crawl.sinks.neo4j import Neo4jConfig
from mlentory_crawl.sinks.neo4j_client import Neo4jSink
from mlentory_crawl.sinks.retry import WriteResult


class Neo4jPipeline(StorePipeline):
    """Upserts every normalized record into Neo4j, ``NEO4J_BATCH_SIZE`` records per transaction."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build from settings; disabled without ``NEO4J_URI``, failing early on bad values."""
        if not Neo4jConfig.enabled(crawler.settings):
            raise NotConfigured("NEO4J_URI is not set")
        config = Neo4jConfig.from_settings(crawler.settings)
        return cls(crawler, Neo4jSink(config), config.batch_size, config.flush_interval, "Neo4j")

    def record_result(self, result: WriteResult) -> None:
        """Count upserted records and rows, then the common stats."""
        self.inc("records_upserted", result.records)
        self.inc("rows_upserted", result.rows)
        super().record_result(result)
