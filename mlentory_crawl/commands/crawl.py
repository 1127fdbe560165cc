"""``scrapy crawl`` with an exit code that tells whether the crawl failed.

Scrapy's own ``crawl`` exits 1 only when the crawl cannot start (a bad spider argument or
setting); a crawl that starts and then stops because a configured store is unreachable, or
because its source failed, still exits 0. This command (found through ``COMMANDS_MODULE``) is
Scrapy's, plus one check after the run: a crawl that finished with a *failure reason* exits 1,
and says so in a last ERROR line.

Failure reasons follow one convention: a ``finish_reason`` ending in ``_unavailable`` (a store
down at start: ``neo4j_unavailable``, ``es_unavailable``) or in ``_failed`` (the source failed:
``list_page_failed``, ``index_page_failed``, ``dump_failed``). Every other reason is a normal
end: ``finished``, ``limit``, ``shutdown`` (Ctrl-C: resume with the same ``JOBDIR``) and
Scrapy's ``closespider_*`` limits.

Exit codes: 0 the crawl finished normally; 1 it could not start, or finished with a failure
reason; 2 a usage error (Scrapy's).
"""

from __future__ import annotations

import argparse
import logging

from scrapy import Spider
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

FAILURE_SUFFIXES = ("_unavailable", "_failed")
"""A ``finish_reason`` ending in one of these marks a failed crawl."""
FAILURE_EXIT_CODE = 1


def is_failure_reason(reason: object) -> bool:
    """Whether a ``finish_reason`` marks a failed crawl (see the module docstring)."""
    return isinstance(reason, str) and reason.endswith(FAILURE_SUFFIXES)


class Command(ScrapyCrawlCommand):
    """Scrapy's ``crawl``; exits 1 when the crawl finished with a failure reason."""

    def __init__(self) -> None:
        super().__init__()
        self._crawlers: list[Crawler] = []

    def short_desc(self) -> str:
        """The one-line help of ``scrapy -h``."""
        return "Run a spider of the current project, by name (exit 1 when the crawl failed)"

    def long_desc(self) -> str:
        """The description of ``scrapy crawl -h``."""
        return (
            "Run a spider of the current project, by name. Exit code 0: the crawl finished "
            "(also by limit or Ctrl-C); 1: it could not start, or it stopped because a "
            "configured store was unavailable or its source failed (finish reason "
            "*_unavailable or *_failed); 2: usage error."
        )

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        """Scrapy's crawler, remembered so its ``finish_reason`` can be read after the run."""
        crawler = super()._create_crawler(spidercls)
        self._crawlers.append(crawler)
        return crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Run the crawl as Scrapy does, then set the exit code from its finish reason."""
        super().run(args, opts)
        if self.exitcode:
            return
        for crawler in self._crawlers:
            reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
            if is_failure_reason(reason):
                self.exitcode = FAILURE_EXIT_CODE
                logger.error(
                    "The %s crawl failed (finish_reason %s): exit code %d",
                    crawler.spidercls.name,
                    reason,
                    self.exitcode,
                )
