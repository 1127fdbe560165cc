"""A replay HTTP server: recorded responses served by method, path and query (stdlib only).

On-disk format: a directory (the *root*) with a manifest, ``routes.json`` by default, or
``routes-<scenario>.json`` for a scenario. A manifest is a JSON list of routes, or an object
``{"routes": [...], "include": ["routes.json"]}`` whose included manifests' routes come after
its own. The first route that matches (and is not used up) answers. Route keys:

``method``
    ``GET`` (default; also answers ``HEAD``), any other method, or ``*``.
``path``
    Exact path, compared percent-decoded (``/api/models/acme/tiny-bert``).
``path_prefix`` + ``dir``
    Static files: ``<dir>/<rest of the path>`` (never outside ``dir``); a missing file falls
    through to the next route.
``query``
    ``{name: value}`` conditions: a string (the only value), a list (all the values, in any
    order, for repeated keys such as ``expand[]``), ``"*"`` (present) or ``null`` (absent).
``query_match``
    ``subset`` (default: other parameters may appear) or ``exact`` (no other parameter).
``status``, ``headers``
    Status code (default 200) and headers (a list value repeats the header).
``body`` / ``body_file``
    Inline body (a string, or JSON for anything else) or a file relative to the manifest.
``times``
    Answer only this many times, then fall through (``429`` once, then the real page).
``delay``
    Seconds to wait before answering (on top of the server-wide ``delay``).
``template``
    ``true`` (default): ``{base}`` in headers and bodies becomes the server's base URL,
    ``{query}`` in headers becomes ``?<request query>`` (or nothing).

Unmatched requests get ``404`` with ``X-Error-Code: EntryNotFound`` and ``Entry not found``,
like the Hub. Every request is logged in :attr:`ReplayServer.requests`.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

logger = logging.getLogger(__name__)

DEFAULT_MANIFEST = "routes.json"
NOT_FOUND_BODY = b"Entry not found"
_ROUTE_KEYS = {
    "method", "path", "path_prefix", "dir", "query", "query_match", "status", "headers",
    "body", "body_file", "times", "delay", "template", "comment", "name",
}  # fmt: skip
_TEXT_SUFFIXES = {".md", ".txt", ".yaml", ".yml", ".csv", ".tsv", ".cfg", ".ini"}


class ManifestError(ValueError):
    """The manifest cannot be used (bad JSON, unknown key, missing body file, ...)."""


@dataclass
class Route:
    """One recorded answer and the conditions under which it is given."""

    method: str = "GET"
    path: str | None = None
    path_prefix: str | None = None
    dir: Path | None = None
    query: dict[str, str | list[str] | None] = field(default_factory=dict)
    query_match: str = "subset"
    status: int = 200
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes | None = None
    body_file: Path | None = None
    times: int | None = None
    delay: float = 0.0
    template: bool = True
    name: str = ""
    used: int = 0

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        """Whether this route answers the request (ignoring ``times``)."""
        if self.method not in ("*", method) and not (method == "HEAD" and self.method == "GET"):
            return False
        if self.path is not None and path != self.path:
            return False
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        for key, expected in self.query.items():
            actual = query.get(key)
            if expected is None:
                if actual is not None:
                    return False
            elif expected == "*":
                if actual is None:
                    return False
            else:
                wanted = expected if isinstance(expected, list) else [expected]
                if sorted(actual or []) != sorted(wanted):
                    return False
        if self.query_match == "exact":
            required = {k for k, v in self.query.items() if v is not None}
            if set(query) != required:
                return False
        return True

    def static_file(self, path: str) -> Path | None:
        """For a ``dir`` route: the file the path names, if it exists inside ``dir``."""
        if self.dir is None or self.path_prefix is None:
            return None
        rest = path[len(self.path_prefix) :].lstrip("/")
        root = self.dir.resolve()
        candidate = (root / rest).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate


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


def _load_manifest(path: Path, seen: set[Path] | None = None) -> list[Route]:
    seen = seen if seen is not None else set()
    path = path.resolve()
    if path in seen:
        raise ManifestError(f"{path}: include cycle")
    seen.add(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ManifestError(f"{path}: invalid JSON: {exc}") from None
    includes: list[Any] = []
    if isinstance(data, dict):
        includes = data.get("include") or []
        data = data.get("routes") or []
    if not isinstance(data, list) or not isinstance(includes, list):
        raise ManifestError(f"{path}: expected a list of routes or {{routes, include}}")
    routes = [_parse_route(raw, path, i) for i, raw in enumerate(data)]
    for inc in includes:
        routes.extend(_load_manifest(path.parent / str(inc), seen))
    return routes


def _parse_route(raw: Any, manifest: Path, index: int) -> Route:
    where = f"{manifest.name} route {index}"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: a route is a JSON object")
    unknown = set(raw) - _ROUTE_KEYS
    if unknown:
        raise ManifestError(f"{where}: unknown keys {sorted(unknown)}")
    base = manifest.parent
    route = Route(
        method=str(raw.get("method", "GET")).upper(),
        path=unquote(raw["path"]) if raw.get("path") is not None else None,
        path_prefix=raw.get("path_prefix"),
        dir=(base / raw["dir"]) if raw.get("dir") else None,
        query=dict(raw.get("query") or {}),
        query_match=str(raw.get("query_match", "subset")),
        status=int(raw.get("status", 200)),
        times=int(raw["times"]) if raw.get("times") is not None else None,
        delay=float(raw.get("delay", 0.0)),
        template=bool(raw.get("template", True)),
        name=str(raw.get("name") or raw.get("path") or raw.get("path_prefix") or f"#{index}"),
    )
    if route.path is None and route.path_prefix is None:
        raise ManifestError(f"{where}: needs path or path_prefix")
    if route.query_match not in ("subset", "exact"):
        raise ManifestError(f"{where}: query_match must be subset or exact")
    for hname, hvalue in (raw.get("headers") or {}).items():
        route.headers[str(hname)] = (
            [str(v) for v in hvalue] if isinstance(hvalue, list) else [str(hvalue)]
        )
    if raw.get("body_file"):
        route.body_file = base / raw["body_file"]
        if not route.body_file.is_file():
            raise ManifestError(f"{where}: body_file {route.body_file} not found")
    elif "body" in raw and raw["body"] is not None:
        body = raw["body"]
        if isinstance(body, str):
            route.body = body.encode("utf-8")
            route.headers.setdefault("Content-Type", ["text/plain; charset=utf-8"])
        else:
            route.body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            route.headers.setdefault("Content-Type", ["application/json; charset=utf-8"])
    return route


def _content_type(path: Path) -> str:
    if path.suffix == ".json":
        return "application/json; charset=utf-8"
    if path.suffix in _TEXT_SUFFIXES:
        return "text/plain; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


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
        self.routes = _load_manifest(self.manifest)
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
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
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
            headers.setdefault("Content-Type", [_content_type(source)])
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
            query: dict[str, list[str]] = {}
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                query.setdefault(key, []).append(value)
            server._log(
                LoggedRequest(
                    method=self.command,
                    path=unquote(parts.path),
                    query_string=parts.query,
                    query=query,
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
