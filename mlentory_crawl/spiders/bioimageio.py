"""bioimage.io spider: walks the zoo's collection index on Hypha, then each resource's rdf.yaml.

* Index: ``<BIOIMAGEIO_ENDPOINT>/public/services/artifact-manager/list?parent_id=bioimage-io/
  bioimage.io&offset=O&limit=L&pagination=true`` → ``{items, total, offset, limit}`` (what the
  zoo's own indexer reads), paged until ``offset + len(items) >= total``; a bare list or an
  ``index.json``-shaped body is one complete page.
* Description: ``<endpoint>/<workspace>/artifacts/<alias>/files/rdf.yaml?version=<latest>``
  per selected entry. 4xx and failures after retries are data: the record is still yielded
  with the attachment status and no text (the normalizer falls back to the entry's
  ``manifest`` or the record is quarantined with the reason).

Arguments (:class:`~.bioimageio_args.BioImageIOArgs`): ``limit``, ``types`` (``model``
default, ``dataset``), ``ids`` (nicknames, ``bioimage-io/<nickname>``, zoo URLs, legacy concept
DOIs; ``@file``), ``since`` (ISO date; versions or ``last_modified`` at or after it). Request
budget: ``ceil(N_index / BIOIMAGEIO_PAGE_SIZE)`` pages + one rdf.yaml per selected resource.
JOBDIR: requests carry plain data; ``limit`` and found ids live in ``self.state``. Full
description: ``docs/sources/bioimageio.md``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, Self
from urllib.parse import quote, urlencode

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.normalizers.bioimageio_parts import WORKSPACE, zoo_iri, zoo_key
from mlentory_crawl.normalizers.common import as_dict, epoch_datetime
from mlentory_crawl.spiders.base import (
    BaseSourceSpider,
    EndpointConfig,
    failed_url,
    failure_status,
    header_text,
    parse_datetime_arg,
    utc_now_iso,
)
from mlentory_crawl.spiders.bioimageio_args import TYPES, BioImageIOArgs

logger = logging.getLogger(__name__)

PUBLIC_ENDPOINT = "https://hypha.aicell.io"
COLLECTION = "bioimage-io/bioimage.io"
LIST_PATH = "/public/services/artifact-manager/list"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGES = 10_000
RDF_MAXSIZE = 1024 * 1024  # real descriptions are a few KB; the normalizer refuses > 200 K chars
RDF_DATA_STATUSES = [400, 401, 403, 404, 410, 451]


class BioImageIOSpider(BaseSourceSpider):
    """Harvests bioimage.io models (and optionally datasets): index pages, then rdf.yaml."""

    name = "bioimageio"
    source = "bioimageio"
    args_model = BioImageIOArgs
    args: BioImageIOArgs
    config: EndpointConfig
    #: ``limit`` and the ids found survive a resume (``self.state`` under JOBDIR)
    progress_defaults = {"reserved": 0, "found": []}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Validate arguments and ``BIOIMAGEIO_ENDPOINT``/``BIOIMAGEIO_PAGE_SIZE`` early.

        Closes as ``limit`` or ``index_page_failed`` once idle (see ``BaseSourceSpider``).
        """
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = EndpointConfig.from_settings(
            crawler.settings,
            "BIOIMAGEIO",
            public=PUBLIC_ENDPOINT,
            page_size=DEFAULT_PAGE_SIZE,
            max_page_size=MAX_PAGE_SIZE,
        )
        return spider

    # -- URLs and requests ---------------------------------------------------------------------

    def index_url(self, offset: int) -> str:
        """One page of the collection's children (the zoo's index)."""
        size = self.config.page_size
        params = {"parent_id": COLLECTION, "offset": offset, "limit": size, "pagination": "true"}
        return f"{self.config.endpoint}{LIST_PATH}?{urlencode(params)}"

    def rdf_url(self, artifact_id: str, version: str | None) -> str:
        """``<endpoint>/<workspace>/artifacts/<alias>/files/rdf.yaml[?version=<v>]``."""
        workspace, _, alias = artifact_id.partition("/")
        if not alias:
            workspace, alias = WORKSPACE, artifact_id
        path = f"/{quote(workspace, safe='')}/artifacts/{quote(alias, safe='')}/files/rdf.yaml"
        query = f"?{urlencode({'version': version})}" if version else ""
        return self.config.endpoint + path + query

    def index_request(self, offset: int, page: int = 0) -> Request:
        """An index page request."""
        return Request(
            self.index_url(offset),
            callback=self.parse_index,
            errback=self.index_failed,
            cb_kwargs={"offset": offset, "page": page},
        )

    def rdf_request(self, entry: dict[str, Any], api_url: str, retrieved_at: str) -> Request:
        """The rdf.yaml of one entry; 4xx reach the callback as data."""
        url = self.rdf_url(entry["id"], latest_version(entry))
        return Request(
            url,
            callback=self.parse_rdf,
            errback=self.rdf_failed,
            cb_kwargs={"entry": entry, "api_url": api_url, "retrieved_at": retrieved_at,
                       "rdf_url": url},
            meta={"handle_httpstatus_list": RDF_DATA_STATUSES, "download_maxsize": RDF_MAXSIZE},
            priority=10,
        )  # fmt: skip

    # -- crawl ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """The first index page."""
        args = self.args
        logger.info(
            "bioimageio: job %s, endpoint %s, types %s, ids %s, limit %s, since %s",
            self.job_id,
            self.config.endpoint,
            ",".join(args.types),
            len(args.ids) if args.ids is not None else "all",
            args.limit,
            args.since.isoformat() if args.since else None,
        )
        yield self.index_request(0)

    def parse_index(self, response: Response, offset: int, page: int) -> Iterator[Any]:
        """One index page: an rdf.yaml request per selected entry, then the next page."""
        self._inc("pages")
        body = self.read_json(response, "pages/invalid_json", "index page")
        if isinstance(body, list):
            items, total = body, None
        elif isinstance(body, dict) and isinstance(body.get("items"), list):
            items, total = body["items"], body.get("total")  # the next offset is ours, not its
        else:
            if body is not None:
                self._inc("pages/invalid")
                logger.error("Index page %s holds no item list: the walk stops", response.url)
            self._close_reason = "index_page_failed"
            return
        retrieved_at = utc_now_iso()
        for entry in items:
            if self._limit_reached():
                break
            if self._select(entry):
                self.progress["reserved"] += 1
                yield self.rdf_request(entry, response.url, retrieved_at)
        yield from self._next_page(response, body, offset, len(items), total, page)

    def parse_rdf(
        self,
        response: Response,
        entry: dict[str, Any],
        api_url: str,
        retrieved_at: str,
        rdf_url: str,
    ) -> Iterator[RawRecord]:
        """The rdf.yaml text on 2xx; 4xx kept as the attachment status without text."""
        status = response.status
        text: str | None = None
        if 200 <= status < 300:
            text = response.body.decode("utf-8", errors="replace").lstrip("\ufeff")
        else:
            self._inc(f"errors/rdf_{status}")
            logger.warning("rdf.yaml of %s: HTTP %s (record kept)", entry["id"], status)
        self._inc(f"rdf/{status}")
        rdf = Attachment(
            url=rdf_url,  # the URL asked for, never a redirect target (pre-signed storage URLs)
            status=status,
            text=text,
            content_type=header_text(response, "Content-Type"),
        )
        yield self._record(entry, api_url, retrieved_at, rdf)

    # -- errbacks ------------------------------------------------------------------------------

    def index_failed(self, failure: Failure) -> None:
        """An index page failed for good: the walk cannot go on."""
        self._inc("pages/failed")
        self._close_reason = "index_page_failed"
        logger.error(
            "Index page %s failed (%s): the walk stops here; re-run with JOBDIR to resume",
            failed_url(failure), failure.getErrorMessage(),
        )  # fmt: skip

    def rdf_failed(self, failure: Failure) -> Iterator[RawRecord]:
        """The rdf.yaml could not be fetched: keep the record (status 0 or the HTTP status)."""
        request = getattr(failure, "request", None)
        if request is None:
            logger.error("rdf.yaml request failed without request context: %s", failure)
            return
        status = failure_status(failure)
        self._inc(f"errors/rdf_{status or 'failed'}")
        kwargs = request.cb_kwargs
        logger.warning(
            "rdf.yaml of %s not fetched (%s); record kept without it",
            kwargs["entry"]["id"], failure.getErrorMessage(),
        )  # fmt: skip
        rdf = Attachment(url=kwargs["rdf_url"], status=status, text=None)
        yield self._record(kwargs["entry"], kwargs["api_url"], kwargs["retrieved_at"], rdf)

    # -- helpers -------------------------------------------------------------------------------

    def _limit_reached(self) -> bool:
        limit = self.args.limit
        return limit is not None and self.progress["reserved"] >= limit

    def _select(self, entry: Any) -> bool:
        """Whether an index entry is harvested (valid, wanted type/id, recent enough)."""
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            self._inc("entries/invalid")
            logger.warning("Skipping an index entry without a string id")
            return False
        kind = str(entry.get("type") or "").lower()
        args = self.args
        if args.ids is not None:
            match = matching_id(entry, args.ids)
            if match is None:
                return False
            if kind not in TYPES:
                self._inc(f"skipped/type/{_stat_word(kind)}")
                logger.info("Resource %s is a %s, not a model or dataset: skipped", match, kind)
                return False
            found: list[str] = self.progress["found"]
            if match not in found:
                found.append(match)
            return True
        if kind not in args.types:
            self._inc(f"skipped/type/{_stat_word(kind)}")
            return False
        if args.since is not None:
            changed = entry_timestamp(entry)
            if changed is None:
                self._inc("since/undated")
            elif changed < args.since:
                self._inc("skipped/since")
                return False
        return True

    def _next_page(
        self,
        response: Response,
        body: Any,
        offset: int,
        count: int,
        total: Any,
        page: int,
    ) -> Iterator[Request]:
        args = self.args
        more = isinstance(total, int) and isinstance(body, dict) and offset + count < total
        if more and self._limit_reached():
            self._close_reason = "limit"
            self._inc("limit_reached")
            logger.info("Limit of %d resources reached: no further page requested", args.limit)
            return
        if more and args.ids is not None and len(self.progress["found"]) >= len(args.ids):
            logger.info("All %d requested ids found: no further page requested", len(args.ids))
            return
        if more and count == 0:
            self._inc("pages/empty")
            logger.error("Index page %s is empty but total is %s: the walk stops", response.url,
                         total)  # fmt: skip
            more = False
        if more and page + 1 >= MAX_PAGES:
            self._inc("pages/cap_reached")
            logger.error("Index walk stopped after %d pages", MAX_PAGES)
            more = False
        if more:
            yield self.index_request(offset + count, page + 1)
            return
        logger.info("Last index page: %s", response.url)
        if args.ids is not None:
            missing = [i for i in args.ids if i not in self.progress["found"]]
            if missing:
                self._inc("ids/not_found", len(missing))
                logger.warning("Ids not in the index: %s", ", ".join(missing[:50]))

    def _record(
        self, entry: dict[str, Any], api_url: str, retrieved_at: str, rdf: Attachment
    ) -> RawRecord:
        self._inc("records")
        artifact_id = entry["id"]
        return self.make_record(
            source_id=artifact_id,
            url=zoo_iri(zoo_key(artifact_id)),
            api_url=api_url,
            payload=entry,
            kind=str(entry.get("type") or "model").lower(),
            attachments={"rdf": rdf},
            retrieved_at=retrieved_at,
        )


