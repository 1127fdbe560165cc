"""The PapersWithCode streaming reader and normalizer over every real sample in ``../shared``.

Inputs (read in place, never copied into the project), from ``fixtures/paperswithcode/``:

* ``dumps/methods.json.gz``: a real methods dump (June 2022, 1,924 records), streamed through
  :class:`~mlentory_crawl.streaming.DumpReader` in small pieces;
* ``dumps/evaluation-tables_format/*.json``: real leaderboards in the evaluation-tables task
  format (top-level arrays or a single task object), flattened and regrouped exactly as the
  spider does (task records; one model record per ``paper_url|model_name``).
  ``example_json_format.json`` is invalid JSON upstream: it must be reported as a malformed
  dump, not raise;
* ``legacy_api_v1/*.json``: pages of the dead REST API. Their paper and method objects carry
  the dump fields (``id`` is the page slug, ``published`` the date), so they are mapped onto
  the dump shape; result objects name neither task nor dataset, so they are expected to be
  rejected with a reason.

Nothing may raise. The share that validates (JSON round trip + Turtle parse), the per-property
coverage of the primary entities and the normalizer's records/second are printed
(``pytest -s``) and written to ``tests/realdata/_reports/paperswithcode_coverage.txt``.
``MLENTORY_SHARED_DIR`` points at the shared folder (default ``<repo>/../shared``).
"""

from __future__ import annotations

import gzip
import json
import os
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.items.rdf import record_to_turtle
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.paperswithcode import normalize
from mlentory_crawl.spiders.pwc_dumps import model_record, records_of
from mlentory_crawl.streaming import DumpFormatError, DumpReader

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MLENTORY_SHARED_DIR", REPO.parent / "shared"))
PWC_DIR = SHARED / "fixtures" / "paperswithcode"
REPORT = Path(__file__).resolve().parent / "_reports" / "paperswithcode_coverage.txt"
MINTER = Minter()
PWC = "https://paperswithcode.com"


@dataclass
class Sample:
    """One record made from a real file."""

    origin: str
    raw: RawRecord


def raw(origin: str, kind: str, source_id: str, payload: Any) -> Sample:
    return Sample(
        origin,
        RawRecord(
            source="paperswithcode",
            source_id=source_id,
            url=PWC,
            api_url=f"file:///shared/fixtures/paperswithcode/{origin}",
            retrieved_at="2025-07-25T00:00:00Z",
            payload=payload,
            kind=kind,
            job_id="realdata",
        ),
    )


def stream(path: Path, piece: int = 65536) -> Iterator[Any]:
    """The top-level elements of a dump file, read incrementally (as the spider does)."""
    reader = DumpReader()
    with path.open("rb") as fh:
        while True:
            batch = reader.next_batch(100)
            yield from batch
            if batch:
                continue
            if reader.done:
                return
            data = fh.read(piece)
            if data:
                reader.push(data)
            else:
                reader.finish()


def dump_samples(origin: str, dump: str, path: Path) -> Iterator[Sample]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for index, element in enumerate(stream(path)):
        for kind, source_id, _url, payload in records_of(dump, element, index):
            if kind == "row":
                groups[source_id].append(payload)
            else:
                yield raw(origin, kind, source_id, payload)
    for key in sorted(groups):
        kind, source_id, _url, payload = model_record(key, groups[key])
        yield raw(origin, kind, source_id, payload)


def legacy_samples() -> Iterator[Sample]:
    folder = PWC_DIR / "legacy_api_v1"
    for path in sorted(folder.glob("*.json")):
        origin = f"legacy_api_v1/{path.name}"
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data.get("results") if "results" in data else [data]
        for item in items or []:
            if "methodology" in item:  # a result: no task, no dataset
                row = {
                    "model_name": item.get("methodology"),
                    "paper_url": f"{PWC}/paper/{item.get('paper')}",
                    "paper_date": item.get("evaluated_on"),
                    "metrics": item.get("metrics"),
                    "uses_additional_data": item.get("uses_additional_data"),
                }
                payload = {"model_name": row["model_name"], "paper_url": row["paper_url"],
                           "results": [{"task": None, "dataset": None, "row": row}]}  # fmt: skip
                yield raw(origin, "model", str(item.get("id")), payload)
            elif "full_name" in item:  # a method
                yield raw(
                    origin, "method", item["id"], {**item, "url": f"{PWC}/method/{item['id']}"}
                )
            elif "title" in item:  # a paper
                paper = {
                    **item,
                    "paper_url": f"{PWC}/paper/{item['id']}",
                    "date": item.get("published"),
                }
                yield raw(origin, "paper", item["id"], paper)


@dataclass
class Outcome:
    sample: Sample
    record: FAIR4MLRecord | None = None
    rejected: str | None = None


