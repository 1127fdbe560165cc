"""Request plumbing of the ``openml`` spider: counters, API requests, flows and datasets.

:class:`OpenMLSpiderBase` holds what every OpenML request needs: the JSON API URL, response
reading (JSON, or XML when the server sends XML; OpenML's error JSON is data), records, the
``flow/{id}`` and ``data/{id}`` fetches and the counters that survive a ``JOBDIR`` resume. The
run chain is in :mod:`.openml_runs`, the routing in :mod:`.openml`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from mlentory_crawl.spiders.base import BaseSourceSpider, failed_url
from mlentory_crawl.spiders.openml_support import OpenMLArgs, read_response, strip_api_key

logger = logging.getLogger(__name__)


class OpenMLSpiderBase(BaseSourceSpider):
    """Plumbing and flow/dataset fetches; :class:`~.openml_runs.OpenMLRunChain` adds runs."""

    args: OpenMLArgs
    endpoint: str
    site: str
    _seen: dict[str, set[int]]
    _tasks: OrderedDict[int, dict[str, Any]]

    def parse_flow_list(
        self, response: Response, offset: int, size: int, first: bool, forward: bool
    ) -> Iterator[Any]:
        """A flow-list page (implemented by the spider)."""
        raise NotImplementedError

    # -- counters that survive JOBDIR resumes (spider.state) ---------------------------------

    def _count(self, name: str, add: int = 0) -> int:
        store = self.state_store
        key = f"openml_{name}"
        store[key] = int(store.get(key, 0)) + add
        return int(store[key])

    # -- requests --------------------------------------------------------------------------

    def api(self, path: str) -> str:
        """The JSON API URL of ``path`` (``flow/1`` → ``<endpoint>/api/v1/json/flow/1``)."""
        return f"{self.endpoint}/api/v1/json/{path}"

    def _request(
        self, path: str, callback: Any, *, dont_filter: bool = False, **cb_kwargs: Any
    ) -> Request:
        return Request(
            self.api(path),
            callback=callback,
            errback=self.on_error,
            cb_kwargs=cb_kwargs,
            headers={"Accept": "application/json"},
            dont_filter=dont_filter,
        )

    def _flow_page(self, offset: int, size: int, *, first: bool, forward: bool) -> Request:
        return self._request(
            f"flow/list/limit/{size}/offset/{offset}",
            self.parse_flow_list,
            offset=offset,
            size=size,
            first=first,
            forward=forward,
        )

    def _take_flow(self, flow_id: int) -> bool:
        """True when ``flow_id`` is new in this crawl and within ``limit`` (then counted)."""
        if flow_id in self._seen["flow"]:
            return False
        if self.args.limit is not None and self._count("flows") >= self.args.limit:
            self._inc("skipped/limit")
            return False
        self._seen["flow"].add(flow_id)
        self._count("flows", 1)
        return True

    def _flow_request(self, flow_id: int) -> Iterator[Request]:
        if self._take_flow(flow_id):
            yield self._request(f"flow/{flow_id}", self.parse_flow, flow_id=flow_id)

    def _dataset_request(self, data_id: int | None) -> Iterator[Request]:
        if data_id is not None and data_id not in self._seen["dataset"]:
            self._seen["dataset"].add(data_id)
            yield self._request(f"data/{data_id}", self.parse_dataset, data_id=data_id)

    # -- parsing helpers ------------------------------------------------------------------

    def _read(self, response: Response, what: str) -> tuple[str, Any]:
        """Classify a response (see :func:`read_response`), counting and logging problems."""
        reading = read_response(response)
        url = strip_api_key(response.url)
        if reading.stat:
            self._inc(reading.stat)
        if reading.status == "ok" and reading.stat:
            logger.info("OpenML sent XML for %s (%s); converted", what, url)
        elif reading.status in ("invalid", "error"):
            logger.warning(
                "Unusable %s from %s (HTTP %s): %s", what, url, response.status, reading.reason
            )
        return reading.status, reading.data

    def _record(self, kind: str, letter: str, number: int, url: str, payload: Any) -> Any:
        self._inc("records")
        self._inc(f"records/{kind}")
        return self.make_record(
            source_id=str(number),
            url=f"{self.site}/{letter}/{number}",
            api_url=strip_api_key(url),
            payload=payload,
            kind=kind,
        )

    def on_error(self, failure: Failure) -> None:
        """A request that failed for good (network, retries exhausted): count and log it."""
        url = strip_api_key(failed_url(failure))
        self._inc(f"errors/download/{failure.type.__name__ if failure.type else 'unknown'}")
        logger.warning("Request to %s failed: %s", url, failure.getErrorMessage()[:300])

    def parse_flow(self, response: Response, flow_id: int) -> Iterator[Any]:
        """``flow/{id}`` → a ``flow`` record."""
        status, data = self._read(response, f"flow {flow_id}")
        if status == "ok":
            yield self._record("flow", "f", flow_id, response.url, data)

    def parse_dataset(self, response: Response, data_id: int) -> Iterator[Any]:
        """``data/{id}`` → a ``dataset`` record (the description only; never the file)."""
        status, data = self._read(response, f"dataset {data_id}")
        if status == "ok":
            yield self._record("dataset", "d", data_id, response.url, data)
