"""Neo4j upserts (see issue: stores). Off unless NEO4J_URI is set."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class Neo4jPipeline:
    """Placeholder until the Neo4j sink lands: refuses to run when NEO4J_URI is set."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Neo4jPipeline:
        """Disabled without NEO4J_URI."""
        if not crawler.settings.get("NEO4J_URI"):
            raise NotConfigured("NEO4J_URI is not set")
        raise RuntimeError("the Neo4j pipeline is not available in this build")
