"""Elasticsearch bulk indexing of model documents. Off unless ELASTICSEARCH_URL is set.

Stats: ``es/docs_indexed``, ``es/batches``, ``es/retries``, ``es/skipped/<reason>``
(``stale``, ``not_a_model``), ``es/errors/<type>`` (each refused document, quarantined under
``DATA_DIR/quarantine/<source>/<job>/es/``), ``es/records_unsent``. While the crawl runs,
new documents become searchable every ``ELASTICSEARCH_REFRESH_INTERVAL`` (30s); the index is
refreshed at close so a finished crawl is searchable at once.
"""

from __future__ import annotations

import logging
from typing import Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from mlentory_crawl.pipelines.store_base import StorePipeline
from mlentory_crawl.sinks.elasticsearch import EsConfig
from mlentory_crawl.sinks.es_client import EsSink
from mlentory_crawl.sinks.retry import WriteResult

logger = logging.getLogger(__name__)


class ElasticsearchPipeline(StorePipeline):
    """Indexes every normalized model record, ``ELASTICSEARCH_BATCH_SIZE`` documents per bulk."""

    sink: EsSink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Build from settings; disabled without ``ELASTICSEARCH_URL``, failing early."""
        if not EsConfig.enabled(crawler.settings):
            raise NotConfigured("ELASTICSEARCH_URL is not set")
        config = EsConfig.from_settings(crawler.settings)
        sink = EsSink(config)
        # Two bulks in flight: one is built and sent while the cluster indexes the other;
        # external versions keep the newest harvest whatever order they land in.
        return cls(crawler, sink, config.batch_size, config.flush_interval, "Elasticsearch", 2)

    def record_result(self, result: WriteResult) -> None:
        """Count indexed documents, then the common stats."""
        self.inc("docs_indexed", result.records)
        super().record_result(result)

    async def finish(self) -> None:
        """Refresh the index so everything written is searchable when the crawl ends."""
        try:
            await self.sink.refresh()
        except Exception as exc:  # noqa: BLE001 - refresh is a convenience; never fail close
            self.inc(f"errors/refresh_{type(exc).__name__}")
            logger.warning("Elasticsearch refresh at close failed: %s", exc)