@pytest.fixture(scope="module")
def outcomes() -> tuple[list[Outcome], dict[str, str]]:
    if not SHARED.is_dir():
        pytest.skip("../shared not found: real-data suite skipped")
    malformed: dict[str, str] = {}
    samples: list[Sample] = list(dump_samples("dumps/methods.json.gz", "methods",
                                              PWC_DIR / "dumps" / "methods.json.gz"))  # fmt: skip
    for path in sorted((PWC_DIR / "dumps" / "evaluation-tables_format").glob("*.json")):
        origin = f"dumps/evaluation-tables_format/{path.name}"
        try:
            samples += list(dump_samples(origin, "evaluation-tables", path))
        except DumpFormatError as exc:
            malformed[origin] = str(exc)
    samples += list(legacy_samples())
    results: list[Outcome] = []
    for sample in samples:
        try:
            record = normalize(sample.raw, MINTER)
        except NormalizationError as exc:
            results.append(Outcome(sample, rejected=str(exc)))
            continue
        except Exception:  # noqa: BLE001 - reported below with the sample that caused it
            pytest.fail(f"{sample.origin} {sample.raw.source_id}: {traceback.format_exc()}")
        FAIR4MLRecord.model_validate_json(record.model_dump_json(by_alias=True))
        Graph().parse(data=record_to_turtle(record), format="turtle")
        results.append(Outcome(sample, record=record))
    return results, malformed


def test_every_real_sample_normalizes_or_is_rejected_with_a_reason(
    outcomes: tuple[list[Outcome], dict[str, str]],
) -> None:
    results, malformed = outcomes
    lines: list[str] = ["PapersWithCode real-data run", ""]
    by_origin: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in results:
        by_origin[outcome.sample.origin]["valid" if outcome.record else "rejected"] += 1
    for origin, counts in sorted(by_origin.items()):
        total = counts["valid"] + counts["rejected"]
        lines.append(f"{origin:58} {counts['valid']:5}/{total:<5} valid")
    for origin, reason in malformed.items():
        lines.append(f"{origin:58} malformed dump: {reason}")
    valid = [o for o in results if o.record is not None]
    share = len(valid) / len(results)
    lines += ["", f"valid: {len(valid)}/{len(results)} = {share:.1%}", "", "rejections:"]
    for reason, count in Counter(o.rejected for o in results if o.rejected).most_common():
        lines.append(f"  {count:5}  {reason}")
    lines += ["", "coverage of the primary entity (share of records with the property):"]
    by_type: dict[str, list[FAIR4MLRecord]] = defaultdict(list)
    for outcome in valid:
        assert outcome.record is not None
        by_type[outcome.record.primary.type_name].append(outcome.record)
    for type_name, records in sorted(by_type.items()):
        lines.append(f"  {type_name} ({len(records)} records)")
        fields = [f for f in type(records[0].primary).model_fields if f not in ("id", "type")]
        for name in fields:
            present = sum(1 for r in records if getattr(r.primary, name) not in (None, [], ""))
            if present:
                lines.append(f"    {name:24} {present / len(records):6.1%}")
    notes = Counter(n for o in valid if o.record for n in o.record.provenance.notes)
    lines += ["", "data-quality notes:"] + [f"  {c:5}  {n}" for n, c in notes.most_common()]
    report = "\n".join(lines)
    print("\n" + report)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report + "\n", encoding="utf-8")
    assert set(malformed) == {"dumps/evaluation-tables_format/example_json_format.json"}
    assert share >= 0.95
    assert by_origin["dumps/methods.json.gz"]["valid"] == 1924
    legacy = [o for o in results if o.sample.origin.endswith("paper_result_list.json")]
    assert legacy and all(o.rejected for o in legacy)  # no task, no dataset: rejected, not raised


def test_real_leaderboards_give_models_with_evaluations(
    outcomes: tuple[list[Outcome], dict[str, str]],
) -> None:
    results, _ = outcomes
    models = [o.record for o in results if o.record and o.sample.raw.kind == "model"]
    assert len(models) > 500
    evaluations = sum(len(m.primary.hasEvaluation) for m in models)  # type: ignore[attr-defined]
    assert evaluations >= len(models)
    squad = [o for o in results if o.sample.origin.endswith("squad.json") and o.record]
    assert squad


def test_streaming_the_real_methods_dump_matches_json_load() -> None:
    path = PWC_DIR / "dumps" / "methods.json.gz"
    if not path.is_file():
        pytest.skip("../shared not found: real-data suite skipped")
    expected = json.loads(gzip.decompress(path.read_bytes()))
    for piece in (1000, 65536):
        assert list(stream(path, piece)) == expected


def test_normalizer_throughput(outcomes: tuple[list[Outcome], dict[str, str]]) -> None:
    results, _ = outcomes
    raws = [o.sample.raw for o in results if o.record is not None]
    target = max(3000, len(raws))
    done = 0
    start = time.perf_counter()
    while done < target:
        for item in raws:
            normalize(item, MINTER)
            done += 1
            if done >= target:
                break
    elapsed = time.perf_counter() - start
    rate = done / elapsed
    line = f"normalizer: {done} records in {elapsed:.2f} s = {rate:,.0f} records/s"
    print("\n" + line)
    with REPORT.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    assert rate > 100
