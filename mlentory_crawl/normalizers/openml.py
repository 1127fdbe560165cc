"""OpenML → FAIR4ML: flows are the models, runs their evaluations (docs/sources/openml.md).

One :class:`RawRecord` per OpenML entity, selected by ``raw.kind``:

* ``flow`` (``GET /json/flow/{id}``, or a flow-list row) → primary ``fair4ml:MLModel`` at
  ``https://www.openml.org/f/{id}``: a flow is the model specification (algorithm or pipeline
  with its hyper-parameters) that OpenML runs train and evaluate. Components (sub-flows) become
  their own ``MLModel`` nodes linked by ``schema:isBasedOn``.
* ``run`` (a run-list row with its evaluation-list rows and task-list row, or a whole
  ``GET /json/run/{id}`` document) → primary ``fair4ml:MLModelEvaluation`` (see
  :mod:`.openml_run`), attached to the flow by ``hasEvaluation``/``evaluatedMLModel``.
* ``task`` → the concrete OpenML task as a ``DefinedTerm`` (see :mod:`.openml_run`).
* ``dataset`` (``GET /json/data/{id}`` or a data-list row) → ``schema:Dataset`` (see
  :mod:`.openml_dataset`).

Pure function of the payload: no Scrapy, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import DataDownload, FAIR4MLRecord, MLModel, PropertyValue
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import (
    as_list,
    as_str,
    dict_list,
    parse_datetime,
    safe_iri,
    unique,
)
from mlentory_crawl.normalizers.openml_common import (
    MAX_NAME,
    PROGRAMMING_LANGUAGES,
    add_license,
    add_people,
    add_tags,
    add_user,
    entity_id,
    entity_iri,
    fragment_iri,
    language_codes,
    site_of,
    text,
    unwrap,
)
from mlentory_crawl.normalizers.openml_dataset import normalize_dataset
from mlentory_crawl.normalizers.openml_run import normalize_run, normalize_task

SPIDER = "openml"
MAX_COMPONENT_DEPTH = 8
MAX_PARAMETERS = 500
MAX_REQUIREMENTS = 100
_REQUIREMENT = re.compile(r"^[A-Za-z0-9_.\-]+\s*(==|>=|<=|~=|!=|<|>|=)\s*\S+$")


def normalize(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """Normalize one OpenML record (flow, run, task or dataset) into FAIR4ML.

    Raises:
        NormalizationError: unknown kind, error JSON, or no usable id.
    """
    kind = raw.kind
    if kind in ("flow", "model"):
        return normalize_flow(raw, minter)
    if kind == "run":
        return normalize_run(raw, minter)
    if kind == "task":
        return normalize_task(raw, minter)
    if kind in ("dataset", "data"):
        return normalize_dataset(raw, minter)
    raise NormalizationError(f"unknown OpenML record kind {kind!r}")


def normalize_flow(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """A flow document (or list row) → record whose primary is the flow's ``MLModel``."""
    flow = unwrap(raw.payload, "flow")
    builder = RecordBuilder(raw, minter)
    model = flow_model(builder, flow, site_of(raw.url), depth=0)
    if model is None:
        raise NormalizationError(f"flow has no positive integer id: {str(flow.get('id'))[:80]!r}")
    return builder.build(model, spider=SPIDER)


