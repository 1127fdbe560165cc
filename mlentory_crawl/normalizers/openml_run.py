"""OpenML runs → ``fair4ml:MLModelEvaluation``; OpenML tasks → ``DefinedTerm`` (see openml.py).

A run applies one flow (with one hyper-parameter setup) to one task, i.e. to one dataset with
one estimation procedure, and OpenML computes its scores. The run becomes the evaluation of
the flow's ``MLModel``:

* evaluation ``@id`` = the run page ``https://www.openml.org/r/{run_id}``;
  ``evaluatedMLModel`` = the flow, and the flow gets ``hasEvaluation``, ``evaluatedOn`` (the
  task's dataset) and ``mlTask`` (the task type) — a partial ``MLModel`` node that merges with
  the flow's own record by IRI;
* ``evaluationDataset`` = the task's dataset ``https://www.openml.org/d/{did}``;
* ``evaluationMetrics`` = measure names (the task's target measure first);
  ``evaluationResults`` = one ``PropertyValue`` per aggregate measure with a numeric value, at
  ``<run>#<measure>``; per-fold values and array-only measures are left out;
* ``extrinsicEvaluation`` = false (cross-validation folds of the task's own dataset);
* ``about`` = the task-type term and the concrete task ``https://www.openml.org/t/{task_id}``.

Accepted payloads: ``{"run": <run-list row>, "evaluations": [<evaluation-list rows>],
"task": <task-list row>}`` (what the spider builds from list endpoints) and ``{"run": <GET
/json/run/{id} document>}`` (optionally with ``"task"``).
"""

from __future__ import annotations

from typing import Any

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    Dataset,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    MLModelEvaluation,
    PropertyValue,
)
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_list,
    as_str,
    dict_list,
    parse_datetime,
    parse_number,
    str_list,
    unique,
)
from mlentory_crawl.normalizers.openml_common import (
    MAX_NAME,
    add_user,
    entity_id,
    entity_iri,
    fragment_iri,
    site_of,
    task_type_term,
    text,
    unwrap,
)

SPIDER = "openml"
MAX_MEASURES = 300


