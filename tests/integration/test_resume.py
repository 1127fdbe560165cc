"""Resumption end to end: ``scrapy crawl huggingface`` stopped or killed, resumed, compared.

Every scenario runs real crawl processes with a ``JOBDIR`` against a replay server slowed
down with a delay, interrupts the first one when the raw files show the chosen progress (one
SIGINT: graceful; SIGKILL: early, mid — twice in a row — and late, with a request in flight),
restarts with the same ``JOBDIR`` until the crawl finishes, and compares the files with those
of an uninterrupted crawl: the same records (ignoring retrieval times, job ids and the replay
server's port), none twice, raw/normalized/rdf consistent, every Turtle part parses, no
partial line or ``.partial`` part left, and ``scheduler/unserializable`` is 0.

The replay data is synthetic: 48 models over 8 list pages, cloned from the packaged sample,
each with its card (or a 404 card, like the sample), so one crawl makes 56 requests.
"""

from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from mlentory_crawl.replay import ReplayServer, sample_root
from mlentory_crawl.storage import (
    WRITING_MARKER,
    ReadStats,
    iter_jsonl,
    iter_turtle_chunks_text,
    part_files,
)

pytestmark = pytest.mark.slow

PAGES, PER_PAGE = 8, 6
MODELS = PAGES * PER_PAGE
DELAY = 0.15  # seconds per answer: a crawl takes a few seconds, long enough to interrupt
SLOW_CARD_DELAY = 120.0
CRAWL_TIMEOUT = 180
_STAT_LINE = re.compile(r"^\s*[{ ]?'(?P<key>[^']+)':\s*(?P<value>[-\d.]+|'[^']*'),?\}?\s*$")
_TIMESTAMP = re.compile(r'"\d{4}-\d\d-\d\dT[0-9:.]+Z?"')
_PAGE_SIZE = re.compile(r"\blimit=\d+")


# -- synthetic replay data ---------------------------------------------------------------------


