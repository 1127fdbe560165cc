"""Throughput of the Neo4j and Elasticsearch pipelines on a synthetic FAIR4ML corpus.

Pushes ``--count`` (default 50,000) Hugging Face-shaped model records, each with ~15 nodes and
~20 relationships (datasets, licence, task, keywords, organisation, paper, base model,
languages, an evaluation with two metrics, a file), through the real pipelines
(``Neo4jPipeline``, ``ElasticsearchPipeline``) the way Scrapy drives them (up to 100 items in
flight), and prints records/second for each store, the rate of a naive baseline measured in
the same run (one transaction / one index request per record: batch size 1), the ratio, and
the peak RSS of the pipeline process at several corpus sizes.

Record generation (Pydantic validation) is timed apart and excluded from the rates; records
are generated in chunks, so memory reflects the pipeline, not the corpus.

    bash scripts/services.sh up neo4j es
    python benchmarks/bench_stores.py [--count 50000] [--naive 500]

Everything the benchmark writes lives under ``https://bench.example.org/`` (Neo4j) and the
``bench-models`` alias (Elasticsearch), and is deleted before each run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BASE = "https://bench.example.org/"
NEO4J_URI = os.environ.get("MLENTORY_TEST_NEO4J_URI") or "bolt://127.0.0.1:7687"
ES_URL = os.environ.get("MLENTORY_TEST_ELASTICSEARCH_URL") or "http://127.0.0.1:9200"
ALIAS = "bench-models"
CHUNK = 1000
CHECKPOINTS = (10_000, 25_000, 50_000)


def records(start: int, count: int) -> Iterator[Any]:
    """Synthetic model records ``start .. start+count-1`` (deterministic)."""
    from mlentory_crawl.identity import Minter
    from mlentory_crawl.items import Dataset, MLModel, RawRecord, ScholarlyArticle
    from mlentory_crawl.items.builder import RecordBuilder
    from mlentory_crawl.items.fair4ml import (
        CreativeWork,
        DataDownload,
        DefinedTerm,
        MLModelEvaluation,
        Organization,
        PropertyValue,
    )

    minter = Minter(BASE)
    licences = [
        "Apache-2.0",
        "MIT",
        "CC-BY-4.0",
        "CC-BY-NC-4.0",
        "GPL-3.0",
        "BSD-3-Clause",
        "OpenRAIL",
    ]
    tasks = [
        "text-generation",
        "text-classification",
        "translation",
        "summarization",
        "question-answering",
        "image-classification",
        "automatic-speech-recognition",
        "token-classification",
        "fill-mask",
        "feature-extraction",
        "object-detection",
        "text-to-image",
    ]
    langs = ["en", "de", "fr", "es", "zh", "ja", "sv", "mi", "nl", "it", "pt", "ru"]
    for i in range(start, start + count):
        model_id = f"lab{i % 1000}/model-{i}"
        iri = f"{BASE}hf/{model_id}"
        raw = RawRecord(
            "huggingface", model_id, iri, iri, "2026-01-01T00:00:00Z", {}, job_id="bench"
        )
        b = RecordBuilder(raw, minter)
        ds = [f"{BASE}hf/datasets/org{(i * k) % 2000}/corpus" for k in (3, 7)]
        for d in ds:
            b.add(Dataset(id=d, name=d.rsplit("/", 2)[-2]))
        lic = licences[i % len(licences)]
        b.add(CreativeWork(id=f"https://spdx.org/licenses/{lic}", name=lic, identifier=[lic]))
        task = tasks[i % len(tasks)]
        task_iri = minter.task("hf", task)
        b.add(DefinedTerm(id=task_iri, name=task, termCode=task))
        kws = [minter.keyword(f"tag-{(i * k) % 200}") for k in (1, 3, 5, 11)]
        for kw in kws:
            b.add(DefinedTerm(id=kw, name=kw.rsplit("/", 1)[-1]))
        org = f"{BASE}hf/lab{i % 1000}"
        b.add(Organization(id=org, name=f"lab{i % 1000}"))
        paper = f"https://arxiv.org/abs/2401.{i % 5000:05d}"
        b.add(ScholarlyArticle(id=paper, name=f"Paper {i % 5000}"))
        ev = minter.evaluation(f"{iri}|{ds[0]}")
        for metric, value in (("accuracy", 0.5 + i % 50 / 100), ("f1", 0.4 + i % 60 / 100)):
            b.add(PropertyValue(id=f"{ev}#{metric}", propertyID=metric, value=value))
        b.add(
            MLModelEvaluation(
                id=ev,
                name=f"{model_id} on {ds[0]}",
                evaluatedMLModel=[iri],
                evaluationDataset=[ds[0]],
                evaluationResults=[f"{ev}#accuracy", f"{ev}#f1"],
            )
        )
        weights = f"{iri}/resolve/main/model.safetensors"
        b.add(
            DataDownload(
                id=weights,
                name="model.safetensors",
                contentUrl=weights,
                encodingFormat="safetensors",
                contentSize=i * 1000,
            )
        )
        base = [f"{BASE}hf/lab{(i // 2) % 1000}/model-{i // 2}"] if i else []
        model = MLModel(
            id=iri,
            name=model_id,
            description=f"Model {i}: a {task} model. " * 4,
            url=iri,
            identifier=[model_id],
            trainedOn=ds,
            license=[f"https://spdx.org/licenses/{lic}"],
            mlTask=[task_iri],
            keywords=kws,
            sharedBy=[org],
            citation=[paper],
            fineTunedFrom=base,
            baseModelFinetune=base,
            inLanguage=[langs[i % 12], langs[(i + 5) % 12]],
            hasEvaluation=[ev],
            distribution=[weights],
            softwareRequirements=["transformers"],
            downloads=i * 13 % 100_000,
            likes=i % 500,
            parameterCount=7_000_000_000,
            dateCreated="2024-03-01T10:00:00Z",
            dateModified="2025-06-01T10:00:00Z",
            intendedUse="Research on " + task,
            modelCategory=["llama"],
        )
        yield b.build(model)


#: How to find each server's process on this machine (``scripts/services.sh`` starts them).
SERVER_PATTERNS = {"neo4j": "Neo4jRunner", "es": "org.elasticsearch.bootstrap.Elasticsearch"}


def server_pid(store: str) -> int | None:
    """The local server process of ``store`` (``None`` when not found, e.g. in Docker)."""
    out = subprocess.run(
        ["pgrep", "-f", SERVER_PATTERNS[store]], capture_output=True, text=True, check=False
    )
    pids = out.stdout.split()
    return int(pids[0]) if pids else None


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 when unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss() -> tuple[int, int]:
    """(current, peak) resident set size in MB, from /proc."""
    fields = dict(
        line.split(":", 1)
        for line in Path("/proc/self/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


async def push(store: str, count: int, batch: int, pid: int | None) -> dict[str, Any]:
    """Run ``count`` records through one store pipeline; return rates and RSS checkpoints."""
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from mlentory_crawl.items import NormalizedItem
    from mlentory_crawl.pipelines.es_index import ElasticsearchPipeline
    from mlentory_crawl.pipelines.neo4j_upsert import Neo4jPipeline

    settings: dict[str, Any] = {
        "DATA_DIR": "/tmp/mlentory-bench",
        "MLENTORY_BASE_IRI": BASE,
        "LOG_LEVEL": "WARNING",
    }
    if store == "neo4j":
        settings |= {"NEO4J_URI": NEO4J_URI, "NEO4J_BATCH_SIZE": batch, "NEO4J_FLUSH_INTERVAL": 600}
        cls: Any = Neo4jPipeline
    else:
        settings |= {
            "ELASTICSEARCH_URL": ES_URL,
            "ELASTICSEARCH_INDEX": ALIAS,
            "ELASTICSEARCH_BATCH_SIZE": batch,
            "ELASTICSEARCH_FLUSH_INTERVAL": 600,
        }
        cls = ElasticsearchPipeline
    crawler = get_crawler(Spider, settings)
    crawler.spider = Spider(name="bench")
    crawler._apply_settings()
    crawler.stats.open_spider()
    pipe = cls.from_crawler(crawler)
    await pipe.open_spider()
    gate = asyncio.Semaphore(100)  # Scrapy's CONCURRENT_ITEMS

    async def one(item: Any) -> None:
        async with gate:
            await pipe.process_item(item)

    spent = generated = client_cpu = server_cpu = 0.0
    checkpoints: dict[int, tuple[int, int]] = {}
    done = 0
    while done < count:
        t0 = time.perf_counter()
        chunk = [NormalizedItem(r) for r in records(done, min(CHUNK, count - done))]
        t1, c1, s1 = time.perf_counter(), time.process_time(), cpu_seconds(pid)
        await asyncio.gather(*(one(item) for item in chunk))
        spent += time.perf_counter() - t1
        client_cpu += time.process_time() - c1
        server_cpu += cpu_seconds(pid) - s1
        generated += t1 - t0
        done += len(chunk)
        del chunk
        for mark in CHECKPOINTS:
            if done == mark:
                checkpoints[mark] = rss()
    t1, c1, s1 = time.perf_counter(), time.process_time(), cpu_seconds(pid)
    await pipe.close_spider()
    spent += time.perf_counter() - t1
    client_cpu += time.process_time() - c1
    server_cpu += cpu_seconds(pid) - s1
    stats = crawler.stats.get_stats()
    written = int(stats.get("neo4j/records_upserted", stats.get("es/docs_indexed", 0)) or 0)
    errors = {k: v for k, v in stats.items() if "/errors/" in k or k.endswith("records_unsent")}
    return {
        "store": store,
        "count": count,
        "batch": batch,
        "written": written,
        "seconds": spent,
        "rate": written / spent,
        "generation_s": generated,
        "client_cpu_s": client_cpu,
        "server_cpu_s": server_cpu if pid is not None else None,
        "rows": int(stats.get("neo4j/rows_upserted", 0) or 0),
        "rss": checkpoints,
        "final_rss": rss(),
        "errors": errors,
    }


def reset(store: str) -> None:
    """Delete what a previous run wrote (bench IRIs in Neo4j, or the bench alias in ES)."""
    if store == "es":
        reset_es()
        return
    from neo4j import GraphDatabase

    mine = (
        "n.iri STARTS WITH $base OR n.iri STARTS WITH 'https://spdx.org/' "
        "OR n.iri STARTS WITH 'https://arxiv.org/abs/2401.'"
    )
    with GraphDatabase.driver(NEO4J_URI) as driver, driver.session() as session:
        # Relationships first, in small transactions: dense nodes (a licence with 50,000
        # relationships) would otherwise not fit the server's transaction memory.
        for query in (
            f"MATCH (n)-[r]-() WHERE {mine} CALL (r) {{ DELETE r }} IN TRANSACTIONS OF 5000 ROWS",
            f"MATCH (n) WHERE {mine} CALL (n) {{ DELETE n }} IN TRANSACTIONS OF 5000 ROWS",
            "MATCH (n:Record) WHERE n.iri STARTS WITH $base "
            "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS",
        ):
            session.run(query, base=BASE).consume()


def reset_es() -> None:
    """Delete the indices behind the bench alias."""
    try:
        with urllib.request.urlopen(f"{ES_URL}/_cat/indices/{ALIAS}-*?format=json") as resp:
            indices = [i["index"] for i in json.loads(resp.read())]
    except OSError:
        indices = []
    for index in indices:
        urllib.request.urlopen(urllib.request.Request(f"{ES_URL}/{index}", method="DELETE"))


def child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh process (so its peak RSS is its own)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_cpu(run: dict[str, Any], unit: str) -> None:
    """Where the CPU went: per record in the client and the server, and the rate that CPU
    budget allows on this machine's cores (a ceiling: it assumes both stay fully busy)."""
    n = run["written"] or 1
    client = run["client_cpu_s"] / n * 1000
    line = f"  CPU per record: client {client:.2f} ms"
    if run.get("rows"):
        line += f" ({run['rows'] / n:.1f} graph rows per model)"
    if run["server_cpu_s"] is not None:
        server = run["server_cpu_s"] / n * 1000
        ceiling = (os.cpu_count() or 1) * 1000 / (client + server)
        line += (
            f", server {server:.2f} ms -> CPU-bound ceiling on {os.cpu_count()} cores "
            f"~{ceiling:,.0f} {unit}/s"
        )
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--naive", type=int, default=500, help="records for the naive baseline")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", choices=("neo4j", "es"), help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=("neo4j", "es"), help="measure one store (default: both)")
    opts = parser.parse_args()
    if opts.child:
        result = asyncio.run(push(opts.store, opts.count, opts.batch, opts.server_pid))
        print(json.dumps(result))
        return
    print(
        f"corpus: {opts.count:,} synthetic HF model records (~15 nodes, ~20 relationships each); "
        f"{os.cpu_count()} CPUs; Neo4j {NEO4J_URI}, Elasticsearch {ES_URL}"
    )
    for store in (opts.only,) if opts.only else ("neo4j", "es"):
        reset(store)
        pid = server_pid(store)
        common = ["--store", store] + (["--server-pid", str(pid)] if pid else [])
        fast = child([*common, "--count", str(opts.count), "--batch", str(opts.batch)])
        reset(store)
        naive = child([*common, "--count", str(opts.naive), "--batch", "1"])
        reset(store)
        name = "Neo4j" if store == "neo4j" else "Elasticsearch"
        unit = "models" if store == "neo4j" else "documents"
        print(
            f"\n{name}: {fast['written']:,} {unit} in {fast['seconds']:.1f}s = "
            f"{fast['rate']:,.0f} {unit}/s (batch {opts.batch}; record generation "
            f"{fast['generation_s']:.1f}s excluded)"
        )
        print(
            f"  naive baseline (batch 1, one {'transaction' if store == 'neo4j' else 'request'} "
            f"per record): {naive['written']:,} in {naive['seconds']:.1f}s = "
            f"{naive['rate']:,.1f} {unit}/s"
        )
        print(f"  speed-up: {fast['rate'] / naive['rate']:,.1f}x")
        marks = ", ".join(
            f"{n:,}: {peak} MB"
            for n, (_cur, peak) in sorted((int(k), v) for k, v in fast["rss"].items())
        )
        print(f"  peak RSS at corpus size -> {marks} (final RSS {fast['final_rss'][0]} MB)")
        print_cpu(fast, unit)
        if fast["errors"] or naive["errors"]:
            print(f"  errors: {fast['errors'] or naive['errors']}")


if __name__ == "__main__":
    main()