def normalize_run(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """A run (+ its evaluations and task) → record whose primary is the evaluation."""
    payload = raw.payload
    run = unwrap(payload, "run")
    extra = payload if isinstance(payload, dict) and "run" in payload else {}
    task = as_dict(extra.get("task"))
    builder = RecordBuilder(raw, minter)
    site = site_of(raw.url)
    for url in str_list(extra.get("fetched"))[:10]:  # the list pages the parts came from
        if url not in builder.fetched:
            builder.fetched.append(url)

    run_id = entity_id(run.get("run_id"))
    if run_id is None:
        raise NormalizationError(f"run has no positive integer run_id: {run.get('run_id')!r}")
    rows = [
        row
        for row in dict_list(extra.get("evaluations"))
        if entity_id(row.get("run_id")) in (None, run_id)
    ]
    flow_id = entity_id(run.get("flow_id")) or _first(rows, "flow_id")
    if flow_id is None:
        raise NormalizationError(f"run {run_id} names no flow (flow_id missing or invalid)")
    run_iri = entity_iri(site, "r", run_id)
    flow_iri = entity_iri(site, "f", flow_id)
    task_id = entity_id(run.get("task_id")) or entity_id(task.get("task_id"))
    task_id = task_id or _first(rows, "task_id")

    type_iri = task_type_term(
        builder, run.get("task_type") or task.get("task_type"), task.get("task_type_id")
    )
    dataset_iri, dataset_name = _dataset(builder, site, run, task, rows)
    task_iri = None
    if task_id:
        task_type = run.get("task_type") or task.get("task_type")
        task_iri = _task_ref(builder, site, task_id, {"task_type": task_type, **task}, dataset_name)
    measure = text(run.get("task_evaluation_measure"), 200) or _task_input(
        task, "evaluation_measures"
    )
    results = _results(builder, run_iri, run, rows)
    if not results:
        builder.note("evaluation/results/missing")
    if text(run.get("error_message")) or text(run.get("error")):
        builder.note("run/error_message")
    flow_name = text(run.get("flow_name"), MAX_NAME) or _first_text(rows, "flow_name")

    builder.add(
        MLModel(
            id=flow_iri,
            hasEvaluation=[run_iri],
            evaluatedOn=[dataset_iri] if dataset_iri else [],
            mlTask=[type_iri] if type_iri else [],
        )
    )
    evaluation = MLModelEvaluation(
        id=run_iri,
        url=run_iri,
        identifier=[str(run_id)],
        name=_name(run_id, flow_name or f"flow {flow_id}", task_id, dataset_name),
        description=_describe(run, task, flow_id, task_id, measure),
        evaluatedMLModel=[flow_iri],
        evaluationDataset=[dataset_iri] if dataset_iri else [],
        evaluationMetrics=unique([measure if measure in results else None, *results]),
        evaluationResults=list(results.values()),
        extrinsicEvaluation=False,
        about=[iri for iri in (type_iri, task_iri) if iri],
        author=add_user(builder, site, run.get("uploader"), run.get("uploader_name")),
        dateCreated=parse_datetime(run.get("upload_time") or _first_text(rows, "upload_time")),
    )
    if dataset_iri is None:
        builder.note("evaluation/dataset/missing")
    return builder.build(evaluation, spider=SPIDER)


def normalize_task(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """A task (list row or ``GET /json/task/{id}``) → record whose primary is its term."""
    task = unwrap(raw.payload, "task")
    builder = RecordBuilder(raw, minter)
    site = site_of(raw.url)
    task_id = entity_id(task.get("task_id"))
    if task_id is None:
        raise NormalizationError(f"task has no positive integer task_id: {task.get('task_id')!r}")
    task_type_term(builder, task.get("task_type"), task.get("task_type_id"))
    _, dataset_name = _dataset(builder, site, {}, task, [])
    iri = _task_ref(builder, site, task_id, task, dataset_name)
    primary = builder.get(iri)
    assert isinstance(primary, DefinedTerm)
    return builder.build(primary, spider=SPIDER)


def _first(rows: list[dict[str, Any]], key: str) -> int | None:
    return next((n for row in rows if (n := entity_id(row.get(key))) is not None), None)


def _first_text(rows: list[dict[str, Any]], key: str) -> str | None:
    return next((t for row in rows if (t := text(row.get(key), MAX_NAME)) is not None), None)


def _task_input(task: dict[str, Any], name: str) -> str | None:
    """A task input: ``{"name": n, "value": v}`` (list rows) or ``{"name": n, n: {...}}``."""
    for item in dict_list(task.get("input")):
        if as_str(item.get("name")) != name:
            continue
        if "value" in item:
            return text(item.get("value"), 300)
        inner = item.get(name)
        if name == "evaluation_measures":
            return text(as_dict(inner).get("evaluation_measure"), 300)
        if name == "source_data":
            return as_str(as_dict(item.get("data_set")).get("data_set_id"))
        if name == "estimation_procedure":
            proc = as_dict(inner)
            return text(proc.get("type"), 100) or as_str(proc.get("id"))
        return text(inner, 300)
    return None


def _source_data(task: dict[str, Any]) -> dict[str, Any]:
    for item in dict_list(task.get("input")):
        if as_str(item.get("name")) == "source_data":
            return as_dict(item.get("data_set"))
    return {}


def _dataset(
    builder: RecordBuilder,
    site: str,
    run: dict[str, Any],
    task: dict[str, Any],
    rows: list[dict[str, Any]],
) -> tuple[str | None, str | None]:
    """The evaluation dataset: the run's input data, else the task's source data."""
    inputs = dict_list(as_dict(run.get("input_data")).get("dataset"))
    first = inputs[0] if inputs else {}
    did = (
        entity_id(first.get("did"))
        or entity_id(task.get("did"))
        or entity_id(_source_data(task).get("data_set_id"))
        or entity_id(_task_input(task, "source_data"))
    )
    name = (
        text(first.get("name"), MAX_NAME)
        or (text(task.get("name"), MAX_NAME) if "did" in task else None)
        or _first_text(rows, "data_name")
    )
    if len(inputs) > 1:
        builder.note("evaluation/dataset/several")
    if did is None:
        return None, name
    iri = entity_iri(site, "d", did)
    builder.add(Dataset(id=iri, url=iri, name=name, identifier=[str(did)]))
    return iri, name


def _task_ref(
    builder: RecordBuilder,
    site: str,
    task_id: int,
    task: dict[str, Any],
    dataset_name: str | None,
) -> str:
    """The concrete OpenML task as a ``DefinedTerm`` (dataset, target, procedure, measure)."""
    iri = entity_iri(site, "t", task_id)
    task_type = text(task.get("task_type"), 200)
    facts = [
        f"{label}: {value}"
        for label, value in (
            ("Task type", task_type),
            ("Dataset", dataset_name),
            (
                "Target feature",
                _task_input(task, "target_feature")
                or text(_source_data(task).get("target_feature"), 300),
            ),
            ("Estimation procedure", _task_input(task, "estimation_procedure")),
            ("Evaluation measure", _task_input(task, "evaluation_measures")),
        )
        if value
    ]
    label = f"OpenML task {task_id}: {task_type}" if task_type else None
    if label and dataset_name:
        label += f" on {dataset_name}"
    builder.add(
        DefinedTerm(
            id=iri,
            url=iri,
            name=label,
            termCode=str(task_id),
            identifier=[str(task_id)],
            description="; ".join(facts) or None,
        )
    )
    return iri


def _results(
    builder: RecordBuilder, run_iri: str, run: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, str]:
    """Aggregate measures with a numeric value → ``{measure: PropertyValue IRI}``."""
    entries = [(row.get("function"), row.get("value"), row.get("array_data")) for row in rows]
    for item in dict_list(as_dict(run.get("output_data")).get("evaluation")):
        if any(k in item for k in ("repeat", "fold", "sample")):
            continue  # per-fold values: the aggregate says it
        entries.append((item.get("name"), item.get("value"), item.get("array_data")))
    out: dict[str, str] = {}
    for raw_name, raw_value, array in entries:
        name = text(raw_name, 200)
        value = parse_number(raw_value)
        if name is None or name in out:
            continue
        if value is None:
            if as_list(raw_value) or as_str(raw_value):
                builder.note("evaluation/value/not_numeric")
            elif as_list(array):
                builder.note("evaluation/value/array_only")  # per-class data, no aggregate
            continue
        if len(out) >= MAX_MEASURES:
            builder.note("evaluation/results/truncated")
            break
        iri = fragment_iri(run_iri, name)
        builder.add(PropertyValue(id=iri, name=name, propertyID=name, value=value))
        out[name] = iri
    return out


def _name(run_id: int, flow: str, task_id: int | None, dataset: str | None) -> str:
    name = f"OpenML run {run_id}: {flow}"
    if task_id:
        name += f" on task {task_id}"
    if dataset:
        name += f" ({dataset})"
    return name


def _describe(
    run: dict[str, Any],
    task: dict[str, Any],
    flow_id: int,
    task_id: int | None,
    measure: str | None,
) -> str:
    """Facts without a FAIR4ML term: setup, procedure, target measure, run errors."""
    facts = [f"Flow {flow_id}" + (f" applied to task {task_id}" if task_id else "")]
    setup = entity_id(run.get("setup_id"))
    if setup is not None:
        facts.append(f"setup {setup}")
    procedure = _task_input(task, "estimation_procedure")
    if procedure:
        facts.append(f"estimation procedure {procedure}")
    if measure:
        facts.append(f"target measure {measure}")
    setup_string = text(run.get("setup_string"), 2000)
    if setup_string:
        facts.append(f"setup string: {setup_string}")
    error = text(run.get("error_message"), 500) or text(run.get("error"), 500)
    if error:
        facts.append(f"run error: {error}")
    return "; ".join(facts) + "."