def build_replay(root: Path, slow_card_index: int | None = None) -> list[str]:
    """Write a replay directory of ``MODELS`` models; return their ids in list order.

    Args:
        root: the directory to fill.
        slow_card_index: the card of this model answers after ``SLOW_CARD_DELAY`` seconds
            the first time it is requested (then at normal speed).
    """
    sample = sample_root("huggingface")
    templates = [
        model
        for page in (1, 2, 3)
        for model in json.loads((sample / f"api/models-page{page}.json").read_text("utf-8"))
    ]
    sample_routes = json.loads((sample / "routes.json").read_text("utf-8"))
    cards = {
        route["path"].removesuffix("/raw/main/README.md").lstrip("/"): sample / route["body_file"]
        for route in sample_routes
        if route.get("path", "").endswith("/raw/main/README.md") and route.get("body_file")
    }
    routes: list[dict[str, Any]] = []
    ids: list[str] = []
    for page in range(PAGES):
        entries = []
        for slot in range(PER_PAGE):
            index = page * PER_PAGE + slot
            template = templates[index % len(templates)]
            model_id = f"synth-lab/{template['id'].split('/')[1]}-{index:03d}"
            entry = copy.deepcopy(template)
            entry["id"], entry["_id"] = model_id, f"{index:024x}"
            entries.append(entry)
            ids.append(model_id)
            card_path = f"/{model_id}/raw/main/README.md"
            card = cards.get(template["id"])
            if card is None:
                routes.append({"path": card_path, "status": 404, "body": "Entry not found"})
                continue
            target = root / "cards" / model_id / "README.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(card.read_bytes())
            body = {"body_file": f"cards/{model_id}/README.md"}
            if index == slow_card_index:
                routes.append({"path": card_path, "times": 1, "delay": SLOW_CARD_DELAY, **body})
            routes.append({"path": card_path, **body})
        page_file = root / "api" / f"page-{page}.json"
        page_file.parent.mkdir(parents=True, exist_ok=True)
        page_file.write_text(json.dumps(entries), "utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if page + 1 < PAGES:
            headers["Link"] = (
                f'<{{base}}/api/models?limit={PER_PAGE}&cursor=c{page + 1}>; rel="next"'
            )
        cursor = None if page == 0 else f"c{page}"
        routes.append(
            {
                "path": "/api/models",
                "query": {"cursor": cursor},
                "headers": headers,
                "body_file": f"api/page-{page}.json",
            }
        )
    (root / "routes.json").write_text(json.dumps(routes, indent=1), "utf-8")
    return ids


# -- crawl processes ---------------------------------------------------------------------------


class Crawl:
    """One ``scrapy crawl huggingface`` process of a job (its data and JOBDIR in ``workdir``)."""

    def __init__(self, workdir: Path, endpoint: str, name: str, *args: str) -> None:
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        env = {
            **os.environ,
            "SCRAPY_SETTINGS_MODULE": "mlentory_crawl.settings",
            "HF_ENDPOINT": endpoint,
            "DATA_DIR": str(workdir / "data"),
        }
        for var in ("JOB_ID", "SCRAPY_JOB", "NEO4J_URI", "ELASTICSEARCH_URL"):
            env.pop(var, None)
        cmd = [
            sys.executable, "-m", "scrapy", "crawl", "huggingface", *args,
            "-s", f"JOBDIR={workdir / 'job'}", "-s", f"LOG_FILE={self.log}",
            "-s", "LOG_LEVEL=INFO", "-s", "AUTOTHROTTLE_ENABLED=False",
            "-s", "STORE_PART_RECORDS=10", "-s", "TELNETCONSOLE_ENABLED=False",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def wait(self, timeout: float = CRAWL_TIMEOUT) -> int:
        """Wait for the process to end; return its exit code."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"crawl did not end within {timeout}s:\n{self.text()[-3000:]}")
        return self.proc.returncode

    def finish(self) -> dict[str, Any]:
        """Wait for a crawl that must succeed; return its stats."""
        code = self.wait()
        stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
        assert code == 0, stderr[-3000:] + self.text()[-3000:]
        stats = self.stats()
        assert stats.get("finish_reason") in ("finished", "limit"), self.text()[-3000:]
        assert stats.get("scheduler/unserializable", 0) == 0
        assert stats.get("resume/unserializable", 0) == 0
        assert stats.get("log_count/ERROR", 0) == 0, self.text()[-3000:]
        return stats

    def interrupt(self, sig: signal.Signals) -> None:
        """Send one signal."""
        self.proc.send_signal(sig)

    def text(self) -> str:
        """The log so far."""
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""

    def stats(self) -> dict[str, Any]:
        """The stats dumped at the end of the log."""
        text = self.text()
        stats: dict[str, Any] = {}
        if "Dumping Scrapy stats:" not in text:
            return stats
        for line in text.split("Dumping Scrapy stats:", 1)[1].splitlines():
            match = _STAT_LINE.match(line)
            if match:
                value = match.group("value")
                stats[match.group("key")] = (
                    value.strip("'") if value.startswith("'") else float(value)
                )
        return stats


def raw_count(workdir: Path) -> int:
    """Complete raw records written so far."""
    return sum(p.read_bytes().count(b"\n") for p in part_files(workdir / "data" / "raw", "jsonl"))


def wait_for(crawl: Crawl, condition: Any, what: str, timeout: float = CRAWL_TIMEOUT) -> None:
    """Poll ``condition()`` until true (fail if the crawl ends first or time runs out)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if crawl.proc.poll() is not None:
            pytest.fail(f"crawl ended before {what}:\n{crawl.text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.03)


def interrupted_run(
    workdir: Path, endpoint: str, name: str, sig: signal.Signals, at_records: int, *args: str
) -> Crawl:
    """Start a crawl and send ``sig`` once ``at_records`` raw records are written."""
    crawl = Crawl(workdir, endpoint, name, *args)
    wait_for(crawl, lambda: raw_count(workdir) >= at_records, f"{at_records} raw records")
    crawl.interrupt(sig)
    crawl.wait()
    return crawl


# -- reading and comparing the files -----------------------------------------------------------


def scrub(text: str, endpoint: str, job: str) -> str:
    """Remove what legitimately differs between two crawls of the same data."""
    text = text.replace(endpoint, "http://replay.invalid").replace(job, "JOB")
    text = _PAGE_SIZE.sub("limit=N", text)  # the first list URL carries the limit argument
    return _TIMESTAMP.sub('"2000-01-01T00:00:00Z"', text)


def read_job(workdir: Path, endpoint: str) -> dict[str, Any]:
    """Everything the crawl of one job left in its data folder, checked for consistency."""
    data = workdir / "data"
    raw_parts = part_files(data / "raw", "jsonl")
    norm_parts = part_files(data / "normalized", "jsonl")
    rdf_parts = part_files(data / "rdf", "ttl")
    job_dirs = {p.parent for p in raw_parts + norm_parts + rdf_parts}
    assert len({d.name for d in job_dirs}) == 1, job_dirs  # one job folder per area
    job = next(iter(job_dirs)).name
    assert not [p for p in data.rglob(WRITING_MARKER)], "a writer was left open"
    assert not [p for p in rdf_parts if p.name.endswith(".partial")]
    read = ReadStats()
    raws = list(iter_jsonl(raw_parts, read))
    docs = list(iter_jsonl(norm_parts, read))
    assert (read.partial_lines, read.bad_lines) == (0, 0)
    chunks: list[tuple[str, str]] = []
    for part in rdf_parts:
        Graph().parse(part, format="turtle")  # every part is a valid Turtle document
        chunks.extend(iter_turtle_chunks_text(part.read_text("utf-8")))
    return {
        "job": job,
        "raw": Counter(r["source_id"] for r in raws),
        "normalized": Counter(d["@id"] for d in docs),
        "rdf": Counter(iri for iri, _ in chunks),
        "raw_docs": {r["source_id"]: scrub(_raw_text(r), endpoint, job) for r in raws},
        "norm_docs": {d["@id"]: scrub(json.dumps(d, sort_keys=True), endpoint, job) for d in docs},
        "norm_source": {d["@id"]: d["provenance"]["sourceId"] for d in docs},
        "rdf_docs": {iri: scrub(body, endpoint, job) for iri, body in chunks},
    }


def _raw_text(record: dict[str, Any]) -> str:
    varying = ("retrieved_at", "job_id")
    return json.dumps({k: v for k, v in record.items() if k not in varying}, sort_keys=True)


def assert_same_records(got: dict[str, Any], want: dict[str, Any], ids: list[str]) -> None:
    """``got`` holds exactly the records of ``want`` for ``ids``, each once, equal."""
    for area in ("raw", "normalized", "rdf"):
        dupes = {k: n for k, n in got[area].items() if n > 1}
        assert not dupes, f"{area} records written twice: {dupes}"
    assert set(got["raw"]) == set(ids)
    wanted_norm = {iri for iri, source_id in want["norm_source"].items() if source_id in ids}
    assert len(wanted_norm) == len(ids)
    assert set(got["normalized"]) == wanted_norm
    assert set(got["rdf"]) == wanted_norm  # raw, normalized and rdf agree
    for source_id in ids:
        assert got["raw_docs"][source_id] == want["raw_docs"][source_id]
    for iri in wanted_norm:
        assert got["norm_docs"][iri] == want["norm_docs"][iri], iri
        assert isomorphic(
            Graph().parse(data=got["rdf_docs"][iri], format="turtle"),
            Graph().parse(data=want["rdf_docs"][iri], format="turtle"),
        ), iri


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The synthetic replay server (slowed down) and the model ids in list order."""
    root = tmp_path_factory.mktemp("replay")
    ids = build_replay(root)
    with ReplayServer(root, delay=DELAY) as srv:
        yield srv.url, ids


@pytest.fixture(scope="module")
def baseline(
    tmp_path_factory: pytest.TempPathFactory, replay: tuple[str, list[str]]
) -> dict[str, Any]:
    """The files of an uninterrupted crawl."""
    endpoint, ids = replay
    workdir = tmp_path_factory.mktemp("baseline")
    stats = Crawl(workdir, endpoint, "run").finish()
    assert stats["item_scraped_count"] == MODELS
    state = read_job(workdir, endpoint)
    assert set(state["raw"]) == set(ids) and len(state["normalized"]) == MODELS
    return state


# -- scenarios ---------------------------------------------------------------------------------


def test_graceful_stop_then_resume(
    tmp_path: Path, replay: tuple[str, list[str]], baseline: dict[str, Any]
) -> None:
    endpoint, ids = replay
    first = interrupted_run(tmp_path, endpoint, "run1", signal.SIGINT, MODELS // 3)
    assert first.proc.returncode == 0
    log = first.text()
    assert "shutting down gracefully" in log and "Spider closed (shutdown)" in log
    stopped_at = raw_count(tmp_path)
    assert stopped_at < MODELS
    second = Crawl(tmp_path, endpoint, "run2")
    stats = second.finish()
    assert_same_records(read_job(tmp_path, endpoint), baseline, ids)
    assert stats["item_scraped_count"] == MODELS - stopped_at  # nothing was repeated
    assert stats.get("files/raw/duplicates_skipped", 0) == 0
    assert "unclean stop" not in second.text()
    assert stats.get("resume/requests_restored", 0) == 0  # Scrapy's own queue was used
    # Running a finished job again fetches nothing new and writes nothing.
    third = Crawl(tmp_path, endpoint, "run3")
    stats = third.finish()
    assert stats.get("item_scraped_count", 0) == 0
    assert_same_records(read_job(tmp_path, endpoint), baseline, ids)


@pytest.mark.parametrize("fraction", [0.1, 0.5], ids=["early", "mid-and-again"])
def test_sigkill_then_resume(
    tmp_path: Path, replay: tuple[str, list[str]], baseline: dict[str, Any], fraction: float
) -> None:
    endpoint, ids = replay
    at = max(1, int(MODELS * fraction))
    first = interrupted_run(tmp_path, endpoint, "run1", signal.SIGKILL, at)
    assert first.proc.returncode == -signal.SIGKILL
    runs = 1
    if fraction == 0.5:  # kill the resumed crawl too, a few records later
        again = interrupted_run(
            tmp_path, endpoint, "run2", signal.SIGKILL, raw_count(tmp_path) + MODELS // 5
        )
        assert "after an unclean stop" in again.text()
        runs = 2
    last = Crawl(tmp_path, endpoint, f"run{runs + 1}")
    stats = last.finish()
    assert_same_records(read_job(tmp_path, endpoint), baseline, ids)
    assert "after an unclean stop" in last.text()
    assert stats["resume/unclean_resumes"] == 1


def test_sigkill_with_a_request_in_flight(
    tmp_path: Path, baseline: dict[str, Any], replay: tuple[str, list[str]]
) -> None:
    """Late kill while one card is still being downloaded (popped, seen, not done)."""
    _, ids = replay
    slow = MODELS - 9  # a card of the next-to-last page; it holds up nothing else
    root = tmp_path / "replay"
    build_replay(root, slow_card_index=slow)
    workdir = tmp_path / "crawl"
    workdir.mkdir()
    with ReplayServer(root, delay=DELAY) as srv:
        endpoint = srv.url
        slow_path = f"/{ids[slow]}/raw/main/README.md"
        first = Crawl(workdir, endpoint, "run1")
        wait_for(
            first,
            lambda: raw_count(workdir) >= MODELS - 1 and srv.count(path=slow_path) == 0,
            "every record but the slow card's",
        )
        first.interrupt(signal.SIGKILL)
        first.wait()
        assert ids[slow] not in {
            r["source_id"] for r in iter_jsonl(part_files(workdir / "data" / "raw", "jsonl"))
        }
        second = Crawl(workdir, endpoint, "run2")
        stats = second.finish()
        # Answered once: to the resumed crawl (the killed one's request is still hanging).
        assert srv.count(path=slow_path) == 1
        got = read_job(workdir, endpoint)
    assert_same_records(got, baseline, ids)  # documents are compared without the endpoint
    assert stats["resume/requests_restored"] >= 1


def test_sigkill_keeps_the_limit(
    tmp_path: Path, replay: tuple[str, list[str]], baseline: dict[str, Any]
) -> None:
    """``limit`` is counted in ``spider.state``: the restored checkpoint keeps it exact."""
    endpoint, ids = replay
    limit = 30
    interrupted_run(tmp_path, endpoint, "run1", signal.SIGKILL, limit // 2, "-a", f"limit={limit}")
    last = Crawl(tmp_path, endpoint, "run2", "-a", f"limit={limit}")
    stats = last.finish()
    assert stats["finish_reason"] in ("limit", "finished")
    assert_same_records(read_job(tmp_path, endpoint), baseline, ids[:limit])
