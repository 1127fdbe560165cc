"""Helpers of the store integration tests: records, store snapshots, a TCP proxy, crawls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from neo4j import Driver
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler

from mlentory_crawl.identity import Minter
from mlentory_crawl.items import Dataset, FAIR4MLRecord, MLModel, NormalizedItem, RawRecord
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    CreativeWork,
    DefinedTerm,
    MLModelEvaluation,
    Organization,
    PropertyValue,
    ScholarlyArticle,
)
from mlentory_crawl.items.vocab import DEFAULT_BASE_IRI
from mlentory_crawl.pipelines.es_index import ElasticsearchPipeline
from mlentory_crawl.pipelines.json_store import JsonStorePipeline
from mlentory_crawl.pipelines.neo4j_upsert import Neo4jPipeline
from mlentory_crawl.sinks.neo4j import BASED_ON, EDGE_PROPERTIES, language_iri

REPO = Path(__file__).resolve().parents[2]
BASE = DEFAULT_BASE_IRI
LICENSES = ["Apache-2.0", "MIT", "CC-BY-4.0"]
TASKS = ["text-classification", "translation", "question-answering"]


# --------------------------------------------------------------------------- records


def make_record(
    i: int,
    *,
    datasets: tuple[int, ...] | None = None,
    license: str | None = None,
    retrieved: str = "2026-01-01T00:00:00Z",
    job: str = "job-1",
    name: str | None = None,
    iri: str | None = None,
    downloads: int | None = None,
    evaluation: bool = True,
    languages: tuple[str, ...] = ("en", "de"),
) -> FAIR4MLRecord:
    """A Hugging Face-shaped model record with several relationships."""
    model_id = f"lab{i % 7}/model-{i}"
    iri = iri or f"https://huggingface.co/{model_id}"
    raw = RawRecord("huggingface", model_id, iri, iri, retrieved, {}, job_id=job)
    b = RecordBuilder(raw, Minter(BASE))
    ds = [f"https://huggingface.co/datasets/org/corpus-{d}" for d in (datasets or (i % 5, 9))]
    for d in ds:
        b.add(Dataset(id=d, name=d.rsplit("/", 2)[-2] + "/" + d.rsplit("/", 1)[-1]))
    spdx = license or LICENSES[i % len(LICENSES)]
    lic = f"https://spdx.org/licenses/{spdx}"
    b.add(CreativeWork(id=lic, name=spdx, identifier=[spdx]))
    task = TASKS[i % len(TASKS)]
    task_iri = Minter(BASE).task("hf", task)
    b.add(DefinedTerm(id=task_iri, name=task, termCode=task))
    kw = Minter(BASE).keyword("pytorch")
    b.add(DefinedTerm(id=kw, name="pytorch"))
    org = f"https://huggingface.co/lab{i % 7}"
    b.add(Organization(id=org, name=f"lab{i % 7}"))
    paper = f"https://arxiv.org/abs/2401.{i % 3:05d}"
    b.add(ScholarlyArticle(id=paper, name=f"Paper {i % 3}"))
    evals: list[str] = []
    if evaluation:
        ev = Minter(BASE).evaluation(f"{iri}|{ds[0]}")
        b.add(PropertyValue(id=ev + "#accuracy", propertyID="accuracy", value=0.5 + i % 50 / 100))
        b.add(
            MLModelEvaluation(
                id=ev,
                name=f"eval of {model_id}",
                evaluatedMLModel=[iri],
                evaluationDataset=[ds[0]],
                evaluationResults=[ev + "#accuracy"],
            )
        )
        evals.append(ev)
    base = [f"https://huggingface.co/lab{i // 2 % 7}/model-{i // 2}"] if i else []
    model = MLModel(
        id=iri,
        name=name or model_id,
        description=f"Model {i} for {task}",
        trainedOn=ds,
        license=[lic],
        mlTask=[task_iri],
        keywords=[kw],
        sharedBy=[org],
        citation=[paper],
        fineTunedFrom=base,
        baseModelFinetune=base,
        inLanguage=list(languages),
        hasEvaluation=evals,
        softwareRequirements=["transformers"],
        downloads=i * 10 if downloads is None else downloads,
        likes=i,
        dateModified="2025-06-01T10:00:00Z",
    )
    return b.build(model)


def expected_graph(records: list[FAIR4MLRecord]) -> tuple[int, int]:
    """Node and relationship counts of a set of records, computed from the JSON alone."""
    nodes: set[str] = set()
    edges: set[tuple[str, str, str, str]] = set()
    for rec in records:
        for node in rec.graph:
            nodes.add(node.id)
            data = node.model_dump()
            for prop, rtype in EDGE_PROPERTIES.items():
                values = data.get(prop) or []
                for target in [values] if isinstance(values, str) else values:
                    if prop == "inLanguage":
                        target = language_iri(BASE, target)
                    nodes.add(target)
                    edges.add((node.id, rtype, BASED_ON.get(prop, ""), target))
    records_iris = {r.id for r in records}
    return len(nodes) + len(records_iris), len(edges) + len(records_iris)


def load_normalized(data_dir: Path) -> list[FAIR4MLRecord]:
    """Every record under ``data_dir/normalized`` (last version of each record IRI)."""
    out: dict[str, FAIR4MLRecord] = {}
    for part in sorted((data_dir / "normalized").rglob("part-*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            rec = FAIR4MLRecord.model_validate(json.loads(line))
            out[rec.id] = rec
    return list(out.values())


# --------------------------------------------------------------------------- snapshots


def graph_snapshot(driver: Driver) -> tuple[list[Any], list[Any]]:
    """Every node (labels + properties) and relationship, sorted: equal graphs, equal lists."""
    nodes, _, _ = driver.execute_query(
        "MATCH (n) RETURN n.iri AS iri, labels(n) AS labels, properties(n) AS props"
    )
    rels, _, _ = driver.execute_query(
        "MATCH (s)-[r]->(t) RETURN s.iri AS s, type(r) AS type, properties(r) AS props, t.iri AS t"
    )
    node_list = sorted(
        (r["iri"], sorted(r["labels"]), json.dumps(r["props"], sort_keys=True, default=str))
        for r in nodes
    )
    rel_list = sorted(
        (r["s"], r["type"], json.dumps(r["props"], sort_keys=True, default=str), r["t"])
        for r in rels
    )
    return node_list, rel_list


def graph_counts(driver: Driver) -> tuple[Counter[str], Counter[str]]:
    """Nodes per label and relationships per type."""
    labels, _, _ = driver.execute_query("MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) AS c")
    types, _, _ = driver.execute_query("MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c")
    return Counter({r["l"]: r["c"] for r in labels}), Counter({r["t"]: r["c"] for r in types})


class EsHttp:
    """A tiny JSON-over-HTTP client for assertions (independent of the project's client)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def search(self, alias: str, body: dict[str, Any]) -> Any:
        """POST ``<alias>/_search``."""
        return self("POST", f"/{alias}/_search", body)

    def docs(self, alias: str) -> list[tuple[str, str]]:
        """Every ``(_id, _source JSON)`` behind the alias, sorted."""
        self("POST", f"/{alias}/_refresh")
        hits = self.search(alias, {"size": 10000, "query": {"match_all": {}}})["hits"]["hits"]
        return sorted((h["_id"], json.dumps(h["_source"], sort_keys=True)) for h in hits)

    def drop(self, alias: str) -> None:
        """Delete the alias's indices and template."""
        indices = self("GET", f"/_cat/indices/{alias}-*?format=json") or []
        for entry in indices:
            self("DELETE", f"/{entry['index']}")
        self("DELETE", f"/_index_template/{alias}-template")


# --------------------------------------------------------------------------- pipelines


def make_crawler(settings: dict[str, Any], job: str = "job-1") -> Crawler:
    """A crawler whose pipelines can be driven by hand."""
    crawler = get_crawler(Spider, settings)
    crawler.spider = Spider(name="test")
    crawler.spider.job_id = job  # type: ignore[attr-defined]
    crawler._apply_settings()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    return crawler


def run_pipelines(
    settings: dict[str, Any], records: list[FAIR4MLRecord], job: str = "job-1", hook: Any = None
) -> dict[str, Any]:
    """Push records through JSON store → Neo4j → Elasticsearch; return the stats.

    ``hook(index, pipelines)`` (a coroutine function) runs before each item when given.
    """
    crawler = make_crawler(settings, job)
    pipes: list[Any] = [JsonStorePipeline.from_crawler(crawler)]
    if settings.get("NEO4J_URI"):
        pipes.append(Neo4jPipeline.from_crawler(crawler))
    if settings.get("ELASTICSEARCH_URL"):
        pipes.append(ElasticsearchPipeline.from_crawler(crawler))

    async def go() -> None:
        for pipe in pipes:
            result = pipe.open_spider()
            if asyncio.iscoroutine(result):
                await result
        for index, rec in enumerate(records):
            if hook is not None:
                await hook(index, pipes)
            item: Any = NormalizedItem(rec)
            for pipe in pipes:
                item = await pipe.process_item(item)
        for pipe in pipes:
            result = pipe.close_spider()
            if asyncio.iscoroutine(result):
                await result

    asyncio.run(go())
    assert crawler.stats is not None
    return crawler.stats.get_stats()


# --------------------------------------------------------------------------- subprocesses


def scrapy(args: list[str], env: dict[str, str], timeout: float = 240) -> tuple[int, str]:
    """Run ``scrapy <args>`` in the project folder; return (exit code, combined output)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "ELASTIC"))}
    full_env |= {"PYTHONUNBUFFERED": "1", "AUTOTHROTTLE_ENABLED": "0"} | env
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def stats_of(log: str) -> dict[str, int]:
    """The integer stats of the ``Dumping Scrapy stats`` block of a crawl log."""
    block = log.split("Dumping Scrapy stats:", 1)[-1]
    return {k: int(v) for k, v in re.findall(r"'([^']+)': (\d+)[,}]", block)}


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a store; ``stop()`` is an outage, ``start()`` the recovery.

    Stopping closes the listener and every open connection, so clients see what they would
    see when the server process goes away (refused/reset connections).
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
