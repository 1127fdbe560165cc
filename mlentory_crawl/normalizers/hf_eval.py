"""Hugging Face evaluation results → ``fair4ml:MLModelEvaluation`` nodes (fair4ml.md §13.4).

Two input formats:

* ``model-index`` (Papers-with-Code style, in the card front matter and as a top-level API
  field): one evaluation per ``results[]`` entry, IRI ``minter.evaluation(key)`` with key
  ``<model IRI>|hf-model-index|<dataset.type>|<dataset.config>|<dataset.split>|<task.type>|``
  ``<source.url>`` (the §10 key; missing parts are empty strings).
* ``evalResults`` (``.eval_results/*.yaml``, exposed by ``expand=evalResults``): one evaluation
  per entry, key ``<model IRI>|hf-eval-results|<dataset.id>|<task_id>|<revision>|<notes>|``
  ``<source.url>``.

Each metric becomes a ``PropertyValue`` at ``<evaluation IRI>#<metric slug>`` (numeric ``value``
when it parses, else the original text). Model-level links: an evaluation dataset that is also
a training dataset goes to ``testedOn`` (split ``test*``) or ``validatedOn`` (``val*``/``dev*``)
with ``extrinsicEvaluation false``; every other evaluation dataset goes to ``evaluatedOn`` and
``extrinsicEvaluation`` stays unset (a different dataset id does not prove unseen data).
``verified``/``verifyToken`` have no FAIR4ML term and are not mapped (the raw store keeps them).

This module also holds the Hub reference helpers shared with :mod:`.huggingface`
(:func:`task_ref`, :func:`dataset_ref`), so both modules mint tasks and datasets alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlentory_crawl.identity import clean_hf_ref, hf_dataset_iri, is_hf_repo_id, slug
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import Dataset, DefinedTerm, MLModelEvaluation, PropertyValue
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_list,
    as_str,
    dict_list,
    parse_datetime,
    parse_number,
    safe_iri,
)

HF_TASKS = "https://huggingface.co/tasks"
#: Hub task ids that have a page under https://huggingface.co/tasks (``/api/tasks`` + hf_tasks.csv).
_KNOWN_TASK_IDS = """
    any-to-any audio-classification audio-text-to-text audio-to-audio automatic-speech-recognition
    depth-estimation document-question-answering feature-extraction fill-mask image-classification
    image-feature-extraction image-segmentation image-text-to-text image-to-3d image-to-image
    image-to-text image-to-video keypoint-detection mask-generation object-detection
    question-answering reinforcement-learning sentence-similarity summarization
    table-question-answering tabular-classification tabular-regression text-classification
    text-generation text-ranking text-to-3d text-to-image text-to-speech text-to-video
    token-classification translation unconditional-image-generation video-classification
    video-text-to-text video-to-video visual-document-retrieval visual-question-answering
    zero-shot-classification zero-shot-image-classification zero-shot-object-detection