def flow_model(
    builder: RecordBuilder, flow: dict[str, Any], site: str, depth: int
) -> MLModel | None:
    """The ``MLModel`` of one flow (sub-flows added to the builder); ``None`` without an id."""
    number = entity_id(flow.get("id"))
    if number is None:
        return None
    iri = entity_iri(site, "f", number)
    name = text(flow.get("name"), MAX_NAME)
    version = as_str(flow.get("version"))
    full_name = text(flow.get("full_name"), MAX_NAME)
    if full_name is None and name is not None and version is not None:
        full_name = f"{name}({version})"  # the form runs and evaluations quote
    if name is None:
        builder.note("field/name/missing")
    class_name = text(flow.get("class_name"), MAX_NAME)
    model = MLModel(
        id=iri,
        url=iri,
        identifier=[str(number)],
        name=name or full_name or f"OpenML flow {number}",
        alternateName=unique([text(flow.get("custom_name"), MAX_NAME), full_name]),
        version=version,
        description=_description(flow),
        dateCreated=parse_datetime(flow.get("upload_date")),
        author=add_people(builder, flow.get("creator")),
        contributor=add_people(builder, flow.get("contributor")),
        sharedBy=add_user(builder, site, flow.get("uploader")),
        license=add_license(builder, flow.get("licence") or flow.get("license")),
        inLanguage=language_codes(builder, flow.get("language")),
        keywords=add_tags(builder, [*as_list(flow.get("tag")), *as_list(flow.get("tags"))]),
        modelCategory=[class_name or name] if (class_name or name) else [],
        usageInstructions=text(flow.get("installation_notes")),
        softwareRequirements=_requirements(flow),
        distribution=_downloads(builder, flow),
        hyperParameter=_parameters(builder, iri, flow.get("parameter")),
    )
    if depth < MAX_COMPONENT_DEPTH:
        for component in dict_list(flow.get("component")):
            sub = component.get("flow")
            if not isinstance(sub, dict):
                continue
            child = flow_model(builder, sub, site, depth + 1)
            if child is not None and child.id != iri:
                builder.add(child)
                model.isBasedOn.append(child.id)
    elif flow.get("component"):
        builder.note("field/isBasedOn/too_deep")
    return model


def _description(flow: dict[str, Any]) -> str | None:
    """``full_description`` when it says more than ``description``, else ``description``."""
    short, full = text(flow.get("description")), text(flow.get("full_description"))
    if full and (short is None or (len(full) > len(short) and short in full)):
        return full
    if short and full and full != short:
        return f"{short}\n\n{full}"
    return short or full


def _requirements(flow: dict[str, Any]) -> list[str]:
    """``dependencies`` lines, ``external_version`` parts and a programming ``language``."""
    out: list[str] = []
    dependencies = text(flow.get("dependencies"))
    if dependencies:
        for line in re.split(r"[\r\n]+", dependencies):
            parts = [p.strip() for p in line.split(",") if p.strip()]
            if len(parts) > 1 and all(_REQUIREMENT.match(p) for p in parts):
                out.extend(parts)
            elif line.strip():
                out.append(line.strip())
    external = text(flow.get("external_version"))
    if external:
        out.extend(p.strip() for p in external.split(",") if p.strip())
    language = as_str(flow.get("language"))
    if language and language.lower() in PROGRAMMING_LANGUAGES:
        out.append(PROGRAMMING_LANGUAGES[language.lower()])
    return unique(out)[:MAX_REQUIREMENTS]


def _downloads(builder: RecordBuilder, flow: dict[str, Any]) -> list[str]:
    """``source_url``/``binary_url`` as ``DataDownload`` nodes (linked, never fetched)."""
    iris: list[str] = []
    for role in ("source", "binary"):
        url = safe_iri(flow.get(f"{role}_url"))
        if url is None:
            continue
        builder.add(
            DataDownload(
                id=url,
                name=f"{role} of the flow",
                contentUrl=url,
                encodingFormat=text(flow.get(f"{role}_format"), 100),
            )
        )
        iris.append(url)
    return iris


def _parameters(builder: RecordBuilder, flow_iri: str, value: Any) -> list[str]:
    """Hyper-parameters as ``PropertyValue`` nodes ``<flow>#parameter-<name>`` (default value)."""
    iris: list[str] = []
    parameters = dict_list(value)
    if len(parameters) > MAX_PARAMETERS:
        builder.note("field/hyperParameter/truncated")
    for parameter in parameters[:MAX_PARAMETERS]:
        name = text(parameter.get("name"), 300)
        if name is None:
            continue
        data_type = text(parameter.get("data_type"), 100)
        description = text(parameter.get("description"))
        if data_type:
            description = (
                f"{description} (data type: {data_type})"
                if description
                else (f"Data type: {data_type}")
            )
        iri = fragment_iri(flow_iri, f"parameter-{name}")
        builder.add(
            PropertyValue(
                id=iri,
                name=name,
                propertyID=name,
                value=as_str(parameter.get("default_value")),
                description=description,
            )
        )
        iris.append(iri)
    return iris
