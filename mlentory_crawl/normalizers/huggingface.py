"""Hugging Face Hub model → FAIR4ML record (mapping: ``shared/docs/fair4ml.md`` §13.1-13.4, §14).

Input: a :class:`RawRecord` whose payload is one model object of ``/api/models`` (list page with
``expand[]``) or ``/api/models/<id>``, plus, when cards were fetched, ``attachments["card"]``
(the raw ``README.md``). Output: the model node and every node it references. Pure: no Scrapy,
no I/O; problems become provenance notes (``builder.note``), never exceptions, except for a
payload that is not an object or has no usable ``id`` (:class:`NormalizationError`).

Choices where the mapping leaves room (documented here so one hop finds them):

* **Owner type.** The model API does not say whether ``author`` is a user or an organisation.
  When the payload carries ``authorData.type`` (``org``/``user``) it decides; otherwise the owner
  is typed ``schema:Organization`` (as in fair4ml.md §10) and the note
  ``field/sharedBy/type-assumed`` records that the type was not observed.
* **Out-of-Scope Use** goes to ``intendedUse`` (after the direct/downstream uses, under its own
  heading), not to ``modelRisksBiasLimitations``: it qualifies how the model is meant to be used.
* **Description**: the "Model Description" (or Description / Summary / Overview / Model
  Details) prose without its ``- **Field:**`` list; else the body's first prose paragraph.
* **Tags**: ``dataset:``/``base_model:``/``license:``/``arxiv:``/``doi:`` dispatch by prefix;
  codes listed in ``language`` and Hub-generated ISO 639-1 tags go to ``inLanguage`` (a bare
  code the author wrote under ``tags``, like ``yi`` for Yi models, stays a keyword); Hub task
  ids go to ``mlTask``; hosting flags (``region:*``, ``deploy:*``, ``endpoints_compatible``…)
  are dropped; everything else becomes a keyword ``DefinedTerm``.
* **Evaluations** (:mod:`.hf_eval`): a dataset that is also a training set is ``testedOn`` /
  ``validatedOn`` by split with ``extrinsicEvaluation false``; others are ``evaluatedOn``.
* The card's front matter only fills keys the Hub's ``cardData`` lacks (it is parsed only when
  ``cardData`` is missing or not a mapping); the card body gives the text properties.
* **Lineage** comes from ``base_model:<relation>:<id>`` tags when any ``base_model:`` tag exists,
  else from ``cardData.base_model`` + ``base_model_relation``, else from ``baseModels``.
* **Papers**: every ``arxiv:``/``doi:`` tag is a ``citation``; only papers cited in the card's
  Paper/Citation sections (or its ``**Paper:**`` line) are also ``referencePublication``.
  ``doi:10.57967/hf/…`` is the model's own DOI (``identifier`` + ``sameAs``).
* Legacy unnamespaced dataset ids (``squad_v2``) are kept as given: canonicalising them needs a
  Hub lookup, which a pure function cannot do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mlentory_crawl.identity import (
    HF,
    Minter,
    clean_hf_ref,
    hf_model_iri,
    is_hf_repo_id,
    paper_iri,
    parse_arxiv,
    path_segment,
    strip_doi_prefix,
)
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    CreativeWork,
    DataDownload,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    Organization,
    Person,
    ScholarlyArticle,
)
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.licenses import UNKNOWN, resolve_license
from mlentory_crawl.normalizers import NormalizationError, hf_card
from mlentory_crawl.normalizers.common import (
    ISO_639_1,
    RecordDraft,
    as_dict,
    as_int,
    as_list,
    as_str,
    as_text,
    dict_list,
    is_language_code,
    safe_iri,
    str_list,
    unique,
    weight_format,
)
from mlentory_crawl.normalizers.hf_eval import (
    KNOWN_TASKS,
    LEGACY_TASKS,
    EvaluationMapper,
    dataset_ref,
    task_ref,
)

RELATIONS = ("finetune", "adapter", "quantized", "merge")
EXTENSION = {
    "finetune": "baseModelFinetune",
    "adapter": "baseModelAdapter",
    "quantized": "baseModelQuantized",
    "merge": "baseModelMerge",
}
CREATED_FLOOR = (datetime(2022, 3, 2, 23, 29, tzinfo=UTC), datetime(2022, 3, 2, 23, 30, tzinfo=UTC))
OWN_DOI_PREFIX = "10.57967/hf/"
HOSTING_FLAGS = frozenset(
    {
        "endpoints_compatible", "autotrain_compatible", "text-generation-inference",
        "model-index", "has_space", "inference_endpoints",
    }
)  # fmt: skip
SKIPPED_PREFIXES = ("region:", "deploy:")
MAX_KEYWORDS = 200
MAX_REFS = 500  # datasets / base models / papers per model
MAX_DISTRIBUTION = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Tags:
    """The ``tags`` list dispatched by prefix (fair4ml.md §13.3)."""

    datasets: list[str] = field(default_factory=list)
    base_models: list[tuple[str | None, str]] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    arxiv: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


class Context(RecordDraft):
    """The model being built, plus the Hub inputs every mapping step reads."""

    def __init__(self, builder: RecordBuilder, repo_id: str, payload: dict[str, Any]) -> None:
        super().__init__(builder, hf_model_iri(repo_id))
        self.repo_id = repo_id
        self.payload = payload
        self.card = _card(builder, parse_metadata=not isinstance(payload.get("cardData"), dict))
        front = self.card.metadata if self.card is not None else {}
        if payload.get("cardData") is not None and not isinstance(payload["cardData"], dict):
            self.note("field/cardData/invalid")
        self.card_data: dict[str, Any] = {**front, **as_dict(payload.get("cardData"))}
        self.revision = as_text(payload.get("sha")) or "main"

    def hub_text(self, key: str, card: bool = True) -> str | None:
        """A text field of the payload, else of ``cardData`` (other types noted, ignored)."""
        return self.text_field(key, self.payload, *([self.card_data] if card else []))


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
    tags = _tags(ctx)
    _identity(ctx)
    _licenses(ctx, tags)
    _lineage(ctx, tags)
    datasets = unique(tags.datasets + str_list(ctx.typed(ctx.card_data, "datasets", (str, list))))
    if len(datasets) > MAX_REFS:
        ctx.note("field/trainedOn/truncated")
    for ref in datasets[:MAX_REFS]:
        ctx.add("trainedOn", dataset_ref(ctx.builder, ref))
    _papers(ctx, tags)
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


def _card(builder: RecordBuilder, parse_metadata: bool) -> hf_card.ModelCard | None:
    attachment = builder.raw.attachments.get("card")
    if (
        attachment is None
        or not 200 <= attachment.status < 300
        or not isinstance(attachment.text, str)
    ):
        return None
    builder.fetched.append(attachment.url)
    card = hf_card.parse_card(attachment.text, metadata=parse_metadata)
    if card.metadata_error:
        builder.note("card/frontmatter/invalid")
    return card


def _tags(ctx: Context) -> Tags:
    all_tags = unique(
        str_list(ctx.typed(ctx.payload, "tags", (list, str))) + str_list(ctx.card_data.get("tags"))
    )
    card_langs = str_list(ctx.card_data.get("language")) + str_list(ctx.card_data.get("languages"))
    declared = {lang.lower() for lang in card_langs}
    author_tags = {tag.lower() for tag in str_list(ctx.card_data.get("tags"))}
    tags = Tags()
    for lang in card_langs:  # "multilingual" is a property of the model, not a language
        (tags.keywords if lang.lower() == "multilingual" else tags.languages).append(lang)
    for tag in all_tags:
        low = tag.lower()
        prefix, _, rest = low.partition(":")
        rest = tag[len(prefix) + 1 :]
        if prefix in ("dataset", "license", "arxiv", "doi") and rest:
            {"dataset": tags.datasets, "license": tags.licenses, "arxiv": tags.arxiv,
             "doi": tags.dois}[prefix].append(rest)  # fmt: skip
        elif prefix == "base_model" and rest:
            relation, _, base = rest.partition(":")
            typed = base and relation.lower() in RELATIONS
            tags.base_models.append((relation.lower(), base) if typed else (None, rest))
        elif low.startswith(SKIPPED_PREFIXES) or low in HOSTING_FLAGS:
            continue
        elif is_language_code(tag) and (
            low in declared or (low in ISO_639_1 and low not in author_tags)
        ):  # a bare ISO code the author wrote as a tag ("yi" for Yi models) stays a keyword
            tags.languages.append(tag)
        elif low in KNOWN_TASKS or low in LEGACY_TASKS:
            tags.tasks.append(low)
        else:
            tags.keywords.append(tag)
    return tags


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
        ctx.add("newVersion", _model_ref(ctx, newer))


def _model_ref(ctx: Context, repo_id: str) -> str | None:
    clean = clean_hf_ref(repo_id)
    iri = hf_model_iri(clean)
    return ctx.node(MLModel(id=iri, name=clean, url=iri, identifier=[clean]))


def _license_link(ctx: Context, value: Any) -> str | None:
    """``license_link`` as an absolute IRI; repo-relative paths resolve at the revision."""
    link = as_text(value)
    if link is None or re.match(r"^https?://", link, re.IGNORECASE):
        return safe_iri(link)
    path = link.removeprefix("./")
    if "://" in path or ".." in path.split("/") or len(path) > 300:
        return None
    if path.startswith("/"):
        return safe_iri(HF.rstrip("/") + quote(path, safe="/"))
    return safe_iri(f"{ctx.iri}/blob/{path_segment(ctx.revision)}/{quote(path, safe='/')}")


def _licenses(ctx: Context, tags: Tags) -> None:
    cd = ctx.card_data
    values = str_list(ctx.typed(cd, "license", (str, list))) + tags.licenses
    if not values:
        ctx.note("field/license/missing")
    name, link = as_text(cd.get("license_name")), _license_link(ctx, cd.get("license_link"))
    base = ctx.builder.minter.base
    for value in unique({v.strip().lower(): v for v in values}.values()):
        other = value.strip().lower() == "other"
        ref = resolve_license(
            value, source="hf", base=base, name=name if other else None, link=link
        )
        if ref is None:
            unknown = value.strip().lower() in UNKNOWN
            ctx.note("field/license/unknown" if unknown else "field/license/other-unnamed")
            continue
        identifier = ref.spdx or (name if other and name else value)
        node = CreativeWork(
            id=ref.iri, name=ref.name, identifier=[identifier], url=safe_iri(ref.url)
        )
        ctx.add("license", ctx.node(node))


def _lineage(ctx: Context, tags: Tags) -> None:
    """Base models: typed tags, else ``cardData.base_model`` (+ relation), else ``baseModels``."""
    pairs = list(tags.base_models)
    if not pairs:
        relation = (as_text(ctx.card_data.get("base_model_relation")) or "").lower()
        rel = relation if relation in RELATIONS else None
        bases = str_list(ctx.typed(ctx.card_data, "base_model", (str, list)))
        pairs = [(rel, base) for base in bases]
    if not pairs:
        for entry in as_list(ctx.payload.get("baseModels")):
            relation = (as_str(as_dict(entry).get("relation")) or "").lower()
            models = entry.get("models") if isinstance(entry, dict) else entry
            for model in as_list(models):
                ref = as_str(model.get("id")) if isinstance(model, dict) else as_str(model)
                pairs.append((relation if relation in RELATIONS else None, ref or ""))
    typed = {ref for rel, ref in pairs if rel}
    if len(pairs) > MAX_REFS:
        ctx.note("field/base_model/truncated")
    for rel, ref in pairs[:MAX_REFS]:
        if rel is None and ref in typed:
            continue
        if not is_hf_repo_id(ref):
            ctx.note("field/base_model/invalid")
            continue
        iri = _model_ref(ctx, ref)
        ctx.add("isBasedOn", iri)
        if rel:
            ctx.add(EXTENSION[rel], iri)
        if rel in ("finetune", "adapter"):
            ctx.add("fineTunedFrom", iri)


def _papers(ctx: Context, tags: Tags) -> None:
    """``arxiv:``/``doi:`` tags → citations; the card's own papers → also referencePublication."""
    cited = [paper_iri(f"arxiv:{a}") for a in tags.arxiv + str_list(ctx.card_data.get("arxiv"))]
    for doi_text in tags.dois:
        doi = strip_doi_prefix(doi_text)
        if doi and doi.startswith(OWN_DOI_PREFIX):
            ctx.add("identifier", doi)
            ctx.add("sameAs", f"https://doi.org/{quote(doi, safe='/')}")
        else:
            cited.append(paper_iri(doi_text))
    own = hf_card.reference_papers(ctx.card) if ctx.card is not None else []
    papers = unique(cited + own)
    if len(papers) > MAX_REFS:
        ctx.note("field/citation/truncated")
    for iri in papers[:MAX_REFS]:
        arxiv = parse_arxiv(iri)
        if arxiv is not None:
            same = [f"{HF}papers/{arxiv.id}"] if "/" not in arxiv.id else []
            node = ScholarlyArticle(id=iri, url=iri, identifier=[f"arXiv:{arxiv.id}"], sameAs=same)
        else:
            node = ScholarlyArticle(
                id=iri, url=iri, identifier=[iri.removeprefix("https://doi.org/")]
            )
        ctx.add("citation", ctx.node(node))
    ctx.add("referencePublication", *[iri for iri in own if iri in papers[:MAX_REFS]])


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
