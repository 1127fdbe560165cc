"""A downloader middleware that adds a bearer token for one endpoint, only while in flight.

``BearerAuthMiddleware`` adds ``Authorization: Bearer <token>`` only to requests whose
origin (scheme, host, port) is the configured endpoint's, and removes it again when the
response (or error) comes back, so retried or redirected copies of the request that go back
to the scheduler (and to a ``JOBDIR`` disk queue) never carry the token. Also importable as
``mlentory_crawl.middlewares.BearerAuthMiddleware``.
"""

from __future__ import annotations

import logging
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from mlentory_crawl.config import ConfigError

logger = logging.getLogger(__name__)

Origin = tuple[str, str, int]


def _origin(url: str) -> Origin | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port


class BearerAuthMiddleware:
    """Adds ``Authorization: Bearer <token>`` for configured endpoints, transiently.

    ``BEARER_AUTH_SOURCES`` maps an endpoint setting to a token setting (default
    ``{"HF_ENDPOINT": "HF_TOKEN"}``). The header is added only when the request's scheme,
    host and port equal the endpoint's, and removed from the request object when the
    response or error comes back. The token is never logged and never stored in requests
    that go back to the scheduler. Register it with an order above ``RedirectMiddleware``
    and ``BackoffRetryMiddleware`` (e.g. 890) so it strips the header before they copy the
    request.
    """

    DEFAULT_SOURCES: dict[str, str] = {"HF_ENDPOINT": "HF_TOKEN"}
    _META_KEY = "_bearer_auth_added"

    def __init__(self, tokens: dict[Origin, bytes]) -> None:
        self._tokens = tokens

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Read endpoints and tokens once; disabled (``NotConfigured``) when no token is set."""
        settings = crawler.settings
        sources = settings.getdict("BEARER_AUTH_SOURCES") or cls.DEFAULT_SOURCES
        tokens: dict[Origin, bytes] = {}
        for endpoint_setting, token_setting in sources.items():
            token = str(settings.get(token_setting) or "").strip()
            endpoint = str(settings.get(endpoint_setting) or "")
            if not token:
                continue
            origin = _origin(endpoint)
            if origin is None:
                raise ConfigError(
                    f"{endpoint_setting} must be an absolute http(s) URL when {token_setting}"
                    " is set"
                )
            tokens[origin] = f"Bearer {token}".encode()
        if not tokens:
            raise NotConfigured  # no token: silently off (no warning on every public crawl)
        logger.info(
            "Bearer token configured for %s", ", ".join(f"{o[0]}://{o[1]}:{o[2]}" for o in tokens)
        )
        return cls(tokens)

    def process_request(self, request: Request) -> None:
        """Add the header when the request goes to a configured origin."""
        if b"Authorization" in request.headers:
            return
        parsed = urlparse_cached(request)
        scheme = parsed.scheme
        port = parsed.port or (443 if scheme == "https" else 80)
        token = self._tokens.get((scheme, (parsed.hostname or "").lower(), port))
        if token is not None:
            request.headers[b"Authorization"] = token
            request.meta[self._META_KEY] = True

    def _strip(self, request: Request) -> None:
        if request.meta.pop(self._META_KEY, False):
            request.headers.pop(b"Authorization", None)

    def process_response(self, request: Request, response: Response) -> Response:
        """Remove the header this middleware added before other middlewares copy the request."""
        self._strip(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Remove the header this middleware added (the request may be retried)."""
        self._strip(request)
