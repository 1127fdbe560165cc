"""A replay HTTP server: recorded responses served by method, path and query (stdlib only).

:class:`ReplayServer` serves a replay directory (a manifest, ``routes.json`` by default, or
``routes-<scenario>.json``; the format is in :mod:`.manifest`) from a background thread, or
in the calling thread for the command line. Unmatched requests get ``404`` with
``X-Error-Code: EntryNotFound`` and ``Entry not found``, like the Hub. Every request is logged
in :attr:`ReplayServer.requests`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from mlentory_crawl.replay.manifest import (
    ManifestError,
    Route,
    content_type,
    load_manifest,
    parse_query,
)

__all__ = ["DEFAULT_MANIFEST", "LoggedRequest", "ManifestError", "ReplayServer", "Route"]

logger = logging.getLogger(__name__)

DEFAULT_MANIFEST = "routes.json"
NOT_FOUND_BODY = b"Entry not found"


@dataclass(frozen=True)
class LoggedRequest:
    """A request the server received, and how it answered."""

    method: str
    path: str
    query_string: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int
    route: str


class ReplayServer:
    """Serves a replay directory on ``host:port`` from a background thread.

    Example:
        >>> with ReplayServer(root) as srv:          # doctest: +SKIP
        ...     fetch(srv.url + "/api/models")
        ...     assert srv.count(path="/api/models") == 1

    Args:
        root: the replay directory.
        scenario: use ``routes-<scenario>.json`` instead of ``routes.json``.
        manifest: an explicit manifest file name/path (relative to *root*).
        host: bind address (loopback by default).
        port: 0 picks a free port.
        delay: seconds to wait before every answer (to slow crawls down).
        on_request: optional callback called with each :class:`LoggedRequest`.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        scenario: str | None = None,
        manifest: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        on_request: Callable[[LoggedRequest], None] | None = None,
    ) -> None:
        self.root = Path(root)
        name = manifest or (f"routes-{scenario}.json" if scenario else DEFAULT_MANIFEST)
        self.manifest = self.root / name
        self.routes = load_manifest(self.manifest)
        self.delay = delay
        self.on_request = on_request
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        host, port = self._httpd.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{host_text}:{port}"

    def start(self) -> Self:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="replay-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (used by the command line)."""
        self._httpd.serve_forever()

    def request_shutdown(self) -> None:
        """Ask :meth:`serve_forever` to return (safe from a signal handler)."""
        threading.Thread(target=self._httpd.shutdown, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the request log and the ``times`` counters."""
        with self._lock:
            self.requests.clear()
            for route in self.routes:
                route.used = 0

    def count(self, *, path: str | None = None, status: int | None = None) -> int:
        """How many logged requests had this path and/or answer status."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (path is None or r.path == path) and (status is None or r.status == status)
            )

    def resolve(
        self, method: str, target: str
    ) -> tuple[int, dict[str, list[str]], bytes, str, float]:
        """Answer a request target (``/path?query``): status, headers, body, route, delay."""
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = parse_query(parts.query)
        with self._lock:
            for route in self.routes:
                if route.times is not None and route.used >= route.times:
                    continue
                if not route.matches(method, path, query):
                    continue
                static = route.static_file(path) if route.dir is not None else None
                if route.dir is not None and static is None:
                    continue
                route.used += 1
                return (*self._render(route, parts.query, static), route.name, route.delay)
        headers = {
            "Content-Type": ["text/plain; charset=utf-8"],
            "X-Error-Code": ["EntryNotFound"],
            "X-Error-Message": ["Entry not found"],
        }
        return 404, headers, NOT_FOUND_BODY, "<unmatched>", 0.0

    def _render(
        self, route: Route, query_string: str, static: Path | None
    ) -> tuple[int, dict[str, list[str]], bytes]:
        headers = {k: list(v) for k, v in route.headers.items()}
        source = static or route.body_file
        body = source.read_bytes() if source is not None else (route.body or b"")
        if source is not None:
            headers.setdefault("Content-Type", [content_type(source)])
        if route.template:
            query = f"?{query_string}" if query_string else ""
            body = body.replace(b"{base}", self.url.encode("ascii"))
            headers = {
                k: [v.replace("{base}", self.url).replace("{query}", query) for v in vals]
                for k, vals in headers.items()
            }
        return route.status, headers, body

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)
        if self.on_request is not None:
            self.on_request(entry)


def _make_handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "mlentory-replay/1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            status, headers, body, route, delay = server.resolve(self.command, self.path)
            if server.delay or delay:
                time.sleep(server.delay + delay)
            parts = urlsplit(self.path)
            server._log(
                LoggedRequest(
                    method=self.command,
                    path=unquote(parts.path),
                    query_string=parts.query,
                    query=parse_query(parts.query),
                    headers={k: v for k, v in self.headers.items()},
                    status=status,
                    route=route,
                )
            )
            self.send_response(status)
            for name, values in headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("replay: " + format, *args)

    return Handler
