"""Log lines about items name the record, never dump its payload.

Scrapy's default formatter prints whole items when they are scraped or dropped; our items
carry untouched source payloads (model cards, rdf.yaml text that may hold e-mail addresses)
and can be megabytes long. These lines name the source and id instead.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from scrapy.spiders import Spider
from twisted.python.failure import Failure

from mlentory_crawl.items.raw import NormalizedItem, RawRecord


def describe(item: Any) -> str:
    """A one-line name for an item: ``<source> <kind> <id>`` or the record IRI."""
    if isinstance(item, RawRecord):
        return f"{item.source} {item.kind} {item.source_id!r}"
    if isinstance(item, NormalizedItem):
        return f"record {getattr(item.record, 'id', '?')}"
    return type(item).__name__


def _named(result: LogFormatterResult, item: Any) -> LogFormatterResult:
    args = result["args"]
    if isinstance(args, dict):
        result["args"] = {**args, "item": describe(item)}
    return result


class ItemNamingLogFormatter(LogFormatter):
    """Replaces the item dump in scraped/dropped/error lines by :func:`describe`."""

    def scraped(
        self, item: Any, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        """Scraped items are named, not printed."""
        result = super().scraped(item, response, spider)
        return _named(result, item)

    def dropped(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        """Dropped items: the reason and the item's name."""
        result = super().dropped(item, exception, response, spider)
        return _named(result, item)

    def item_error(
        self,
        item: Any,
        exception: BaseException,
        response: Response | Failure | None,
        spider: Spider,
    ) -> LogFormatterResult:
        """Pipeline errors: the item's name (the traceback is logged by Scrapy)."""
        result = super().item_error(item, exception, response, spider)
        return _named(result, item)
