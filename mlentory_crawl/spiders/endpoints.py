"""Source endpoints: the endpoint settings, links moved onto them, and ``Link`` headers.

Every source is crawled from a configurable endpoint (``<SOURCE>_ENDPOINT``: the public API, a
mirror or a replay server). :class:`EndpointConfig` reads it once, with the list page size,
failing early on bad values; :func:`on_endpoint` keeps a crawl on it when a source answers with
absolute links to its public host; :func:`parse_link_header` reads RFC 8288 pagination links.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit, urlunsplit

from scrapy.settings import BaseSettings

from mlentory_crawl.config import ConfigError, int_setting


@dataclass(frozen=True)
class EndpointConfig:
    """A source's endpoint (no trailing slash) and list page size, read once and validated.

    Attributes:
        endpoint: absolute http(s) URL without query, e.g. ``https://huggingface.co``.
        page_size: entries per list page.
    """

    endpoint: str
    page_size: int

    @classmethod
    def from_settings(
        cls,
        settings: BaseSettings,
        prefix: str,
        *,
        public: str,
        page_size: int,
        max_page_size: int,
    ) -> Self:
        """Read ``<prefix>_ENDPOINT`` and ``<prefix>_PAGE_SIZE``.

        Args:
            settings: the crawler settings.
            prefix: the setting prefix, e.g. ``HF``.
            public: the endpoint when the setting is empty.
            page_size: the page size when the setting is unset.
            max_page_size: the largest page size the source accepts.

        Raises:
            ConfigError: endpoint not an absolute http(s) URL (or with a query), page size
                not an integer within ``1..max_page_size``.
        """
        name, size_name = f"{prefix}_ENDPOINT", f"{prefix}_PAGE_SIZE"
        endpoint = str(settings.get(name) or public).strip().rstrip("/")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ConfigError(f"{name} must be an absolute http(s) URL, got {endpoint!r}")
        size = int_setting(settings, size_name, page_size, maximum=max_page_size)
        return cls(endpoint=endpoint, page_size=size)


def on_endpoint(url: str, endpoint: str) -> str:
    """Move an absolute URL onto *endpoint*'s origin (and path prefix), keeping path and query.

    Sources return absolute links to their public host; when the crawl runs against a
    replay server or mirror (``<SOURCE>_ENDPOINT``), following them verbatim would leave it.
    A URL already on the endpoint's origin is returned unchanged.
    """
    parts, base = urlsplit(url), urlsplit(endpoint)
    if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
        return url
    prefix = base.path.rstrip("/")
    path = parts.path if parts.path.startswith(prefix + "/") else prefix + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


_QUOTED = r'"(?:[^"\\]|\\.)*"'
_LINK_VALUE = re.compile(
    r"\s*<(?P<url>[^>]*)>(?P<params>(?:\s*;\s*[^;,\"]*(?:" + _QUOTED + r")?)*)"
)
_LINK_PARAM = re.compile(
    r";\s*(?P<key>[^=;,\s]+)\s*(?:=\s*(?:\"(?P<q>(?:[^\"\\]|\\.)*)\"|(?P<t>[^;,\s]*)))?"
)


def parse_link_header(values: Iterable[str | bytes]) -> dict[str, str]:
    """Parse RFC 8288 ``Link`` header values into ``{rel: url}`` (first link per rel wins).

    Handles several links per header, several headers, quoted/unquoted and multi-valued
    ``rel`` (``rel="next last"``) and commas inside ``<…>``. URLs are returned as written
    (resolve relative ones against the response URL).
    """
    links: dict[str, str] = {}
    for value in values:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        pos = 0
        while pos < len(text):
            match = _LINK_VALUE.match(text, pos)
            if not match:
                nxt = text.find("<", pos + 1)
                if nxt < 0:
                    break
                pos = nxt
                continue
            for param in _LINK_PARAM.finditer(match.group("params")):
                if param.group("key").lower() == "rel":
                    rel = param.group("q") if param.group("q") is not None else param.group("t")
                    for name in (rel or "").lower().split():
                        links.setdefault(name, match.group("url").strip())
            pos = match.end()
            comma = text.find(",", pos)
            if comma < 0:
                break
            pos = comma + 1
    return links
