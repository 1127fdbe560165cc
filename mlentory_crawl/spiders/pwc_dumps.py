"""Support for the ``paperswithcode`` spider: the dump table, tree flattening, the paper index.

* :data:`DUMPS`: the five dumps of the PwC archive, their file names and record kinds.
* :func:`records_of`: one dump element → ``(kind, source_id, url, payload)`` tuples. The
  evaluation-tables tree (task → datasets → ``sota.rows``, ``subtasks`` recursive,
  ``subdatasets`` with rows of their own) is walked one top-level task at a time and
  flattened into ``task``, ``benchmark`` and ``result`` envelopes around untouched parts of
  the tree (see :mod:`mlentory_crawl.normalizers.pwc_evaluation`).
* :class:`PaperIndex`: an on-disk SQLite map *PwC paper page → arXiv id / abstract URL*, filled
  from ``papers-with-abstracts`` and ``links-between-papers-and-code``. Evaluation rows,
  methods and datasets name their paper only by its PwC page; the spider looks those pages up
  and attaches what it finds (attachment ``papers``), so the normalizer can mint the arXiv/DOI
  IRI that every other source uses. On disk, so memory stays bounded with 576k papers, and
  kept between jobs, so a later import of one dump still resolves papers.

No Scrapy imports; blocking calls (SQLite) are made by the spider in a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlentory_crawl.normalizers.pwc_refs import pwc_page

PUBLIC_HOME = "https://paperswithcode.com"
MAX_TASK_DEPTH = 50


@dataclass(frozen=True)
class DumpSpec:
    """One dump of the archive."""

    name: str
    kind: str
    files: tuple[str, ...]
    needs_papers: bool = False


DUMPS: dict[str, DumpSpec] = {
    spec.name: spec
    for spec in (
        DumpSpec("papers-with-abstracts", "paper", ("papers-with-abstracts",)),
        DumpSpec(
            "links-between-papers-and-code",
            "code",
            ("links-between-papers-and-code", "links-between-paper-and-code"),
        ),
        DumpSpec("methods", "method", ("methods",), needs_papers=True),
        DumpSpec("datasets", "dataset", ("datasets",), needs_papers=True),
        DumpSpec("evaluation-tables", "model", ("evaluation-tables",), needs_papers=True),
    )
}
ALIASES = {
    "papers": "papers-with-abstracts",
    "links": "links-between-papers-and-code",
    "links-between-paper-and-code": "links-between-papers-and-code",
    "code": "links-between-papers-and-code",
    "evaluations": "evaluation-tables",
    "sota": "evaluation-tables",
}
SUFFIXES = (".json.gz", ".json")


def parse_dumps(value: Any) -> tuple[str, ...] | None:
    """``"papers,methods"`` → canonical dump names in archive order (``None``: all).

    Raises:
        ValueError: an unknown dump name (the message lists the valid ones).
    """
    if value is None or value == "" or value == "all":
        return None
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    chosen: set[str] = set()
    for item in items:
        key = str(item).strip().lower()
        for suffix in SUFFIXES:
            key = key.removesuffix(suffix)
        if not key:
            continue
        name = ALIASES.get(key, key)
        if name not in DUMPS:
            raise ValueError(f"unknown dump {item!r}; choose from {', '.join(DUMPS)}")
        chosen.add(name)
    if not chosen:
        raise ValueError("no dump given")
    return tuple(name for name in DUMPS if name in chosen)


def dump_of_file(filename: str) -> str | None:
    """The dump a file name belongs to (``methods.json.gz`` → ``methods``)."""
    lower = filename.lower()
    for spec in DUMPS.values():
        for stem in spec.files:
            if any(lower == stem + suffix for suffix in SUFFIXES):
                return spec.name
    return None


# ------------------------------------------------------------------------- records


Record = tuple[str, str, str, Any]
"""``(kind, source_id, url, payload)``; kind ``row`` is staged (see :class:`RowStage`)."""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def records_of(dump: str, element: Any, index: int) -> Iterator[Record]:
    """The records of one top-level dump element (``index`` names elements without an id).

    An evaluation-tables tree gives ``task`` records (with their datasets, rows removed) and
    ``row`` envelopes, which the spider stages and regroups into one ``model`` record per
    model (:func:`model_record`).
    """
    spec = DUMPS[dump]
    data = element if isinstance(element, dict) else {}
    fallback = f"{dump}#{index}"
    if spec.kind == "model":
        yield from _task_records(element, [], 0, fallback)
        return
    if spec.kind == "paper":
        source_id = _text(data.get("paper_url")) or _text(data.get("arxiv_id"))
        url = _text(data.get("paper_url"))
    elif spec.kind == "code":
        paper, repo = _text(data.get("paper_url")), _text(data.get("repo_url"))
        source_id = f"{paper}|{repo}" if paper or repo else ""
        url = repo
    else:
        source_id = _text(data.get("url")) or _text(data.get("name"))
        url = _text(data.get("url"))
    yield spec.kind, source_id or fallback, _public(url), element


def _public(url: str) -> str:
    return url if url.startswith(("https://", "http://")) and " " not in url else PUBLIC_HOME


def _task_records(task: Any, parents: list[str], depth: int, fallback: str) -> Iterator[Record]:
    if not isinstance(task, dict):
        yield "task", f"{fallback}:{'>'.join(parents)}", PUBLIC_HOME, {"task": task}
        return
    name = _text(task.get("task"))
    path = " > ".join([*parents, name or fallback])
    head = {k: v for k, v in task.items() if k not in ("datasets", "subtasks")}
    datasets = task.get("datasets")
    datasets = datasets if isinstance(datasets, list) else []
    payload = {"task": head, "parents": parents, "datasets": [_without_rows(d) for d in datasets]}
    yield "task", path, PUBLIC_HOME, payload
    for dataset in datasets:
        if isinstance(dataset, dict):
            yield from _rows(name, dataset)
    subtasks = task.get("subtasks")
    if depth >= MAX_TASK_DEPTH:
        return
    for sub in subtasks if isinstance(subtasks, list) else []:
        yield from _task_records(sub, [*parents, name], depth + 1, fallback)


def _tables(dataset: dict[str, Any]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    sota = dataset.get("sota")
    yield None, sota if isinstance(sota, dict) else {}
    subs = dataset.get("subdatasets")
    for sub in subs if isinstance(subs, list) else []:
        if isinstance(sub, dict):
            table = sub.get("sota")
            yield _text(sub.get("subdataset")) or None, table if isinstance(table, dict) else {}


def _without_rows(dataset: Any) -> Any:
    if not isinstance(dataset, dict):
        return dataset
    out = dict(dataset)
    if isinstance(out.get("sota"), dict):
        out["sota"] = {k: v for k, v in out["sota"].items() if k != "rows"}
    if isinstance(out.get("subdatasets"), list):
        out["subdatasets"] = [
            {**s, "sota": {k: v for k, v in s["sota"].items() if k != "rows"}}
            if isinstance(s, dict) and isinstance(s.get("sota"), dict)
            else s
            for s in out["subdatasets"]
        ]
    return out


def _rows(task: str, dataset: dict[str, Any]) -> Iterator[Record]:
    for sub, table in _tables(dataset):
        rows = table.get("rows")
        for row in rows if isinstance(rows, list) else []:
            data = row if isinstance(row, dict) else {}
            key = f"{_text(data.get('paper_url'))}|{_text(data.get('model_name'))}"
            envelope = {
                "task": task,
                "dataset": dataset.get("dataset"),
                "dataset_links": dataset.get("dataset_links"),
                "subdataset": sub,
                "metrics": table.get("metrics"),
                "row": row,
            }
            yield "row", key, PUBLIC_HOME, envelope


def model_record(key: str, results: list[Any]) -> Record:
    """The ``model`` record of all staged rows of one ``paper_url|model_name`` key."""
    first = results[0].get("row") if results and isinstance(results[0], dict) else None
    row = first if isinstance(first, dict) else {}
    payload = {
        "model_name": row.get("model_name"),
        "paper_url": row.get("paper_url"),
        "results": results,
    }
    return "model", key, _public(_text(row.get("paper_url"))), payload


class RowStage:
    """Leaderboard rows on disk (SQLite), read back grouped by model key (blocking; threads).

    A model is evaluated in many tables of many task trees; one record per model (not per
    row) keeps one owner per model node in the stores. Rows are appended while the dump is
    streamed and read back in key order afterwards, a bounded number at a time.

    Args:
        path: the database file; deleted by :meth:`close`.
        max_results: rows per model record (a larger group is split, with a note in the log).
    """

    def __init__(self, path: Path, max_results: int = 5000) -> None:
        self.path = path
        self.max_results = max_results
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("DROP TABLE IF EXISTS row")
        self._db.execute("CREATE TABLE row (seq INTEGER PRIMARY KEY, key TEXT, payload TEXT)")
        self._cursor: sqlite3.Cursor | None = None
        self._group: tuple[str, list[Any]] | None = None
        self.rows = 0
        self.split = 0

    def add(self, rows: Iterable[tuple[str, Any]]) -> None:
        """Append ``(key, envelope)`` rows."""
        data = [(key, json.dumps(payload, ensure_ascii=False)) for key, payload in rows]
        if data:
            with self._lock:
                self._db.executemany("INSERT INTO row (key, payload) VALUES (?, ?)", data)
            self.rows += len(data)

    def groups(self, max_rows: int = 2000) -> list[tuple[str, list[Any]]]:
        """The next complete groups, about ``max_rows`` rows in all; ``[]`` at the end."""
        out: list[tuple[str, list[Any]]] = []
        taken = 0
        with self._lock:
            if self._cursor is None:
                self._db.commit()
                self._db.execute("CREATE INDEX IF NOT EXISTS row_key ON row (key, seq)")
                self._cursor = self._db.execute("SELECT key, payload FROM row ORDER BY key, seq")
            while taken < max_rows:
                fetched = self._cursor.fetchmany(500)
                if not fetched:
                    if self._group is not None:
                        out.append(self._group)
                        self._group = None
                    break
                for key, payload in fetched:
                    taken += 1
                    group = self._group
                    if group is not None and (group[0] != key or len(group[1]) >= self.max_results):
                        self.split += group[0] == key
                        out.append(group)
                        group = None
                    if group is None:
                        group = self._group = (key, [])
                    group[1].append(json.loads(payload))
        return out

    def close(self) -> None:
        """Close and delete the database."""
        with self._lock:
            self._db.close()
        self.path.unlink(missing_ok=True)


# ------------------------------------------------------------------------- paper index


def paper_pages(kind: str, payload: Any) -> list[str]:
    """The normalised PwC paper pages a record names (the keys to look up)."""
    data = payload if isinstance(payload, dict) else {}
    urls: list[Any] = []
    if kind in ("method", "dataset"):
        urls.append(_get(data.get("paper"), "url"))
    elif kind == "model":
        results = data.get("results")
        urls.extend(_get(_get(r, "row"), "paper_url") for r in _list(results))
    elif kind == "task":
        for dataset in _list(data.get("datasets")):
            urls.extend(_get(c, "url") for c in _list(_get(dataset, "dataset_citations")))
    pages = [pwc_page(u, "paper") for u in urls]
    return list(dict.fromkeys(p for p in pages if p))


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def index_entry(kind: str, payload: Any) -> tuple[str, dict[str, str]] | None:
    """What a papers/links element contributes to the index: ``(page, identifiers)``."""
    if not isinstance(payload, dict):
        return None
    prefix = "paper_" if kind == "code" else ""
    page = pwc_page(payload.get("paper_url"), "paper")
    if page is None:
        return None
    ids = {
        "arxiv_id": _text(payload.get(f"{prefix}arxiv_id")),
        "url_abs": _text(payload.get(f"{prefix}url_abs")),
        "url_pdf": _text(payload.get(f"{prefix}url_pdf")),
    }
    ids = {k: v for k, v in ids.items() if v and len(v) <= 1000}
    return (page, ids) if ids else None


class PaperIndex:
    """SQLite map PwC paper page → ``{arxiv_id, url_abs, url_pdf}`` (blocking; use a thread).

    Args:
        path: the database file (its folder is created).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS paper (page TEXT PRIMARY KEY, ids TEXT NOT NULL)"
        )
        self._db.commit()

    def add(self, entries: Iterable[tuple[str, dict[str, str]]]) -> int:
        """Insert or replace entries; returns how many were written."""
        rows = [(page, json.dumps(ids, sort_keys=True)) for page, ids in entries]
        if rows:
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO paper VALUES (?, ?)", rows)
                self._db.commit()
        return len(rows)

    def lookup(self, pages: Iterable[str]) -> dict[str, dict[str, str]]:
        """The entries known for ``pages``."""
        wanted = list(dict.fromkeys(pages))
        found: dict[str, dict[str, str]] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT page, ids FROM paper WHERE page IN ({marks})"  # noqa: S608
                for page, ids in self._db.execute(query, chunk):
                    found[page] = json.loads(ids)
        return found

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM paper").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
