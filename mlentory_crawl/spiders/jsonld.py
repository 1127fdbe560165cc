"""JSON-LD spider: schema.org / FAIR4ML JSON-LD embedded in arbitrary web pages.

Model zoos, lab sites and dataset portals often describe models, datasets and papers with
``<script type="application/ld+json">`` blocks, sometimes injected by JavaScript. This spider
fetches the given pages, extracts those blocks and yields one :class:`RawRecord` per
ML-relevant *primary* entity of a page (see :mod:`mlentory_crawl.normalizers.jsonld_extract`
for what counts as ML-relevant and primary).

Arguments (``-a name=value``, validated by :class:`~.jsonld_args.JsonLdArgs`; at least one URL
source):
``urls`` (comma- or space-separated), ``file`` (one URL per line), ``sitemap`` (``urlset``,
``sitemapindex`` up to :data:`MAX_SITEMAP_DEPTH` levels, gzip, or a ``robots.txt``), ``match``
(regex for sitemap page URLs), ``limit`` (pages), ``render`` (``auto``: Chromium only when the
static HTML has no JSON-LD at all; ``always``; ``never``) and ``wait`` (``networkidle``,
``load``, ``domcontentloaded``).

Request budget: one request per page (two for a page ``render=auto`` re-renders), one per
sitemap, plus ``robots.txt`` once per host (``ROBOTSTXT_OBEY`` is on for this spider: it
crawls sites that are not APIs) and retries. AutoThrottle stays on.

Rendering: the scrapy-playwright download handler is installed for this spider only (merged
into ``DOWNLOAD_HANDLERS`` by :meth:`JsonLdSpider.update_settings`), but only requests with
``meta["playwright"]`` go through Chromium; every other request uses Scrapy's HTTP handler,
so a crawl of static pages never launches a browser. Images, media and fonts are not fetched
by the browser.

Stats (``source/jsonld/…``), the mapping and the limitations: ``docs/sources/jsonld.md``.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.python.failure import Failure

from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.normalizers.jsonld_blocks import (
    Extraction,
    extract_blocks,
    extract_json_document,
)
from mlentory_crawl.normalizers.jsonld_extract import (
    ml_kind,
    read_document,
    types_of,
)
from mlentory_crawl.spiders.base import BaseSourceSpider, failed_url, header_text
from mlentory_crawl.spiders.jsonld_args import JsonLdArgs, is_page_url

logger = logging.getLogger(__name__)

PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
MAX_SITEMAP_DEPTH = 3
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})


def skip_heavy_resources(request: Any) -> bool:
    """``PLAYWRIGHT_ABORT_REQUEST``: the browser skips images, media and fonts."""
    return getattr(request, "resource_type", "") in SKIPPED_RESOURCES


class JsonLdSpider(BaseSourceSpider):
    """Harvests ML-relevant schema.org / FAIR4ML JSON-LD from web pages."""

    name = "jsonld"
    source = "jsonld"
    args_model = JsonLdArgs
    args: JsonLdArgs
    #: pages reserved toward ``limit`` (``self.state`` under JOBDIR, so it survives a resume)
    progress_defaults = {"pages": 0}

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._match = re.compile(self.args.match) if self.args.match else None

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Install the Playwright handler (merged), obey robots.txt, tune the browser.

        ``DOWNLOAD_HANDLERS`` keeps every other scheme's handler (the Playwright handler serves
        non-rendered http(s) requests with Scrapy's own HTTP/1.1 handler); a value given on the
        command line wins. Nothing else (pipelines, middlewares, extensions) is touched.
        """
        super().update_settings(settings)
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update({"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER})
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
        settings.set("ROBOTSTXT_OBEY", True, priority="spider")
        settings.setdefault("PLAYWRIGHT_ABORT_REQUEST", f"{__name__}.skip_heavy_resources")
        settings.setdefault("PLAYWRIGHT_MAX_CONTEXTS", 1)
        settings.setdefault("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT", 4)
        settings.setdefault("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 30_000)

    # -- state ---------------------------------------------------------------------------------

    def _reserve_page(self) -> bool:
        limit = self.args.limit
        if limit is not None and self.progress["pages"] >= limit:
            self._inc("pages/over_limit")
            return False
        self.progress["pages"] += 1
        return True

    # -- requests ------------------------------------------------------------------------------

    def page_request(self, url: str, render: bool, again: bool = False) -> Request:
        """A page request; ``render`` sends it through Chromium (scrapy-playwright)."""
        meta: dict[str, Any] = {}
        if render:
            meta = {
                "playwright": True,
                "playwright_page_goto_kwargs": {"wait_until": self.args.wait},
            }
        return Request(
            url,
            callback=self.parse_page,
            errback=self.page_failed,
            meta=meta,
            cb_kwargs={"rendered": render},
            # the re-render of a page fetched statically a moment ago: same URL by design
            dont_filter=again,
        )

    def sitemap_request(self, url: str, depth: int) -> Request:
        """A sitemap (or sitemap index, or robots.txt) request."""
        return Request(
            url,
            callback=self.parse_sitemap,
            errback=self.sitemap_failed,
            cb_kwargs={"depth": depth},
            priority=10,
        )

    async def start(self) -> AsyncIterator[Any]:
        """Page requests for the given URLs, then the sitemaps."""
        args = self.args
        pages = list(dict.fromkeys(args.urls + args.file))
        logger.info(
            "jsonld: job %s, %d page URL(s), %d sitemap(s), render %s, limit %s",
            self.job_id,
            len(pages),
            len(args.sitemap),
            args.render,
            args.limit,
        )
        for url in pages:
            if not self._reserve_page():
                logger.info("jsonld: limit %s reached; remaining URLs skipped", args.limit)
                break
            yield self.page_request(url, render=args.render == "always")
        for url in args.sitemap:
            yield self.sitemap_request(url, 0)

    # -- sitemaps ------------------------------------------------------------------------------

    def parse_sitemap(self, response: Response, depth: int) -> Iterator[Request]:
        """Follow a sitemap index, or request the pages of a URL set (``match``, ``limit``)."""
        self._inc("sitemaps")
        if urlsplit(response.url).path.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                if depth < MAX_SITEMAP_DEPTH:
                    yield self.sitemap_request(url, depth + 1)
            return
        body = self._sitemap_body(response)
        try:
            sitemap = Sitemap(body) if body else None
        except Exception:  # noqa: BLE001 - lxml raises several types on hostile XML
            sitemap = None
        if sitemap is None or sitemap.type not in ("sitemapindex", "urlset"):
            self._inc("sitemaps/invalid")
            logger.warning("Not a sitemap: %s", response.url)
            return
        locs = [urljoin(response.url, str(e.get("loc", "")).strip()) for e in sitemap]
        locs = [loc for loc in locs if is_page_url(loc)]
        if sitemap.type == "sitemapindex":
            if depth >= MAX_SITEMAP_DEPTH:
                self._inc("sitemaps/too_deep")
                logger.warning("Sitemap index %s is nested too deep; not followed", response.url)
                return
            for loc in locs:
                yield self.sitemap_request(loc, depth + 1)
            return
        for loc in locs:
            if self._match is not None and not self._match.search(loc):
                self._inc("sitemaps/urls_skipped")
                continue
            if not self._reserve_page():
                return
            yield self.page_request(urldefrag(loc)[0], render=self.args.render == "always")

    def _sitemap_body(self, response: Response) -> bytes | None:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            maxsize = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            try:
                return gunzip(body, max_size=maxsize)
            except (OSError, EOFError, struct.error, zlib.error, ValueError) as exc:
                # corrupt or truncated gzip; ValueError: larger than DOWNLOAD_MAXSIZE unpacked
                logger.debug("Cannot gunzip sitemap %s: %s", response.url, exc)
                return None
        return body

    # -- pages ---------------------------------------------------------------------------------

    def parse_page(self, response: Response, rendered: bool = False) -> Iterator[Any]:
        """Extract the JSON-LD of a page; yield its records (or a re-render request)."""
        self._inc("pages")
        if rendered:
            self._inc("rendered")
        page = urldefrag(response.url)[0]
        if not isinstance(response, TextResponse):
            self._inc("errors/not_text")
            logger.info("Skipping %s: not a text response", page)
            return
        content_type = (header_text(response, "Content-Type") or "").lower()
        if "json" in content_type:
            found = extract_json_document(response.text)
        else:
            found = extract_blocks(response.text)
        self._count_blocks(page, found)
        if not found.found:
            if self.args.render == "auto" and not rendered:
                self._inc("render/requested")
                logger.debug("No JSON-LD in the static HTML of %s: rendering it", page)
                yield self.page_request(page, render=True, again=True)
            else:
                self._inc("pages/no_jsonld")
                logger.info("No JSON-LD on %s", page)
            return
        yield from self._records(page, found)

    def _count_blocks(self, page: str, found: Extraction) -> None:
        self._inc("blocks", len(found.blocks))
        if not found.invalid:
            return
        self._inc("blocks/invalid", found.invalid)
        self._inc("blocks/repaired", found.repaired)
        self._inc("blocks/unparseable", len(found.unparseable))
        logger.warning(
            "Invalid JSON-LD on %s: %d block(s) repaired, %d unparseable%s",
            page,
            found.repaired,
            len(found.unparseable),
            f" ({found.errors[0]})" if found.errors else "",
        )

    def _records(self, page: str, found: Extraction) -> Iterator[RawRecord]:
        doc = read_document(found.blocks, page)
        skipped = sum(
            1
            for n in doc.nodes.values()
            if "SoftwareApplication" in types_of(n) and ml_kind(n) is None
        )
        if skipped:
            self._inc("entities/skipped/SoftwareApplication", skipped)
        broken = {
            f"jsonld-{i}": Attachment(
                url=page, status=200, text=text, content_type="application/ld+json"
            )
            for i, text in enumerate(found.unparseable)
        }
        if not doc.primaries and not broken:
            self._inc("pages/no_ml_entity")
            logger.info(
                "No ML-relevant JSON-LD on %s (types: %s)",
                page,
                ", ".join(doc.types_seen[:10]) or "none",
            )
        for entity in doc.primaries:
            self._inc("records")
            self._inc(f"records/{entity.kind}")
            yield self.make_record(
                source_id=entity.record_id,
                url=page,
                api_url=page,
                payload=found.blocks,
                kind="page",
            )
        if broken:
            # Unparseable blocks go to quarantine (the normalizer rejects this record).
            yield self.make_record(
                source_id=f"{page}#invalid-jsonld",
                url=page,
                api_url=page,
                payload=[],
                kind="page",
                attachments=broken,
            )

    # -- errbacks ------------------------------------------------------------------------------

    def page_failed(self, failure: Failure) -> None:
        """A page could not be fetched (HTTP error, robots.txt, network): counted and logged."""
        self._inc("errors/" + _error_code(failure))
        url = failed_url(failure)
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            logger.info("Page %s not fetched: %s", url, failure.getErrorMessage())
        else:
            logger.warning("Page %s failed: %s", url, failure.getErrorMessage())

    def sitemap_failed(self, failure: Failure) -> None:
        """A sitemap could not be fetched: counted and logged."""
        self._inc("sitemaps/failed")
        logger.warning("Sitemap %s failed: %s", failed_url(failure), failure.getErrorMessage())


def _error_code(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"
    if failure.check(IgnoreRequest):
        return "robots" if "robots" in failure.getErrorMessage().lower() else "ignored"
    name = type(failure.value).__name__
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()[:60]
