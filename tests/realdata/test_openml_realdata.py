"""The OpenML normalizer over every real OpenML response in ``../shared/fixtures/openml``.

Inputs (read in place, never copied into the project), one record per entity:

* ``api/v1/json/flow/{id}.json`` and the rows of ``flow/list/...`` pages → ``flow`` records;
* ``api/v1/json/data/{id}.json`` (``*__test_server`` on the test server's site) and the rows of
  ``data/list/...`` pages → ``dataset`` records;
* ``api/v1/xml/run/*.xml`` and ``xml/task/*.xml`` (converted with the server's XML-to-JSON
  rules, as the spider does when a JSON endpoint answers XML) → ``run`` / ``task`` records;
* the maintainers' example responses in ``openapi/swagger.json`` for ``flow/{id}``,
  ``run/{id}``, ``task/{id}`` and the flow, run, task and data lists (examples that are not
  JSON — abridged with ``...`` — are counted and skipped).

``data/qualities/*.json`` are not entity documents (the spider never fetches them) and are
listed as skipped. Nothing may raise except a :class:`NormalizationError` with its reason; at
least 90 % of the records must validate (JSON-LD and Turtle round trips). The validation
share, per-kind field coverage of the primary node and the normalizer's records/second are
printed (``pytest -s``) and written to ``tests/realdata/_reports/openml_coverage.txt``.

``MLENTORY_SHARED_DIR`` points at the shared folder (default ``<repo>/../shared``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from realdata_support import field_coverage, note_counts, record_problems

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import as_dict, dict_list
from mlentory_crawl.normalizers.openml import normalize
from mlentory_crawl.normalizers.openml_xml import xml_to_array

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MLENTORY_SHARED_DIR", REPO.parent / "shared"))
OPENML = SHARED / "fixtures" / "openml"
JSON_API = OPENML / "api" / "v1" / "json"
REPORT = Path(__file__).resolve().parent / "_reports" / "openml_coverage.txt"
RETRIEVED = "2025-03-21T12:00:00Z"
MIN_VALID_SHARE = 0.90
MIN_NORMALIZATIONS = 3000
LETTERS = {"flow": "f", "run": "r", "task": "t", "dataset": "d"}


@dataclass
class Outcome:
    """What happened to one input."""

    label: str
    kind: str
    record: FAIR4MLRecord | None = None
    rejected: str | None = None  # a NormalizationError (a handled outcome)
    error: str | None = None  # anything else (a failure of this suite)
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.record is not None and not self.problems


def _raw(kind: str, payload: Any, source_id: str, test_server: bool = False) -> RawRecord:
    site = "https://test.openml.org" if test_server else "https://www.openml.org"
    return RawRecord(
        source="openml",
        source_id=source_id,
        url=f"{site}/{LETTERS[kind]}/{source_id}",
        api_url=f"{site}/api/v1/json/{'data' if kind == 'dataset' else kind}/{source_id}",
        retrieved_at=RETRIEVED,
        payload=payload,
        kind=kind,
        job_id="realdata",
    )


def _rows(payload: Any, outer: str, inner: str) -> list[dict[str, Any]]:
    return dict_list(as_dict(as_dict(payload).get(outer)).get(inner))


def _file_inputs(skipped: list[str]) -> list[tuple[str, RawRecord]]:
    out: list[tuple[str, RawRecord]] = []
    for path in sorted(OPENML.rglob("*")):
        if not path.is_file() or path.suffix not in (".json", ".xml"):
            continue
        rel = path.relative_to(OPENML).as_posix()
        test_server = "__test_server" in path.stem
        number = path.stem.split("__", 1)[0]
        if rel.startswith("openapi/"):
            continue
        if "/qualities/" in rel:
            skipped.append(f"{rel}: data qualities (not an entity document)")
            continue
        if path.suffix == ".xml":
            kind = "run" if "/run/" in rel else "task"
            out.append((rel, _raw(kind, xml_to_array(path.read_bytes()), number, test_server)))
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        if rel.startswith("api/v1/json/flow/list/"):
            for row in _rows(payload, "flows", "flow"):
                out.append((f"{rel}#{row.get('id')}", _raw("flow", {"flow": row}, str(row["id"]))))
        elif rel.startswith("api/v1/json/data/list/"):
            for row in _rows(payload, "data", "dataset"):
                record = _raw("dataset", {"dataset": row}, str(row["did"]))
                out.append((f"{rel}#{row.get('did')}", record))
        elif rel.startswith("api/v1/json/flow/"):
            out.append((rel, _raw("flow", payload, number, test_server)))
        elif rel.startswith("api/v1/json/data/"):
            out.append((rel, _raw("dataset", payload, number, test_server)))
        else:
            skipped.append(f"{rel}: unknown document")
    return out


def _example(spec: dict[str, Any], path: str) -> Any:
    examples = spec["paths"][path]["get"]["responses"]["200"].get("examples") or {}
    value = examples.get("application/json")
    return json.loads(value) if isinstance(value, str) else value


def _swagger_inputs(skipped: list[str]) -> list[tuple[str, RawRecord]]:
    spec = json.loads((OPENML / "openapi" / "swagger.json").read_text(encoding="utf-8"))
    out: list[tuple[str, RawRecord]] = []
    singles = {"/flow/{id}": ("flow", "id"), "/run/{id}": ("run", "run_id"),
               "/task/{id}": ("task", "task_id"), "/data/{id}": ("dataset", "id")}  # fmt: skip
    lists = {
        "/flow/list/{filters}": ("flow", "flows", "flow", "id"),
        "/run/list/{filters}": ("run", "runs", "run", "run_id"),
        "/task/list/{filters}": ("task", "tasks", "task", "task_id"),
        "/data/list/{filters}": ("dataset", "data", "dataset", "did"),
    }
    for path in [*singles, *lists]:
        label = f"openapi/swagger.json GET {path}"
        try:
            example = _example(spec, path)
        except (ValueError, KeyError) as exc:
            skipped.append(f"{label}: example is not JSON ({type(exc).__name__})")
            continue
        if path in singles:
            kind, key = singles[path]
            inner = next(iter(as_dict(example).values()), {})
            out.append((label, _raw(kind, example, str(as_dict(inner).get(key)))))
            continue
        kind, outer, inner_key, key = lists[path]
        rows = _rows(example, outer, inner_key)
        if not rows and outer == "tasks":  # the example nests as task.task
            rows = _rows(example, "task", "task")
        for row in rows:
            payload = (
                {"run": row, "evaluations": [], "task": {}}
                if kind == "run"
                else {{"dataset": "dataset"}.get(kind, kind): row}
            )
            out.append((f"{label}#{row.get(key)}", _raw(kind, payload, str(row.get(key)))))
    return out


def _run(inputs: list[tuple[str, RawRecord]]) -> list[Outcome]:
    minter = Minter()
    outcomes = []
    for label, raw in inputs:
        outcome = Outcome(label=label, kind=raw.kind)
        try:
            outcome.record = normalize(raw, minter)
            outcome.problems = record_problems(outcome.record)
        except NormalizationError as exc:
            outcome.rejected = str(exc)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
            outcome.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        outcomes.append(outcome)
    return outcomes


def _throughput(inputs: list[tuple[str, RawRecord]]) -> tuple[int, float]:
    minter = Minter()
    raws = [raw for _, raw in inputs]
    rounds = max(1, -(-MIN_NORMALIZATIONS // max(1, len(raws))))
    done = 0
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in raws:
            with contextlib.suppress(NormalizationError):
                normalize(raw, minter)
            done += 1
    return done, done / (time.perf_counter() - started)


def _report(outcomes: list[Outcome], skipped: list[str], speed: tuple[int, float]) -> str:
    total = len(outcomes)
    valid = sum(o.valid for o in outcomes)
    lines = [
        "OpenML normalizer: real-data coverage",
        f"shared dir: {SHARED}",
        f"records: {total} "
        + "("
        + ", ".join(f"{k}: {sum(o.kind == k for o in outcomes)}" for k in LETTERS)
        + ")",
        f"validated: {valid}/{total} = {valid / total:.1%}",
        f"normalizer speed: {speed[0]} normalizations at {speed[1]:,.0f} records/second",
        "",
    ]
    lines += [f"SKIPPED {item}" for item in skipped]
    for outcome in outcomes:
        if not outcome.valid:
            reason = outcome.error or outcome.rejected or outcome.problems
            lines.append(f"NOT VALID {outcome.label}: {reason}")
    for kind in LETTERS:
        chosen = [o.record.primary for o in outcomes if o.record and o.kind == kind]
        if not chosen:
            continue
        cls = type(chosen[0])
        lines += ["", f"{cls.__name__} field coverage ({kind}: {len(chosen)} records)"]
        lines.append(f"{'field':<28} {'present':>9} {'share':>7}")
        for name, present in field_coverage(cls, chosen):
            if present:
                share = present / len(chosen)
                lines.append(f"{name:<28} {f'{present}/{len(chosen)}':>9} {share:>7.0%}")
    notes = note_counts(o.record for o in outcomes)
    if notes:
        lines += ["", "data-quality notes (records)"]
        lines += [f"{note:<40} {count:>5}" for note, count in sorted(notes.items())]
    return "\n".join(lines) + "\n"


def test_openml_normalizer_on_real_fixtures() -> None:
    if not OPENML.is_dir():
        pytest.skip("../shared not found: real-data suite skipped")
    skipped: list[str] = []
    inputs = _file_inputs(skipped) + _swagger_inputs(skipped)
    assert inputs, "no OpenML fixtures found"
    outcomes = _run(inputs)
    report = _report(outcomes, skipped, _throughput(inputs))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report, encoding="utf-8")
    print("\n" + report)
    failures = [o for o in outcomes if o.error]
    assert not failures, "\n".join(f"{o.label}: {o.error}" for o in failures)
    share = sum(o.valid for o in outcomes) / len(outcomes)
    assert share >= MIN_VALID_SHARE, f"only {share:.1%} of the real records validate"
