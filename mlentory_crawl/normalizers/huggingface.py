"""Hugging Face Hub model → FAIR4ML record (mapping: ``shared/docs/fair4ml.md`` §13.1-13.4, §14).

Input: a :class:`RawRecord` whose payload is one model object of ``/api/models`` (list page with
``expand[]``) or ``/api/models/<id>``, plus, when cards were fetched, ``attachments["card"]``
(the raw ``README.md``). Output: the model node and every node it references. Pure: no Scrapy,
no I/O; problems become provenance notes (``builder.note``), never exceptions, except for a
payload that is not an object or has no usable ``id`` (:class:`NormalizationError`).

Choices where the mapping leaves room (documented here so one hop finds them; the steps live
in :mod:`.hf_context` (inputs), :mod:`.hf_tags`, :mod:`.hf_refs` (licences, lineage, papers),
:mod:`.hf_eval` and :mod:`.hf_card`):

* **Owner type.** The model API does not say whether ``author`` is a user or an organisation.
  When the payload carries ``authorData.type`` (``org``/``user``) it decides; otherwise the owner
  is typed ``schema:Organization`` (as in fair4ml.md §10) and the note
  ``field/sharedBy/type-assumed`` records that the type was not observed.
* **Out-of-Scope Use** goes to ``intendedUse`` (after the direct/downstream uses, under its own
  heading), not to ``modelRisksBiasLimitations``: it qualifies how the model is meant to be used.
* **Description**: the "Model Description" (or Description / Summary / Overview / Model
  Details) prose without its ``- **Field:**`` list; else the body's first prose paragraph.
* **Tags** (:mod:`.hf_tags`): ``dataset:``/``base_model:``/``license:``/``arxiv:``/``doi:``
  dispatch by prefix; codes listed in ``language`` and Hub-generated ISO 639-1 tags go to
  ``inLanguage`` (a bare code the author wrote under ``tags``, like ``yi`` for Yi models, stays
  a keyword); Hub task ids go to ``mlTask``; hosting flags (``region:*``, ``deploy:*``,
  ``endpoints_compatible``…) are dropped; everything else becomes a keyword ``DefinedTerm``.
* **Evaluations** (:mod:`.hf_eval`): a dataset that is also a training set is ``testedOn`` /
  ``validatedOn`` by split with ``extrinsicEvaluation false``; others are ``evaluatedOn``.
* The card's front matter only fills keys the Hub's ``cardData`` lacks (it is parsed only when
  ``cardData`` is missing or not a mapping); the card body gives the text properties.
* **Licences** (:mod:`.hf_refs`): ``cardData.license`` and ``license:`` tags; ``other`` is
  named by ``license_name`` and linked by ``license_link`` (repo paths resolve at the revision).
* **Lineage** (:mod:`.hf_refs`) comes from ``base_model:<relation>:<id>`` tags when any
  ``base_model:`` tag exists, else from ``cardData.base_model`` + ``base_model_relation``, else
  from ``baseModels``.
* **Papers** (:mod:`.hf_refs`): every ``arxiv:``/``doi:`` tag is a ``citation``; only papers
  cited in the card's Paper/Citation sections (or its ``**Paper:**`` line) are also
  ``referencePublication``.
  ``doi:10.57967/hf/…`` is the model's own DOI (``identifier`` + ``sameAs``).
* Legacy unnamespaced dataset ids (``squad_v2``) are kept as given: canonicalising them needs a
  Hub lookup, which a pure function cannot do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mlentory_crawl.identity import HF, Minter, is_hf_repo_id, path_segment
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    DataDownload,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    Organization,
    Person,
)
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError, hf_card
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_int,
    as_str,
    as_text,
    dict_list,
    is_language_code,
    safe_iri,
    str_list,
    unique,
    weight_format,
)
from mlentory_crawl.normalizers.hf_context import Context
from mlentory_crawl.normalizers.hf_eval import EvaluationMapper, dataset_ref, task_ref
from mlentory_crawl.normalizers.hf_refs import (
    MAX_REFS,
    add_licenses,
    add_lineage,
    add_papers,
    model_ref,
)
from mlentory_crawl.normalizers.hf_tags import Tags, dispatch_tags

CREATED_FLOOR = (datetime(2022, 3, 2, 23, 29, tzinfo=UTC), datetime(2022, 3, 2, 23, 30, tzinfo=UTC))
MAX_KEYWORDS = 200
MAX_DISTRIBUTION = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def normalize(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """Normalise one Hub model (API object + optional card) into a FAIR4ML record.

    Args:
        raw: the harvested record (``source="huggingface"``, ``kind="model"``).
        minter: mints project IRIs under the configured base.

    Returns:
        The validated record; the model is its primary topic.

    Raises:
        NormalizationError: the payload is not a JSON object or has no usable ``id``.
    """
    payload = raw.payload
    if not isinstance(payload, dict):
        kind = type(payload).__name__
        raise NormalizationError(f"huggingface payload is a {kind}, not a JSON object")
    ctx = Context(RecordBuilder(raw, minter), _repo_id(payload), payload)
    tags = dispatch_tags(str_list(ctx.typed(payload, "tags", (list, str))), ctx.card_data)
    _identity(ctx)
    add_licenses(ctx, tags)
    add_lineage(ctx, tags)
    datasets = unique(tags.datasets + str_list(ctx.typed(ctx.card_data, "datasets", (str, list))))
    if len(datasets) > MAX_REFS:
        ctx.note("field/trainedOn/truncated")
    for ref in datasets[:MAX_REFS]:
        ctx.add("trainedOn", dataset_ref(ctx.builder, ref))
    add_papers(ctx, tags)
    _terms(ctx, tags)
    _evaluations(ctx)
    _access(ctx)
    _files(ctx)
    if ctx.card is not None:
        for prop, value in hf_card.card_texts(ctx.card, ctx.card_data).items():
            ctx.text(prop, value)
        ctx.add("codeRepository", safe_iri(hf_card.code_repository(ctx.card)))
    else:
        ctx.text(
            "hasCO2eEmissions", hf_card.co2_from_metadata(ctx.card_data.get("co2_eq_emissions"))
        )
    return ctx.builder.build(MLModel(**ctx.props))


def _repo_id(payload: dict[str, Any]) -> str:
    repo_id = as_text(payload.get("id")) or as_text(payload.get("modelId"))
    if repo_id is None:
        raise NormalizationError("huggingface payload has no usable 'id' (nor 'modelId')")
    parts = repo_id.split("/")
    if (
        len(repo_id) > 300
        or _CONTROL.search(repo_id)
        or len(parts) > 2
        or {"", ".", ".."} & set(parts)
    ):
        raise NormalizationError(f"huggingface model id is not a repo id: {repo_id[:100]!r}")
    return repo_id


def _identity(ctx: Context) -> None:
    p, cd = ctx.payload, ctx.card_data
    ctx.props.update(url=ctx.iri, identifier=[ctx.repo_id], version=as_text(p.get("sha")))
    ctx.props["name"] = as_text(cd.get("model_name")) or ctx.repo_id
    created = ctx.date(p, "createdAt")
    if created is not None and CREATED_FLOOR[0] <= created < CREATED_FLOOR[1]:
        ctx.note("field/dateCreated/floor")
        created = None
    ctx.props.update(dateCreated=created, dateModified=ctx.date(p, "lastModified"))
    author = ctx.hub_text("author", card=False)
    if author is None and "/" in ctx.repo_id:  # the namespace is the owner
        author = ctx.repo_id.split("/")[0]
    if author:
        iri = HF + path_segment(author)
        kind = as_str(as_dict(p.get("authorData")).get("type"))
        if kind not in ("user", "org"):
            ctx.note("field/sharedBy/type-assumed")
        agent = (Person if kind == "user" else Organization)(id=iri, name=author, url=iri)
        ctx.add("sharedBy", ctx.node(agent))
    for key in ("downloads", "downloadsAllTime", "likes"):
        ctx.props[key] = as_int(p.get(key))
        if p.get(key) is not None and ctx.props[key] is None:
            ctx.note(f"field/{key}/invalid")
    safetensors, gguf = as_dict(p.get("safetensors")), as_dict(p.get("gguf"))
    counts = [as_int(v) for v in as_dict(safetensors.get("parameters")).values()]
    summed = sum(c for c in counts if c is not None) or None
    ctx.props["parameterCount"] = (
        as_int(safetensors.get("total")) or summed or as_int(gguf.get("total"))
    )
    ctx.add("image", safe_iri(cd.get("thumbnail")))
    newer = as_text(cd.get("new_version"))
    if newer and is_hf_repo_id(newer):
        ctx.add("newVersion", model_ref(ctx, newer))


def _terms(ctx: Context, tags: Tags) -> None:
    """Tasks, software, categories, languages and keywords."""
    p = ctx.payload
    transformers = as_dict(p.get("transformersInfo"))
    pipeline = ctx.hub_text("pipeline_tag") or as_text(transformers.get("pipeline_tag"))
    for task in unique([pipeline, *tags.tasks]):
        ctx.add("mlTask", task_ref(ctx.builder, task))
    library = ctx.hub_text("library_name")
    ctx.add("softwareRequirements", library)
    config, gguf = as_dict(p.get("config")), as_dict(p.get("gguf"))
    categories = [*str_list(config.get("architectures")), as_str(config.get("model_type"))]
    categories += [as_str(transformers.get("auto_model")), as_str(gguf.get("architecture"))]
    ctx.add("modelCategory", *[c for c in categories if c and len(c) <= 200])
    languages = [lang for lang in tags.languages if is_language_code(lang)]
    if len(languages) < len(tags.languages):
        ctx.note("field/inLanguage/invalid")
    ctx.add("inLanguage", *languages)
    keywords = unique([*tags.keywords, library])
    if len(keywords) > MAX_KEYWORDS:
        ctx.note("field/keywords/truncated")
    _keywords(ctx, keywords[:MAX_KEYWORDS])


def _keywords(ctx: Context, keywords: list[str]) -> None:
    for keyword in keywords:
        if len(keyword) <= 200:
            iri = ctx.builder.minter.keyword(keyword)
            ctx.add("keywords", ctx.node(DefinedTerm(id=iri, name=keyword)))


def _evaluations(ctx: Context) -> None:
    mapper = EvaluationMapper(ctx.builder, ctx.iri, list(ctx.props.get("trainedOn", [])))
    top = ctx.payload.get("model-index")
    mapper.model_index(top if top else ctx.card_data.get("model-index"))
    mapper.eval_results(ctx.payload.get("evalResults"))
    links = mapper.links
    ctx.add("hasEvaluation", *links.evaluations)
    ctx.add("testedOn", *links.tested_on)
    ctx.add("validatedOn", *links.validated_on)
    ctx.add("evaluatedOn", *links.evaluated_on)
    if not links.evaluations:  # card metrics are only keywords when no evaluation uses them
        _keywords(ctx, str_list(ctx.card_data.get("metrics"))[:50])


def _access(ctx: Context) -> None:
    """``gated`` → conditionsOfAccess text (+ the card's gating prompt) and the ``gated`` field."""
    gated = ctx.payload.get("gated")
    mode = gated.strip().lower() if isinstance(gated, str) else None
    if ctx.payload.get("disabled") is True:
        ctx.note("field/disabled")
    if mode in ("auto", "manual"):
        ctx.props["gated"] = mode
        how = "approved automatically" if mode == "auto" else "approved manually by the authors"
        lines = [f"Gated on the Hugging Face Hub: users must request access ({how})."]
    elif gated is True or mode == "true":
        lines = ["Gated on the Hugging Face Hub: users must request access."]
    else:
        if gated not in (None, False) and mode != "false":
            ctx.note("field/gated/invalid")
        return
    for key in ("extra_gated_prompt", "extra_gated_description"):
        lines.append(hf_card.clean_prose(as_text(ctx.card_data.get(key))) or "")
    ctx.text("conditionsOfAccess", "\n\n".join(line for line in lines if line))


def _files(ctx: Context) -> None:
    """Weight files → DataDownload nodes pinned to the revision; the card → ``readme``."""
    siblings = dict_list(ctx.typed(ctx.payload, "siblings", (list,)))
    if siblings and not as_text(ctx.payload.get("sha")):
        ctx.note("field/distribution/unpinned")
    count = 0
    for sibling in siblings:
        name = as_text(sibling.get("rfilename"))
        if not name or name.startswith("/") or ".." in name.split("/") or _CONTROL.search(name):
            continue
        encoding = weight_format(name)
        if encoding is None:
            continue
        if count == MAX_DISTRIBUTION:
            ctx.note("field/distribution/truncated")
            break
        count += 1
        iri = f"{ctx.iri}/resolve/{path_segment(ctx.revision)}/{quote(name, safe='/')}"
        lfs = as_dict(sibling.get("lfs"))
        sha256 = as_text(lfs.get("sha256"))
        node = DataDownload(
            id=iri, name=name, contentUrl=iri, encodingFormat=encoding,
            contentSize=as_int(sibling.get("size")) or as_int(lfs.get("size")),
            sha256=sha256 if sha256 and re.fullmatch(r"[0-9a-fA-F]{64}", sha256) else None,
        )  # fmt: skip
        ctx.add("distribution", ctx.node(node))
    if ctx.card is not None:
        ctx.add("readme", f"{ctx.iri}/blob/{path_segment(ctx.revision)}/README.md")
