"""PapersWithCode ``evaluation-tables``: tasks with their benchmark datasets, and models.

The dump is a tree (task → datasets → ``sota.rows``, ``subtasks`` recursive, subdatasets
with rows of their own). The spider walks one top-level tree at a time and emits two kinds of
record, whose payloads are envelopes around untouched parts of the tree:

* ``task``: ``{"task": <task object without datasets/subtasks>, "parents": [names],
  "datasets": [<its dataset objects without rows>]}``: the task term, plus its benchmark
  datasets as referenced nodes (description, links, citations);
* ``model``: ``{"model_name", "paper_url", "results": [{"task": name, "dataset": name,
  "dataset_links": [...], "subdataset": name or null, "metrics": [metric names of the table],
  "row": <the row>}, ...]}``: every leaderboard row of one ``paper_url|model_name``, gathered
  over the whole dump, so each model node has exactly one record (its owner in the stores).

A model is an ``MLModel`` (PwC has no model entity; IRI
``<base>model/pwc/<sha1(paper_url|model_name)>``, fair4ml.md §12) with ``mlTask``,
``evaluatedOn``, ``referencePublication``, ``codeRepository`` (``code_links``) and ``sameAs``
(``model_links``: a Hub link joins the Hub model), plus one ``MLModelEvaluation`` per row whose
IRI hashes model, task, dataset, subdataset, date and metric values (two distinct rows never
collide; an unchanged row always gets the same IRI). Metric values become ``PropertyValue``-s
at ``<evaluation>#<metric>``: numbers as numbers, ``"91.2%"`` as 91.2 with ``unitText "%"``,
``"85.3 ± 0.2"`` as 85.3 with the original text as description, anything else as the text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlentory_crawl.identity import path_segment, slug
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    Dataset,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    MLModelEvaluation,
    PropertyValue,
)
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_list,
    as_str,
    dict_list,
    parse_datetime,
    parse_number,
    safe_iri,
    str_list,
    unique,
)
from mlentory_crawl.normalizers.pwc_refs import (
    MAX_LIST,
    hf_dataset_node,
    hf_dataset_of,
    long_text,
    model_link,
    name_dataset,
    paper_ref,
    pwc_page,
    repo_iri,
    task_term,
    text,
)

MAX_METRICS = 100
MAX_RESULTS = 5000
_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)")
_NO_VALUE = frozenset({"-", "\u2014", "\u2013", "n/a", "na", "none", "null", "?", ""})


def normalize_task(builder: RecordBuilder, data: dict[str, Any]) -> FAIR4MLRecord:
    """A task of the tree → its ``DefinedTerm``, with its benchmark datasets as nodes."""
    task = as_dict(data.get("task"))
    iri = task_term(builder, task.get("task"))
    if iri is None:
        raise NormalizationError("evaluation-table task without a name")
    link = as_dict(task.get("source_link"))
    term = DefinedTerm(
        id=iri,
        description=long_text(builder, task.get("description"), "description"),
        alternateName=[s for s in str_list(task.get("synonyms"))[:MAX_LIST] if len(s) <= 300],
        url=pwc_page(link.get("url"), "task"),
    )
    builder.add(term)
    for dataset in as_list(data.get("datasets"))[:MAX_LIST]:
        if not isinstance(dataset, dict) or text(dataset.get("dataset"), 300) is None:
            builder.note("field/dataset/invalid")
            continue
        _benchmark(builder, iri, dataset)
    return builder.build(builder.get(iri) or term)


def benchmark_dataset(builder: RecordBuilder, name: str, links: Any) -> str:
    """The dataset of a leaderboard: its PwC page when linked, else the name-minted IRI.

    A Hub dataset among the links is added and made ``sameAs``.
    """
    urls = [link.get("url") for link in dict_list(links)[:MAX_LIST]]
    page = next((p for p in (pwc_page(u, "dataset") for u in urls) if p), None)
    iri = page or name_dataset(builder, name)
    same = [hf_dataset_node(builder, hub) for hub in unique(map(hf_dataset_of, urls))]
    builder.add(Dataset(id=iri, name=name, sameAs=same))
    return iri


def _benchmark(builder: RecordBuilder, task: str, dataset: dict[str, Any]) -> None:
    """A dataset of a task's leaderboards: description, homepage, citations, task."""
    iri = benchmark_dataset(
        builder, str(text(dataset.get("dataset"), 300)), dataset.get("dataset_links")
    )
    links = [safe_iri(link.get("url")) for link in dict_list(dataset.get("dataset_links"))]
    homepage = next((u for u in links if u and u != iri and "huggingface.co/" not in u), None)
    citations = [
        paper_ref(builder, title=c.get("title"), paper_url=c.get("url"))
        for c in dict_list(dataset.get("dataset_citations"))[:MAX_LIST]
    ]
    builder.add(
        Dataset(
            id=iri,
            description=long_text(builder, dataset.get("description"), "description"),
            url=homepage,
            citation=unique(citations),
            about=[task],
        )
    )


