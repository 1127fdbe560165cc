"""The bioimage.io normalizer and index reading over every real sample in ``../shared``.

Inputs (read in place, never copied into the project), under ``fixtures/bioimageio``:

* ``legacy_collection/rdfs/**/rdf.yaml`` (formats 0.3.6-0.4.8), each with its real
  ``collection.json`` entry (matched by ``rdf_source``) as the payload;
* ``spec_examples/**/*.yaml`` (format 0.5 and 0.4.9, one invalid), each with a minimal index
  entry ``{"id": "bioimage-io/<folder>"}`` (the examples carry no id);
* ``collection_index/reports/**/summary.json``: ``rdf_content`` dumped back to YAML, with the
  matching ``index.json`` entry as the payload;
* every entry of the legacy ``collection.json`` with an unavailable rdf.yaml (HTTP 404), so the
  entry itself is the description (the fallback path);
* the real 0.4/0.5 files among the anchor fixtures (``playground/AI4Life/output/*.yaml``);
* ``collection_index/index.json`` through the spider's ``parse_index`` (selection by type).

Only :class:`NormalizationError` may be raised (skipped types, unusable input); a record
validates when it survives a JSON round trip and a Turtle round trip. The share, the
per-property coverage of the primary nodes and the normalizer throughput are printed
(``pytest -s``) and written to ``tests/realdata/_reports/bioimageio_coverage.txt``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rdflib import Graph
from realdata_support import field_coverage, note_counts
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.items.rdf import record_to_turtle
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.bioimageio import normalize
from mlentory_crawl.spiders.bioimageio import BioImageIOSpider

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MLENTORY_SHARED_DIR", REPO.parent / "shared"))
BIO = SHARED / "fixtures" / "bioimageio"
ANCHOR = SHARED / "fixtures" / "anchor" / "mlentory-etl-pipeline" / "playground" / "AI4Life"
REPORT = Path(__file__).resolve().parent / "_reports" / "bioimageio_coverage.txt"
LEGACY_BASE = "https://bioimage-io.github.io/collection-bioimage-io/"
HYPHA = "https://hypha.aicell.io"
MIN_VALID_SHARE = 0.95
TARGET_NORMALIZATIONS = 3000


@dataclass
class Sample:
    """One normalizer input and where it came from."""

    label: str
    group: str
    raw: RawRecord


@dataclass
class Outcome:
    """What happened to one sample."""

    sample: Sample
    record: FAIR4MLRecord | None = None
    rejected: str | None = None
    problem: str | None = None


def _raw(
    source_id: str, payload: Any, rdf_url: str, text: str | None, status: int = 200
) -> RawRecord:
    return RawRecord(
        source="bioimageio",
        source_id=source_id,
        url="https://bioimage.io/#/artifacts/" + source_id.rsplit("/", 1)[-1],
        api_url=f"{HYPHA}/public/services/artifact-manager/list",
        retrieved_at="2026-05-20T04:00:00Z",
        payload=payload,
        kind=str((payload or {}).get("type") or "model"),
        attachments={"rdf": Attachment(url=rdf_url, status=status, text=text)},
        job_id="realdata",
    )


def collect_samples() -> list[Sample]:
    """Every real sample of the shared fixtures, as RawRecords."""
    samples: list[Sample] = []
    legacy = json.loads((BIO / "legacy_collection" / "collection.json").read_text("utf-8"))
    entries = legacy.get("collection", [])
    by_source = {e.get("rdf_source"): e for e in entries if isinstance(e, dict)}
    for path in sorted((BIO / "legacy_collection" / "rdfs").rglob("rdf.yaml")):
        url = LEGACY_BASE + path.relative_to(BIO / "legacy_collection").as_posix()
        entry = by_source.get(url, {})
        text = path.read_text(encoding="utf-8")
        samples.append(
            Sample(
                str(path.relative_to(BIO)),
                "legacy rdf.yaml",
                _raw(str(entry.get("id", url)), entry, url, text),
            )
        )
    for path in sorted((BIO / "spec_examples").rglob("*.yaml")):
        alias = path.parent.name
        url = f"{HYPHA}/bioimage-io/artifacts/{alias}/files/rdf.yaml?version=v0"
        payload = {"id": f"bioimage-io/{alias}"}
        samples.append(
            Sample(
                str(path.relative_to(BIO)),
                "spec example",
                _raw(payload["id"], payload, url, path.read_text("utf-8")),
            )
        )
    index = json.loads((BIO / "collection_index" / "index.json").read_text("utf-8"))
    index_by_id = {item["id"]: item for item in index["items"]}
    for path in sorted((BIO / "collection_index" / "reports").rglob("summary.json")):
        summary = json.loads(path.read_text("utf-8"))
        artifact = "/".join(path.relative_to(BIO / "collection_index" / "reports").parts[:2])
        entry = index_by_id.get(artifact, {"id": artifact})
        versions = entry.get("versions") or [{}]
        url = versions[-1].get("source") or f"{HYPHA}/{artifact}/files/rdf.yaml"
        text = yaml.safe_dump(summary["rdf_content"], allow_unicode=True, sort_keys=False)
        samples.append(
            Sample(
                str(path.relative_to(BIO)), "index + summary rdf", _raw(artifact, entry, url, text)
            )
        )
    for entry in entries:
        url = str(entry.get("rdf_source") or LEGACY_BASE)
        samples.append(
            Sample(
                f"collection.json:{entry.get('id')}",
                "legacy entry, rdf 404",
                _raw(str(entry.get("id")), entry, url, None, 404),
            )
        )
    for path in sorted(ANCHOR.rglob("*.yaml")) if ANCHOR.is_dir() else []:
        url = f"{HYPHA}/bioimage-io/artifacts/{path.stem}/files/rdf.yaml?version=v0"
        samples.append(
            Sample(
                f"anchor/{path.name}",
                "anchor rdf.yaml",
                _raw(path.stem, {}, url, path.read_text("utf-8")),
            )
        )
    return samples


def run(sample: Sample, minter: Minter) -> Outcome:
    """Normalize one sample and round-trip the record through JSON and Turtle."""
    try:
        record = normalize(sample.raw, minter)
    except NormalizationError as exc:
        return Outcome(sample, rejected=str(exc))
    except Exception:  # noqa: BLE001 - reported as a failure of the suite below
        return Outcome(sample, problem=traceback.format_exc(limit=3))
    try:
        FAIR4MLRecord.model_validate(json.loads(record.model_dump_json(by_alias=True)))
        Graph().parse(data=record_to_turtle(record, minter.base), format="turtle")
    except Exception as exc:  # noqa: BLE001
        return Outcome(sample, record=record, problem=f"round trip: {exc}")
    return Outcome(sample, record=record)


def coverage(outcomes: list[Outcome], type_name: str) -> list[tuple[str, int, int]]:
    """(property, records with it, records) over the primary nodes of one type."""
    primaries = [
        o.record.primary for o in outcomes if o.record and o.record.primary.type_name == type_name
    ]
    if not primaries:
        return []
    return [(f, n, len(primaries)) for f, n in field_coverage(type(primaries[0]), primaries)]


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    if not BIO.is_dir():
        pytest.skip("../shared not found: real-data suite skipped")
    return collect_samples()


def test_real_samples_normalize_without_crashing(samples: list[Sample]) -> None:
    minter = Minter()
    outcomes = [run(s, minter) for s in samples]
    crashed = [o for o in outcomes if o.problem]
    assert not crashed, "\n".join(f"{o.sample.label}: {o.problem}" for o in crashed)

    records = [o for o in outcomes if o.record]
    rejected = [o for o in outcomes if o.rejected]
    skipped = [o for o in rejected if o.rejected and o.rejected.startswith("skipped:")]
    usable = len(outcomes) - len(skipped)
    share = len(records) / usable if usable else 0.0
    lines = [
        f"bioimage.io real-data suite: {len(samples)} samples from {BIO}",
        f"records: {len(records)}; skipped types: {len(skipped)}; other rejections: "
        f"{len(rejected) - len(skipped)}; validating share of model/dataset inputs: {share:.1%}",
    ]
    for group, count in Counter(o.sample.group for o in outcomes).items():
        ok = sum(1 for o in outcomes if o.sample.group == group and o.record)
        lines.append(f"  {group}: {ok}/{count} records")
    for reason, count in Counter(o.rejected for o in rejected).most_common(8):
        lines.append(f"  rejected x{count}: {reason}")
    from_yaml = [o for o in outcomes if o.sample.group != "legacy entry, rdf 404"]
    for type_name, subset, where in (
        ("MLModel", from_yaml, "built from real rdf.yaml files"),
        ("MLModel", outcomes, "all"),
        ("Dataset", outcomes, "all"),
    ):
        rows = coverage(subset, type_name)
        if rows:
            lines.append(f"field coverage of {rows[0][2]} {type_name} primaries ({where}):")
            lines += [
                f"  {name:<26} {have:>4}/{total:<4} {have / total:6.1%}"
                for name, have, total in rows
                if have
            ]
            lines.append("  (never present: " + ", ".join(n for n, h, _ in rows if not h) + ")")
    notes = note_counts(o.record for o in records)
    lines.append("notes: " + ", ".join(f"{n} x{c}" for n, c in notes.most_common()))

    loops = max(1, TARGET_NORMALIZATIONS // max(1, len(samples)))
    started = time.perf_counter()
    for _ in range(loops):
        for sample in samples:
            with contextlib.suppress(NormalizationError):
                normalize(sample.raw, minter)
    elapsed = time.perf_counter() - started
    rate = loops * len(samples) / elapsed
    lines.append(
        f"throughput: {loops * len(samples)} normalizations in {elapsed:.2f}s"
        f" = {rate:,.0f} records/s"
    )
    text = "\n".join(lines)
    print("\n" + text)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text + "\n", encoding="utf-8")

    assert share >= MIN_VALID_SHARE
    must = [
        o
        for o in outcomes
        if o.sample.group in ("legacy rdf.yaml", "spec example", "anchor rdf.yaml")
    ]
    assert all(o.record for o in must), [o.sample.label for o in must if not o.record]


def test_real_models_map_key_fields(samples: list[Sample]) -> None:
    minter = Minter()
    by_label = {s.label: s for s in samples}
    shark = normalize(
        by_label["legacy_collection/rdfs/10.5281/zenodo.5764892/6647674/rdf.yaml"].raw, minter
    )
    assert shark.primaryTopic == "https://bioimage.io/#/artifacts/affable-shark"
    assert "10.5281/zenodo.5764892" in shark.primary.identifier
    assert shark.primary.trainedOn == [
        "https://bioimage.io/#/artifacts/ilastik/stradist_dsb_training_data"
    ]
    glio = normalize(
        by_label[
            "legacy_collection/rdfs/deepimagej/UNet2DGlioblastomaSegmentation/latest/rdf.yaml"
        ].raw,
        minter,
    )
    assert glio.primary.license == ["https://spdx.org/licenses/BSD-2-Clause"]  # "BSD-2"
    jones = normalize(
        by_label["legacy_collection/rdfs/deepimagej/JonesVirtualStaining/latest/rdf.yaml"].raw,
        minter,
    )
    assert jones.primary.license == ["https://spdx.org/licenses/CC-BY-4.0"]  # "CC BY 4.0"
    summary = next(s for s in samples if "affable-shark/v0/summary.json" in s.label)
    current = normalize(summary.raw, minter)
    assert current.primaryTopic == shark.primaryTopic  # legacy and current descriptions: one IRI
    assert current.primary.mlTask == [minter.task("bioimageio", "instance-segmentation")]


def test_spider_selects_real_index_entries_by_type() -> None:
    index = BIO / "collection_index" / "index.json"
    if not index.is_file():
        pytest.skip("../shared not found: real-data suite skipped")
    counts = json.loads(index.read_text("utf-8"))["count_per_type"]
    for types, expected in (
        ("model", counts["model"]),
        ("model,dataset", counts["model"] + counts["dataset"]),
    ):
        crawler = get_crawler(BioImageIOSpider, {"BIOIMAGEIO_ENDPOINT": HYPHA})
        spider = BioImageIOSpider.from_crawler(crawler, types=types)
        request = spider.index_request(0)
        response = TextResponse(
            request.url, body=index.read_bytes(), encoding="utf-8", request=request
        )
        out = list(spider.parse_index(response, **request.cb_kwargs))
        assert len(out) == expected  # one rdf.yaml request each; index.json is a single page
        assert all(r.url.startswith(f"{HYPHA}/bioimage-io/artifacts/") for r in out)
