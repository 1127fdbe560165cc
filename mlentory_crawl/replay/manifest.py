"""Replay manifests: recorded answers (routes) and when they are given (stdlib only).

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
like the Hub (see :class:`~.server.ReplayServer`, which serves a manifest).
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

_ROUTE_KEYS = {
    "method", "path", "path_prefix", "dir", "query", "query_match", "status", "headers",
    "body", "body_file", "times", "delay", "template", "comment", "name",
}  # fmt: skip
_TEXT_SUFFIXES = {".md", ".txt", ".yaml", ".yml", ".csv", ".tsv", ".cfg", ".ini"}


class ManifestError(ValueError):
    """The manifest cannot be used (bad JSON, unknown key, missing body file, ...)."""


def parse_query(query_string: str) -> dict[str, list[str]]:
    """``a=1&b=2&a=3`` → ``{"a": ["1", "3"], "b": ["2"]}`` (blank values kept)."""
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    return query


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


def load_manifest(path: Path, seen: set[Path] | None = None) -> list[Route]:
    """The routes of a manifest file: its own, then those of its ``include``s, in order.

    Raises:
        ManifestError: unreadable or invalid JSON, an unknown key, an include cycle, ...
    """
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
        routes.extend(load_manifest(path.parent / str(inc), seen))
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


def content_type(path: Path) -> str:
    """The ``Content-Type`` of a served file (JSON and text files as UTF-8)."""
    if path.suffix == ".json":
        return "application/json; charset=utf-8"
    if path.suffix in _TEXT_SUFFIXES:
        return "text/plain; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"