def metric_value(value: Any) -> tuple[float | int | str, str | None, str | None] | None:
    """``(value, unitText, original text)`` of a leaderboard cell; ``None`` for no value."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    number = parse_number(value)
    if not isinstance(value, str):
        return (number, None, None) if number is not None else None
    original = value.strip()
    if original.lower() in _NO_VALUE or len(original) > 200:
        return None
    if number is not None:
        percent = original.endswith("%")
        plain = original.rstrip("%").strip().replace(",", "")
        keep = None if plain == str(number) or re.fullmatch(r"[+-]?[\d.]+", plain) else original
        return number, "%" if percent else None, keep
    match = _LEADING_NUMBER.match(original)
    if match:
        lead = parse_number(match.group(1))
        unit = "%" if re.match(r"^\s*[+-]?[\d.]+\s*%", original) else None
        if lead is not None:
            return lead, unit, original
    return original, None, original


def normalize_model(builder: RecordBuilder, data: dict[str, Any]) -> FAIR4MLRecord:
    """All leaderboard rows of one model → ``MLModel`` + one evaluation per row."""
    results = [r for r in as_list(data.get("results")) if isinstance(r, dict)]
    if not results:
        raise NormalizationError("model record without results")
    model_name = text(data.get("model_name"), 300)
    if model_name is None:
        raise NormalizationError("evaluation-table row without model_name")
    paper_url = as_str(data.get("paper_url")) or ""
    model = MLModel(id=builder.minter.model("pwc", f"{paper_url}|{model_name}"), name=model_name)
    links = _Links()
    for result in results[:MAX_RESULTS]:
        if text(result.get("dataset"), 300) is None:
            builder.note("field/evaluationDataset/missing")
            continue
        _result(builder, model, result, links)
    if not model.hasEvaluation:
        raise NormalizationError("model record without a usable result")
    if len(results) > MAX_RESULTS:
        builder.note("field/hasEvaluation/truncated")
    if not model.referencePublication:
        builder.note("field/referencePublication/missing")
    model.codeRepository = links.code[:MAX_LIST]
    model.sameAs = [s for s in links.same if s != model.id][:MAX_LIST]
    return builder.build(model)


class _Links:
    """Code and model links gathered over a model's rows."""

    def __init__(self) -> None:
        self.code: list[str] = []
        self.same: list[str] = []


def _result(builder: RecordBuilder, model: MLModel, data: dict[str, Any], links: _Links) -> None:
    row = as_dict(data.get("row"))
    dataset_name = str(text(data.get("dataset"), 300))
    task_name = text(data.get("task"), 300)
    subdataset = text(data.get("subdataset"), 300)
    task = task_term(builder, task_name)
    dataset = benchmark_dataset(builder, dataset_name, data.get("dataset_links"))
    paper = paper_ref(builder, title=row.get("paper_title"), paper_url=row.get("paper_url"))
    metrics = _metrics(row.get("metrics"), data.get("metrics"))
    key = json.dumps(
        [model.id, "pwc-sota", task_name, dataset, subdataset, as_str(row.get("paper_date")),
         [[k, v if isinstance(v, int | float | str) else None] for k, v in metrics]],
        ensure_ascii=False,
    )  # fmt: skip
    evaluation_iri = builder.minter.evaluation(key)
    extra = row.get("uses_additional_data")
    where = f"{dataset_name} / {subdataset}" if subdataset else dataset_name
    builder.add(
        MLModelEvaluation(
            id=evaluation_iri,
            name=f"{model.name} on {where}" + (f" ({task_name})" if task_name else ""),
            description=(
                f"Uses additional training data: {'yes' if extra else 'no'}"
                if isinstance(extra, bool)
                else None
            ),
            evaluatedMLModel=[model.id],
            evaluationDataset=[dataset],
            evaluationMetrics=[name for name, _ in metrics],
            evaluationResults=_results(builder, evaluation_iri, metrics),
            about=[task] if task else [],
            referencePublication=[paper] if paper else [],
            datePublished=parse_datetime(row.get("paper_date")),
        )
    )
    for name, value in (
        ("hasEvaluation", evaluation_iri), ("mlTask", task), ("evaluatedOn", dataset),
        ("referencePublication", paper),
    ):  # fmt: skip
        held = getattr(model, name)
        if value and value not in held:
            held.append(value)
    for link in dict_list(row.get("code_links"))[:MAX_LIST]:
        if (code := repo_iri(link.get("url"))) and code not in links.code:
            links.code.append(code)
    for link in dict_list(row.get("model_links"))[:MAX_LIST]:
        if (same := model_link(builder, link.get("url"))) and same not in links.same:
            links.same.append(same)


def _metrics(values: Any, names: Any) -> list[tuple[str, Any]]:
    """The row's ``metrics`` as ``(name, value)`` in the table's metric order, then the rest."""
    cells = as_dict(values)
    order = [n for n in str_list(names) if n in cells] + [k for k in cells if isinstance(k, str)]
    out: list[tuple[str, Any]] = []
    for name in unique(order)[:MAX_METRICS]:
        label = name.strip()
        if label and len(label) <= 200:
            out.append((label, cells[name]))
    return out


def _results(builder: RecordBuilder, evaluation: str, metrics: list[tuple[str, Any]]) -> list[str]:
    iris: list[str] = []
    for name, raw in metrics:
        parsed = metric_value(raw)
        if parsed is None:
            if raw is not None and not isinstance(raw, str):
                builder.note("field/evaluationResults/unusable")
            continue
        value, unit, original = parsed
        if isinstance(value, str):
            builder.note("field/evaluationResults/not_numeric")
        iri = f"{evaluation}#{path_segment(slug(name))}"
        if iri in iris:
            continue
        builder.add(
            PropertyValue(
                id=iri, propertyID=name, name=name, value=value, unitText=unit,
                description=original,
            )
        )  # fmt: skip
        iris.append(iri)
    return iris
