"""Support for the ``openml`` spider: its arguments, and the API key kept out of every record.

OpenML reads its API key from the ``api_key`` query parameter only. A key in a request URL
would end up in the scheduler (and a ``JOBDIR`` disk queue), in ``RawRecord.api_url`` and
provenance, and in log lines ("Retrying <GET …>", "Getting … took longer than …"). So:

* requests are built without the key; :class:`OpenMLApiKeyMiddleware` (next to the
  downloader) adds it in place just before the download and removes it again from the
  request and the response as soon as they come back (or fail), so nothing downstream — retry
  copies, callbacks, stored URLs — ever sees it;
* :class:`RedactSecretFilter` on every root log handler replaces the key in any log message
  or traceback that still quotes a keyed URL (download-handler exceptions do).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, field_validator, model_validator
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from mlentory_crawl.normalizers.openml_common import api_error
from mlentory_crawl.normalizers.openml_xml import XMLConversionError, looks_like_xml, xml_to_array
from mlentory_crawl.spiders.base import SpiderArgs, header_text

logger = logging.getLogger(__name__)

REDACTED = "***"
#: "No results" error codes of the data, task, flow, run and evaluation lists: the list ended.
NO_RESULTS = frozenset({"372", "482", "500", "512", "542"})


def strip_api_key(url: str) -> str:
    """``url`` without an ``api_key`` query parameter (for stored URLs and log lines)."""
    parts = urlsplit(url)
    if "api_key" not in parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api_key"]
    return urlunsplit(parts._replace(query=urlencode(query)))


def add_api_key(url: str, key: str) -> str:
    """``url`` with ``api_key=<key>`` appended to its query."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("api_key", key)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Reading:
    """What a response holds.

    Attributes:
        status: ``ok`` (``data`` is the parsed object), ``end`` (a "no results" error: the
            list is over), ``error`` (error JSON, a non-200 status or an unparseable non-200
            body) or ``invalid`` (an HTTP 200 body that does not parse, e.g. a list page
            with unescaped quotes — callers bisect it).
        data: the parsed body (``ok``) or the OpenML error code (``end``/``error``).
        stat: the ``source/openml/<stat>`` counter to bump, if any.
        reason: a human-readable reason for ``error``/``invalid``.
    """

    status: Literal["ok", "end", "error", "invalid"]
    data: Any = None
    stat: str | None = None
    reason: str = ""


def read_response(response: Response) -> Reading:
    """Parse an OpenML API response: JSON, or XML when the server sent XML instead."""
    ctype = (header_text(response, "Content-Type") or "").lower()
    xml = "xml" in ctype or looks_like_xml(response.body)
    try:
        data = xml_to_array(response.body) if xml else json.loads(response.body)
    except (ValueError, XMLConversionError) as exc:
        if response.status == 200:
            return Reading("invalid", None, "errors/invalid_body", f"{exc}"[:200])
        return Reading("error", None, f"errors/http_{response.status}", f"{exc}"[:200])
    error = api_error(data)
    if error is not None:
        code, message = error
        if code in NO_RESULTS:
            return Reading("end", code, "pages/no_results")
        return Reading("error", code, f"errors/api_{code}", f"OpenML error {code}: {message}")
    if response.status != 200 or not isinstance(data, dict):
        return Reading("error", None, f"errors/http_{response.status}", "not a JSON object")
    return Reading("ok", data, "xml_fallback" if xml else None)


def _id_list(value: Any) -> Any:
    """``"1,2, 3"`` (a spider argument) → ``["1", "2", "3"]``; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class OpenMLArgs(SpiderArgs):
    """Arguments of the ``openml`` spider (``scrapy crawl openml -a name=value``).

    Attributes:
        flow_ids: crawl these flows (comma list) instead of listing all flows.
        task_ids: crawl the runs on these tasks (comma list), plus the flows they use.
        flows_only: flows only: no runs, tasks or datasets.
        since: lowest flow id to crawl (inclusive) when listing flows.
        until: highest flow id to crawl (inclusive) when listing flows.
        limit: at most this many flows.
        max_runs: at most this many runs.
        page_size: rows per flow-list page.
        run_page_size: rows per run-list page (= run ids per evaluation-list request).
    """

    flow_ids: list[int] = Field(default=[], max_length=10_000)
    task_ids: list[int] = Field(default=[], max_length=10_000)
    flows_only: bool = False
    since: int | None = Field(default=None, ge=1)
    until: int | None = Field(default=None, ge=1)
    limit: int | None = Field(default=None, ge=1)
    max_runs: int | None = Field(default=None, ge=0)
    page_size: int = Field(default=1000, ge=1, le=10_000)
    run_page_size: int = Field(default=200, ge=1, le=1000)

    _split_ids = field_validator("flow_ids", "task_ids", mode="before")(_id_list)

    @field_validator("flow_ids", "task_ids")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(v < 1 for v in value):
            raise ValueError("ids must be positive integers")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.flows_only and self.task_ids:
            raise ValueError("task_ids selects runs; it cannot be combined with flows_only")
        if self.since and self.until and self.since > self.until:
            raise ValueError("since must not be greater than until")
        return self


class RedactSecretFilter(logging.Filter):
    """Replace a secret in log messages and tracebacks with ``***``."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops it."""
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, REDACTED), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, REDACTED)
        return True


def install_redaction(secret: str) -> RedactSecretFilter:
    """Add a :class:`RedactSecretFilter` for ``secret`` to every root log handler."""
    redactor = RedactSecretFilter(secret)
    for handler in logging.getLogger().handlers:
        if not any(
            isinstance(f, RedactSecretFilter) and f.secret == secret for f in handler.filters
        ):
            handler.addFilter(redactor)
    return redactor


class OpenMLApiKeyMiddleware:
    """Adds ``OPENML_APIKEY`` to requests for the OpenML endpoint only while they download.

    Disabled (``NotConfigured``) when no key is set. Requests to other hosts never get it.
    """

    def __init__(self, key: str, endpoint: str) -> None:
        self.key = key
        parts = urlsplit(endpoint)
        self.origin = (parts.scheme, parts.netloc)
        install_redaction(key)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Read the key and endpoint once; no key, no middleware."""
        key = (crawler.settings.get("OPENML_APIKEY") or "").strip()
        if not key:
            raise NotConfigured("OPENML_APIKEY is not set")
        return cls(key, crawler.settings.get("OPENML_ENDPOINT") or "https://www.openml.org")

    def _ours(self, request: Request) -> bool:
        parts = urlsplit(request.url)
        return (parts.scheme, parts.netloc) == self.origin

    def process_request(self, request: Request) -> None:
        """Append the key in place (the request object goes straight to the downloader)."""
        if self._ours(request) and "api_key=" not in request.url:
            request._set_url(add_api_key(request.url, self.key))

    def process_response(self, request: Request, response: Response) -> Response:
        """Strip the key from the request and the response before anyone else sees them."""
        if "api_key=" in request.url:
            request._set_url(strip_api_key(request.url))
        if "api_key=" in response.url:
            return response.replace(url=strip_api_key(response.url))
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Strip the key before retry/error handling copies or logs the request."""
        if "api_key=" in request.url:
            request._set_url(strip_api_key(request.url))