"""
KNOWN_TASKS = frozenset(_KNOWN_TASK_IDS.split())
#: Pipeline tags the Hub used or still uses without a task page.
LEGACY_TASKS = frozenset(
    {
        "text2text-generation", "text-to-audio", "voice-activity-detection",
        "time-series-forecasting", "graph-ml", "robotics",
    }
)  # fmt: skip
_TASK_WORDS = {"3d": "3D", "qa": "QA"}
#: ``dataset.type`` values that name no dataset (the result then gets a minted dataset node).
_NO_DATASET = frozenset({"unknown", "none", "null", "n/a", "na", "other", "custom", "-"})


def task_name(code: str) -> str:
    """A display name from a task id: ``question-answering`` → ``Question Answering``."""
    words = code.replace("_", "-").split("-")
    return " ".join(_TASK_WORDS.get(w.lower(), w[:1].upper() + w[1:]) for w in words if w)


def task_ref(builder: RecordBuilder, value: Any) -> str | None:
    """Add the ``DefinedTerm`` of an HF task id and return its IRI (``None`` for non-text)."""
    code = as_str(value)
    if code is None or len(code) > 100:
        return None
    iri = builder.minter.task("hf", code)
    builder.add(
        DefinedTerm(
            id=iri,
            name=task_name(code),
            termCode=code,
            inDefinedTermSet=HF_TASKS,
            url=f"{HF_TASKS}/{code}" if code in KNOWN_TASKS else None,
        )
    )
    return iri


def dataset_ref(builder: RecordBuilder, ref: Any, name: Any = None) -> str | None:
    """Add a ``Dataset`` node for a Hub dataset id, or a minted one for free text.

    Args:
        builder: the record builder.
        ref: a Hub dataset id (``squad_v2``, ``org/name``, a Hub dataset URL) or free text.
        name: a display name used when ``ref`` is not a Hub id (or missing).

    Returns:
        The dataset IRI, or ``None`` when neither ``ref`` nor ``name`` is usable text.
    """
    text, label = as_str(ref), as_str(name)
    if text is not None and is_hf_repo_id(clean_hf_ref(text, kind="datasets")):
        hub_id = clean_hf_ref(text, kind="datasets")
        iri = hf_dataset_iri(hub_id)
        builder.add(Dataset(id=iri, name=hub_id, url=iri, identifier=[hub_id]))
        return iri
    label = label or text
    if label is None or len(label) > 300:
        return None
    iri = builder.minter.dataset("hf", label)
    builder.add(Dataset(id=iri, name=label))
    return iri


@dataclass
class EvaluationLinks:
    """What the evaluations contribute to the model node."""

    evaluations: list[str] = field(default_factory=list)
    tested_on: list[str] = field(default_factory=list)
    validated_on: list[str] = field(default_factory=list)
    evaluated_on: list[str] = field(default_factory=list)

    def _add(self, bucket: list[str], iri: str) -> None:
        if iri not in bucket:
            bucket.append(iri)


class EvaluationMapper:
    """Maps ``model-index`` and ``evalResults`` of one model into evaluation nodes."""

    def __init__(self, builder: RecordBuilder, model_iri: str, training: list[str]) -> None:
        self.builder = builder
        self.model_iri = model_iri
        self.training = set(training)
        self.links = EvaluationLinks()

    def model_index(self, value: Any) -> None:
        """Map a ``model-index`` value (a list of ``{name, results}``; other shapes tolerated)."""
        if value is not None and not isinstance(value, list | dict):
            self.builder.note("field/model-index/invalid")
        for entry in dict_list(value):
            for result in as_list(entry.get("results")):
                if isinstance(result, dict):
                    self._model_index_result(result)
                else:
                    self.builder.note("field/model-index/invalid")

    def _model_index_result(self, result: dict[str, Any]) -> None:
        task, dataset = as_dict(result.get("task")), as_dict(result.get("dataset"))
        source = as_dict(result.get("source"))
        metrics = dict_list(result.get("metrics"))
        task_type, ds_type = as_str(task.get("type")), as_str(dataset.get("type"))
        hub_type = ds_type if ds_type and ds_type.lower() not in _NO_DATASET else None
        ds_name, config = as_str(dataset.get("name")), as_str(dataset.get("config"))
        split, revision = as_str(dataset.get("split")), as_str(dataset.get("revision"))
        src_url, src_name = as_str(source.get("url")), as_str(source.get("name"))
        if not metrics and ds_type is None and ds_name is None:
            self.builder.note("field/model-index/invalid")
            return
        parts = [ds_type, config, split, task_type, src_url]
        key = "|".join([self.model_iri, "hf-model-index", *(p or "" for p in parts)])
        iri = self.builder.minter.evaluation(key)
        ds_iri = None
        if hub_type is not None and is_hf_repo_id(hub_type):
            ds_iri = dataset_ref(self.builder, hub_type)
        elif ds_name or hub_type:
            ds_iri = dataset_ref(self.builder, None, ds_name or hub_type)
        else:
            self.builder.note("evaluation/dataset/missing")
        task_label = as_str(task.get("name")) or (task_name(task_type) if task_type else None)
        details = [f"{k} {v}" for k, v in (("config", config), ("split", split)) if v]
        ds_label = ds_name or ds_type
        name = f"{task_label or 'Evaluation'}" + (f" on {ds_label}" if ds_label else "")
        name += f" ({', '.join(details)})" if details else ""
        about = [t for t in [task_ref(self.builder, task_type)] if t]
        self._evaluation(
            iri,
            name=name,
            description=_describe(
                task_label,
                ds_label,
                config,
                split,
                revision,
                dataset.get("args"),
                src_name,
                src_url,
            ),
            dataset=ds_iri,
            split=split,
            about=about,
            url=safe_iri(src_url),
            metrics=[(as_str(m.get("type")) or as_str(m.get("name")), m) for m in metrics],
        )

    def eval_results(self, value: Any) -> None:
        """Map an ``evalResults`` value (entries, or ``{filename, data}`` wrappers)."""
        if value is not None and not isinstance(value, list | dict):
            self.builder.note("field/evalResults/invalid")
        for item in dict_list(value):
            data = as_dict(item.get("data")) or item
            dataset = as_dict(data.get("dataset"))
            ds_id, task_id = as_str(dataset.get("id")), as_str(dataset.get("task_id"))
            if ds_id is None or "value" not in data:
                self.builder.note("field/evalResults/invalid")
                continue
            source = as_dict(data.get("source"))
            src_url, notes = as_str(source.get("url")), as_str(data.get("notes"))
            revision = as_str(dataset.get("revision"))
            parts = [ds_id, task_id, revision, notes, src_url]
            key = "|".join([self.model_iri, "hf-eval-results", *(p or "" for p in parts)])
            parts = [notes, f"Source: {as_str(source.get('name')) or src_url}" if src_url else None]
            self._evaluation(
                self.builder.minter.evaluation(key),
                name=f"{task_id or 'Evaluation'} on {ds_id}",
                description="; ".join(p for p in parts if p) or None,
                dataset=dataset_ref(self.builder, ds_id),
                split=None,
                about=[],
                url=safe_iri(src_url),
                metrics=[(task_id or "value", {"value": data.get("value")})],
                date=data.get("date"),
            )

    def _evaluation(
        self,
        iri: str,
        *,
        name: str,
        description: str | None,
        dataset: str | None,
        split: str | None,
        about: list[str],
        url: str | None,
        metrics: list[tuple[str | None, dict[str, Any]]],
        date: Any = None,
    ) -> None:
        results: list[str] = []
        types: list[str] = []
        for mtype, metric in metrics:
            if mtype is None:
                continue
            fragment, n = slug(mtype), 1
            while f"{iri}#{fragment}" in results:
                n += 1
                fragment = f"{slug(mtype)}-{n}"
            result_iri = f"{iri}#{fragment}"
            raw_value = metric.get("value")
            number = parse_number(raw_value)
            percent = isinstance(raw_value, str) and raw_value.strip().endswith("%")
            self.builder.add(
                PropertyValue(
                    id=result_iri,
                    propertyID=mtype,
                    name=as_str(metric.get("name")),
                    value=number if number is not None else as_str(raw_value),
                    unitText="%" if percent and number is not None else None,
                )
            )
            results.append(result_iri)
            types.append(mtype)
        extrinsic: bool | None = None
        if dataset is not None:
            lowered = (split or "").lower()
            if dataset in self.training and lowered.startswith("test"):
                self.links._add(self.links.tested_on, dataset)
                extrinsic = False
            elif dataset in self.training and lowered.startswith(("val", "dev")):
                self.links._add(self.links.validated_on, dataset)
                extrinsic = False
            else:
                self.links._add(self.links.evaluated_on, dataset)
        self.builder.add(
            MLModelEvaluation(
                id=iri,
                name=name,
                description=description,
                url=url,
                evaluatedMLModel=[self.model_iri],
                evaluationDataset=[dataset] if dataset else [],
                evaluationMetrics=types,
                evaluationResults=results,
                extrinsicEvaluation=extrinsic,
                about=about,
                dateCreated=parse_datetime(date),
            )
        )
        self.links._add(self.links.evaluations, iri)


def _describe(
    task: str | None,
    dataset: str | None,
    config: str | None,
    split: str | None,
    revision: str | None,
    args: Any,
    source_name: str | None,
    source_url: str | None,
) -> str:
    parts = ["Hugging Face model-index result"]
    if task:
        parts.append(f"task: {task}")
    if dataset:
        parts.append(f"dataset: {dataset}")
    parts += [
        f"{k}: {v}" for k, v in (("config", config), ("split", split), ("revision", revision)) if v
    ]
    if isinstance(args, dict) and args:
        shown = ", ".join(f"{k}={v}" for k, v in list(args.items())[:20] if as_str(v) is not None)
        if shown:
            parts.append(f"args: {shown}")
    elif as_str(args):
        parts.append(f"args: {as_str(args)}")
    if source_name or source_url:
        parts.append(f"source: {source_name or source_url}")
    return "; ".join(parts)
