"""Elasticsearch bulk indexing (see issue: stores). Off unless ELASTICSEARCH_URL is set."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class ElasticsearchPipeline:
    """Placeholder until the Elasticsearch sink lands: refuses to run when configured."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ElasticsearchPipeline:
        """Disabled without ELASTICSEARCH_URL."""
        if not crawler.settings.get("ELASTICSEARCH_URL"):
            raise NotConfigured("ELASTICSEARCH_URL is not set")
        raise RuntimeError("the Elasticsearch pipeline is not available in this build")
