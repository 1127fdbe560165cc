"""OpenML spider: flows (the models), their runs (evaluations), tasks and datasets.

Routing only; the meaning is in :mod:`mlentory_crawl.normalizers.openml`. Everything goes
through the JSON REST API under ``<OPENML_ENDPOINT>/api/v1/json/`` (docs/sources/openml.md):

* flows: ``flow/list/limit/{n}/offset/{m}`` pages → ``flow/{id}`` per flow (the list lacks
  description, creators, parameters …) → one ``flow`` record each;
* runs: ``run/list/flow/{ids}`` (or ``task/{ids}``) pages → one ``evaluation/list/run/{ids}``
  request for the page's runs and, for tasks not seen yet, one ``task/list/task_id/{ids}``
  request → one ``run`` record per run (run row + its evaluation rows + its task row);
* tasks: one ``task`` record per task, from the task-list row (no extra request);
* datasets: ``data/{id}`` once per dataset a task uses → one ``dataset`` record. Dataset
  files are never downloaded.

OpenML's error JSON is data: HTTP 412 with a "no results" code ends a listing; other codes
are counted (``source/openml/errors/api_<code>``) and logged. A list page that is not valid
JSON (unescaped quotes in a name) is bisected with smaller limits until the bad row is alone;
that row is then fetched from its single-entity endpoint, whose JSON is properly escaped.
The optional ``OPENML_APIKEY`` is added to the query only at download time and stripped from
every stored URL and log line (:class:`OpenMLApiKeyMiddleware`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import BaseSettings

from mlentory_crawl.normalizers.common import as_dict, dict_list
from mlentory_crawl.normalizers.openml_common import SITE, TEST_SITE, entity_id
from mlentory_crawl.spiders.base import merge_component_setting
from mlentory_crawl.spiders.openml_runs import OpenMLRunChain
from mlentory_crawl.spiders.openml_support import OpenMLArgs

#: Added next to the downloader (after retries/redirects) so only the wire sees the key.
API_KEY_MW = "mlentory_crawl.spiders.openml_support.OpenMLApiKeyMiddleware"


class OpenMLSpider(OpenMLRunChain):
    """Harvest OpenML flows, runs, tasks and datasets (see the module docstring)."""

    name = "openml"
    source = "openml"
    args_model = OpenMLArgs
    handle_httpstatus_list = [404, 412]  # error JSON is data, not a dropped response

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """Add the API-key middleware next to the downloader (merged, not replaced)."""
        super().update_settings(settings)
        merge_component_setting(settings, "DOWNLOADER_MIDDLEWARES", API_KEY_MW, 950)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Build the spider and read its endpoint once."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings.get("OPENML_ENDPOINT") or SITE)
        return spider

    def configure(self, endpoint: str) -> None:
        """Set the API endpoint (validated) and the site whose page IRIs records get."""
        parts = urlsplit(endpoint.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"OPENML_ENDPOINT must be an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint.strip().rstrip("/")
        self.site = TEST_SITE if parts.netloc.startswith("test.") else SITE
        self._seen: dict[str, set[int]] = {"flow": set(), "task": set(), "dataset": set()}
        self._tasks: OrderedDict[int, dict[str, Any]] = OrderedDict()

    async def start(self) -> AsyncIterator[Request]:
        """First requests: the selected flows/tasks, or the flow list from ``since``."""
        args = self.args
        for request in self._first_requests(args):
            yield request

    def _first_requests(self, args: OpenMLArgs) -> Iterator[Request]:
        if args.flow_ids:
            ids = args.flow_ids[: args.limit] if args.limit else args.flow_ids
            for flow_id in ids:
                yield from self._flow_request(flow_id)
            if not args.flows_only:
                yield from self._run_list_requests("flow", ids)
        if args.task_ids:
            yield from self._run_list_requests("task", args.task_ids)
        if not args.flow_ids and not args.task_ids:
            offset = max(0, (args.since or 1) - 1)
            yield self._flow_page(offset, args.page_size, first=True, forward=True)

    # -- flows ----------------------------------------------------------------------------

    def parse_flow_list(
        self, response: Response, offset: int, size: int, first: bool, forward: bool
    ) -> Iterator[Any]:
        """A flow-list page: request each flow in range, its runs, and the next page."""
        status, data = self._read(response, "flow list")
        args = self.args
        if status == "invalid":
            yield from self._bisect(response, "flow", offset, size)
        elif status != "ok":
            return
        rows = dict_list(as_dict(data.get("flows")).get("flow")) if status == "ok" else []
        ids = [i for i in (entity_id(row.get("id")) for row in rows) if i is not None]
        if rows:
            self._inc("pages")
        since, until = args.since or 1, args.until
        if first and offset > 0 and ids and min(ids) > since:
            back = max(0, offset - size)  # ids below the guess were deleted: look back
            yield self._flow_page(back, offset - back, first=True, forward=False)
        taken = [i for i in ids if i >= since and (until is None or i <= until)]
        taken = [i for i in taken if self._take_flow(i)]
        for flow_id in taken:
            yield self._request(f"flow/{flow_id}", self.parse_flow, flow_id=flow_id)
        if taken and not args.flows_only:
            yield from self._run_list_requests("flow", taken)
        full = status == "invalid" or len(rows) >= size
        beyond = until is not None and ids and max(ids) >= until
        limited = args.limit is not None and self._count("flows") >= args.limit
        if forward and full and not beyond and not limited:
            yield self._flow_page(offset + size, args.page_size, first=False, forward=True)