def latest_version(entry: dict[str, Any]) -> str | None:
    """The label of the entry's last version (Hypha appends versions), if any."""
    versions = [v for v in entry.get("versions") or [] if isinstance(v, dict)]
    label = versions[-1].get("version") if versions else None
    return label if isinstance(label, str) and 0 < len(label) <= 64 else None


def entry_timestamp(entry: dict[str, Any]) -> datetime | None:
    """The latest change of an entry: its versions' ``created_at`` and ``last_modified``."""
    values = [v.get("created_at") for v in entry.get("versions") or [] if isinstance(v, dict)]
    values.append(entry.get("last_modified"))
    times = [t for t in (_when(v) for v in values) if t is not None]
    return max(times) if times else None


def matching_id(entry: dict[str, Any], ids: tuple[str, ...]) -> str | None:
    """The requested id this entry answers to (alias, full id or concept DOI), if any."""
    artifact_id = entry["id"]
    workspace, _, alias = artifact_id.partition("/")
    names = {artifact_id, alias if workspace == WORKSPACE else artifact_id}
    manifest = as_dict(entry.get("manifest"))
    config = as_dict(manifest.get("config"))
    for doi in (config.get("_conceptdoi"), manifest.get("id")):
        if isinstance(doi, str) and doi.startswith("10."):
            names.add("/".join(doi.lower().split("/")[:2]))
    return next((i for i in ids if i in names), None)


def _when(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return epoch_datetime(value)
    try:
        return parse_datetime_arg(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _stat_word(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "_", text.lower())[:40] or "none"
