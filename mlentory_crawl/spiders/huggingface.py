"""HuggingFace Hub spider: walks ``/api/models`` (or fetches given ids) and the model cards.

Arguments (``-a name=value``; validated by :class:`~.hf_args.HuggingFaceArgs`):

* ``limit``: at most this many models (records), then no further request is issued and the
  spider closes with reason ``limit``.
* ``since``: ISO date/datetime; the list is sorted by ``lastModified`` (the Hub sorts newest
  first) and the walk stops at the first model modified before it.
* ``author``, ``search``: the Hub's list filters.
* ``ids``: ``a/b,c/d`` or ``@file`` (or an existing file path) with one id per line (``#``
  comments allowed): fetch ``/api/models/<id>`` per id instead of walking the list. Renamed
  repos answer 307 and are followed; the canonical ``id`` of the body is the identity.
  Cannot be combined with ``author``/``search``/``since``; with ``limit`` only the first
  ``limit`` ids are requested.
* ``cards`` (default true): also fetch ``<HF_ENDPOINT>/<id>/raw/main/README.md``.

Request budget: one list request per page of ``HF_PAGE_SIZE`` (≤ 500) models, or one API
request per id; plus one card request per model when ``cards`` is on; plus retries. A full
list walk with cards is ``ceil(N / 500) + N`` requests.

Pagination follows the ``Link: <…>; rel="next"`` header verbatim (the cursor is opaque);
a page without it is the last one, whatever its size. The Hub answers with absolute
``https://huggingface.co/...`` links: when ``HF_ENDPOINT`` is another origin (a replay server
or a mirror) the link's scheme and host are replaced by the endpoint's, so a replayed crawl
never leaves the endpoint (and a hostile ``Link`` cannot send us elsewhere).

JOBDIR: requests carry only plain data. A card request carries its model's list entry in
``cb_kwargs`` (plain JSON, typically a few KB; at most one page of entries is queued at a
time because card requests have a higher priority than the next list page).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, Self
from urllib.parse import quote, urlencode, urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.spiders.base import (
    BaseSourceSpider,
    EndpointConfig,
    failed_url,
    failure_status,
    header_text,
    merge_component_setting,
    on_endpoint,
    parse_datetime_arg,
    parse_link_header,
    utc_now_iso,
)
from mlentory_crawl.spiders.hf_args import HuggingFaceArgs, is_repo_id

logger = logging.getLogger(__name__)

PUBLIC_BASE = "https://huggingface.co"
"""Base of the public model IRIs, whatever endpoint the data comes from."""
MAX_PAGE_SIZE = 500
EXPAND_FIELDS: tuple[str, ...] = (
    "author", "cardData", "config", "createdAt", "lastModified", "downloads",
    "downloadsAllTime", "likes", "gated", "library_name", "pipeline_tag", "tags", "sha",
    "siblings", "safetensors", "gguf", "baseModels", "model-index", "evalResults",
    "transformersInfo", "usedStorage",
)  # fmt: skip
EXPAND_PARAMS = [("expand", field) for field in EXPAND_FIELDS]
"""Repeated ``expand=`` parameters (this one form everywhere, never ``expand[]=``)."""
CARD_PRIORITY = 10
BEARER_MW = "mlentory_crawl.bearer_auth.BearerAuthMiddleware"
UNAVAILABLE_MODEL = {401: "unauthorized", 403: "forbidden", 404: "not_found", 410: "gone"}
CARD_DATA_STATUSES = [400, 401, 403, 404, 410, 451]


class HuggingFaceSpider(BaseSourceSpider):
    """Harvests HuggingFace Hub models (list walk or ids) and their README cards."""

    name = "huggingface"
    source = "huggingface"
    args_model = HuggingFaceArgs
    args: HuggingFaceArgs
    config: EndpointConfig
    progress_defaults = {"reserved": 0}

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Add the bearer-token middleware (merged; a project setting of it wins)."""
        super().update_settings(settings)
        merge_component_setting(settings, "DOWNLOADER_MIDDLEWARES", BEARER_MW, 890)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Validate arguments and ``HF_ENDPOINT``/``HF_PAGE_SIZE`` early.

        Closes as ``limit`` or ``list_page_failed`` once idle (see ``BaseSourceSpider``).
        """
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = EndpointConfig.from_settings(
            crawler.settings,
            "HF",
            public=PUBLIC_BASE,
            page_size=MAX_PAGE_SIZE,
            max_page_size=MAX_PAGE_SIZE,
        )
        return spider

    # -- URLs and requests ---------------------------------------------------------------------

    def first_page_url(self) -> str:
        """URL of the first list page for the current arguments."""
        args = self.args
        size = min(self.config.page_size, args.limit or MAX_PAGE_SIZE)
        params: list[tuple[str, str]] = [("limit", str(size))]
        if args.since is not None:
            params.append(("sort", "lastModified"))
        if args.author:
            params.append(("author", args.author))
        if args.search:
            params.append(("search", args.search))
        return f"{self.config.endpoint}/api/models?{urlencode(params + EXPAND_PARAMS)}"

    def model_api_url(self, model_id: str) -> str:
        """``/api/models/<id>`` with the expand parameters."""
        path = quote(model_id, safe="/")
        return f"{self.config.endpoint}/api/models/{path}?{urlencode(EXPAND_PARAMS)}"

    def card_url(self, model_id: str) -> str:
        """The raw README.md of the model's main branch."""
        return f"{self.config.endpoint}/{quote(model_id, safe='/')}/raw/main/README.md"

    def list_request(self, url: str) -> Request:
        """A list page request."""
        return Request(url, callback=self.parse_page, errback=self.page_failed)

    def model_request(self, model_id: str) -> Request:
        """A single-model request (``ids`` mode); 401/403/404/410 reach the callback as data."""
        return Request(
            self.model_api_url(model_id),
            callback=self.parse_model,
            errback=self.model_failed,
            cb_kwargs={"requested_id": model_id},
            meta={"handle_httpstatus_list": sorted(UNAVAILABLE_MODEL)},
        )

    def card_request(self, model: dict[str, Any], api_url: str, retrieved_at: str) -> Request:
        """The card request of one model; carries the model JSON (plain data) to the callback."""
        return Request(
            self.card_url(model["id"]),
            callback=self.parse_card,
            errback=self.card_failed,
            cb_kwargs={"model": model, "api_url": api_url, "retrieved_at": retrieved_at},
            meta={"handle_httpstatus_list": CARD_DATA_STATUSES},
            priority=CARD_PRIORITY,
        )

    def next_page_url(self, response: Response) -> str | None:
        """The ``rel="next"`` link, absolute, on the configured endpoint's origin."""
        link = parse_link_header(response.headers.getlist("Link")).get("next")
        if not link:
            return None
        url = urljoin(response.url, link)
        rewritten = on_endpoint(url, self.config.endpoint)
        if rewritten != url:
            self._inc("link_rewrites")
            logger.debug("Next-page link %s rewritten to the endpoint: %s", link, rewritten)
        return rewritten

    # -- crawl ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """The first list page, or one API request per id (``ids`` mode)."""
        args = self.args
        logger.info(
            "huggingface: job %s, endpoint %s, mode %s, cards %s, limit %s, since %s",
            self.job_id,
            self.config.endpoint,
            "ids" if args.ids is not None else "list",
            "on" if args.cards else "off",
            args.limit,
            args.since.isoformat() if args.since else None,
        )
        if args.ids is not None:
            ids = list(args.ids)
            if args.limit is not None and len(ids) > args.limit:
                logger.info("huggingface: limit %d: requesting %d of %d ids",
                            args.limit, args.limit, len(ids))  # fmt: skip
                ids = ids[: args.limit]
                self._close_reason = "limit"
            for model_id in ids:
                yield self.model_request(model_id)
        else:
            yield self.list_request(self.first_page_url())

    def parse_page(self, response: Response) -> Iterator[Request | RawRecord]:
        """One list page: a record or card request per model, then the next page (if any)."""
        self._inc("pages")
        models = self.read_json(response, "pages/invalid", "page")
        if not isinstance(models, list):
            if models is not None:
                self._inc("pages/invalid")
                logger.error("List page %s is not a JSON array: the walk stops", response.url)
            self._close_reason = "list_page_failed"
            return
        args = self.args
        progress = self.progress
        retrieved_at = utc_now_iso()
        more_on_page = False
        for model in models:
            if not _valid_model(model):
                self._inc("models/invalid")
                logger.warning("Skipping a list entry without a valid id on %s", response.url)
                continue
            if args.since is not None and _older_than(model, args.since):
                self._inc("since_reached")
                logger.info(
                    "Reached %s (lastModified %s < since %s): the walk stops here",
                    model["id"], model.get("lastModified"), args.since.isoformat(),
                )  # fmt: skip
                return
            if args.limit is not None and progress["reserved"] >= args.limit:
                more_on_page = True
                break
            progress["reserved"] += 1
            yield from self._emit(model, response.url, retrieved_at)
        next_url = self.next_page_url(response)
        if args.limit is not None and progress["reserved"] >= args.limit:
            if more_on_page or next_url:
                self._close_reason = "limit"
                self._inc("limit_reached")
                logger.info("Limit of %d models reached: no further page requested", args.limit)
            return
        if next_url:
            yield self.list_request(next_url)
        else:
            logger.info("Last list page (no Link rel=next): %s", response.url)

    def parse_model(self, response: Response, requested_id: str) -> Iterator[Request | RawRecord]:
        """A single model (``ids`` mode); 401/403/404/410 are counted and skipped."""
        if response.status in UNAVAILABLE_MODEL:
            self._inc(f"models/{UNAVAILABLE_MODEL[response.status]}")
            code = header_text(response, "X-Error-Code") or ""
            logger.info(
                "Model %s skipped: HTTP %s%s (gated/private/missing)",
                requested_id, response.status, f" {code}" if code else "",
            )  # fmt: skip
            return
        model = self.read_json(response, "models/invalid", "model")
        if not _valid_model(model):
            self._inc("models/invalid")
            return
        if model["id"] != requested_id:
            self._inc("models/renamed")
            logger.info("Model %s is now %s (followed the redirect)", requested_id, model["id"])
        yield from self._emit(model, response.url, utc_now_iso())

    def parse_card(
        self, response: Response, model: dict[str, Any], api_url: str, retrieved_at: str
    ) -> Iterator[RawRecord]:
        """The README card: text on 2xx; 4xx (e.g. 404 ``Entry not found``) kept as status."""
        status = response.status
        text: str | None = None
        if 200 <= status < 300:
            is_text = isinstance(response, TextResponse)
            text = response.text if is_text else response.body.decode("utf-8", errors="replace")
        else:
            logger.debug("Card of %s: HTTP %s", model["id"], status)
        self._inc(f"cards/{status}")
        card = Attachment(
            url=response.url,
            status=status,
            text=text,
            content_type=header_text(response, "Content-Type"),
        )
        yield self._record(model, api_url, retrieved_at, {"card": card})

    # -- errbacks (network errors, 5xx after the retries) ---------------------------------------

    def page_failed(self, failure: Failure) -> None:
        """A list page failed for good: the walk cannot go on; close as ``list_page_failed``."""
        self._inc("pages/failed")
        self._close_reason = "list_page_failed"
        logger.error(
            "List page %s failed (%s): the walk stops here; re-run with JOBDIR to resume",
            failed_url(failure), failure.getErrorMessage(),
        )  # fmt: skip

    def model_failed(self, failure: Failure) -> None:
        """A single model request failed for good (counted, logged, no record)."""
        self._inc("models/failed")
        logger.warning("Model %s failed: %s", failed_url(failure), failure.getErrorMessage())

    def card_failed(self, failure: Failure) -> Iterator[RawRecord]:
        """The card could not be fetched: keep the record, card status 0 or the HTTP status."""
        request = getattr(failure, "request", None)
        if request is None:
            logger.error("Card request failed without request context: %s", failure)
            return
        self._inc("cards/failed")
        status = failure_status(failure)
        kwargs = request.cb_kwargs
        logger.warning(
            "Card of %s not fetched (%s); record kept without card",
            kwargs["model"]["id"], failure.getErrorMessage(),
        )  # fmt: skip
        card = Attachment(url=request.url, status=status, text=None)
        yield self._record(kwargs["model"], kwargs["api_url"], kwargs["retrieved_at"],
                           {"card": card})  # fmt: skip

    # -- helpers -------------------------------------------------------------------------------

    def _emit(
        self, model: dict[str, Any], api_url: str, retrieved_at: str
    ) -> Iterator[Request | RawRecord]:
        if self.args.cards:
            yield self.card_request(model, api_url, retrieved_at)
        else:
            yield self._record(model, api_url, retrieved_at, {})

    def _record(
        self,
        model: dict[str, Any],
        api_url: str,
        retrieved_at: str,
        attachments: dict[str, Attachment],
    ) -> RawRecord:
        self._inc("models")
        model_id = model["id"]
        return self.make_record(
            source_id=model_id,
            url=f"{PUBLIC_BASE}/{model_id}",
            api_url=api_url,
            payload=model,
            attachments=attachments,
            retrieved_at=retrieved_at,
        )


def _valid_model(model: Any) -> bool:
    """A JSON object whose ``id`` looks like a Hub repo id (hostile ids never become URLs)."""
    return isinstance(model, dict) and is_repo_id(model.get("id"))


def _older_than(model: dict[str, Any], since: datetime) -> bool:
    try:
        modified = parse_datetime_arg(model.get("lastModified"))
    except ValueError:
        return False
    return modified is not None and modified < since
