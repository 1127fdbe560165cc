"""Normalization + persistence throughput of the file pipelines, on synthetic HF records.

Pushes N synthetic Hugging Face list entries (with model cards) through the real pipeline
objects — raw store → normalize → JSON store → Turtle store — and prints records/second for
each stage and for the whole chain, measured in one run.

    python benchmarks/bench_files.py [--records 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scrapy import Spider
from scrapy.utils.test import get_crawler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hf_synthetic import payload

from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.pipelines.json_store import JsonStorePipeline
from mlentory_crawl.pipelines.normalize import NormalizePipeline
from mlentory_crawl.pipelines.raw_store import RawStorePipeline
from mlentory_crawl.pipelines.turtle_store import TurtleStorePipeline


def records(n: int) -> list[RawRecord]:
    """N synthetic raw records shaped like the HF spider's output."""
    rng = random.Random(42)
    out = []
    for i in range(n):
        body, card = payload(i, rng)
        mid = body["id"]
        out.append(
            RawRecord(
                source="huggingface",
                source_id=mid,
                url=f"https://huggingface.co/{mid}",
                api_url="https://huggingface.co/api/models?limit=500&expand[]=author",
                retrieved_at="2026-01-01T00:00:00Z",
                payload=body,
                attachments={
                    "card": Attachment(
                        f"https://huggingface.co/{mid}/raw/main/README.md", 200, card
                    )
                },
                job_id="bench",
            )
        )
    return out


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=3000)
    args = parser.parse_args()
    raws = records(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        crawler = get_crawler(Spider, {"DATA_DIR": tmp, "STORE_PART_RECORDS": "1000"})
        crawler.spider = Spider(name="bench")
        crawler.spider.job_id = "bench"  # type: ignore[attr-defined]
        crawler._apply_settings()
        assert crawler.stats is not None
        crawler.stats.open_spider()
        stages: list[Any] = [
            RawStorePipeline.from_crawler(crawler),
            NormalizePipeline.from_crawler(crawler),
            JsonStorePipeline.from_crawler(crawler),
            TurtleStorePipeline.from_crawler(crawler),
        ]
        stages[2].open_spider()
        spent = [0.0] * len(stages)

        async def run() -> None:
            for raw in raws:
                item: Any = raw
                for k, stage in enumerate(stages):
                    t0 = time.perf_counter()
                    item = await stage.process_item(item)
                    spent[k] += time.perf_counter() - t0

        start = time.perf_counter()
        asyncio.run(run())
        total = time.perf_counter() - start
        for stage in stages:
            stage.close_spider()
        size = sum(p.stat().st_size for p in Path(tmp).rglob("part-*"))
        n = len(raws)
        print(f"records: {n}  (synthetic HF list entries with model cards)")
        for stage, secs in zip(stages, spent, strict=True):
            print(f"  {type(stage).__name__:<22} {n / secs:10.0f} records/s")
        print(f"  {'normalize+persist total':<22} {n / total:10.0f} records/s")
        print(f"files written: {size / 1e6:.1f} MB; peak RSS {peak_rss_mb():.0f} MB")


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
