"""What a Hub model references: its licences, base models (lineage) and papers.

* **Licences**: ``cardData.license`` plus ``license:`` tags, resolved to SPDX or named licence
  nodes; ``other`` takes ``license_name``/``license_link`` (a repo-relative link resolves at the
  model's revision).
* **Lineage** comes from ``base_model:<relation>:<id>`` tags when any ``base_model:`` tag
  exists, else from ``cardData.base_model`` + ``base_model_relation``, else from
  ``baseModels``.
* **Papers**: every ``arxiv:``/``doi:`` tag is a ``citation``; only papers cited in the card's
  Paper/Citation sections (or its ``**Paper:**`` line) are also ``referencePublication``.
  ``doi:10.57967/hf/…`` is the model's own DOI (``identifier`` + ``sameAs``).

Pure functions over a :class:`~.hf_context.Context`, no I/O.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from mlentory_crawl.identity import (
    HF,
    clean_hf_ref,
    hf_model_iri,
    is_hf_repo_id,
    paper_iri,
    parse_arxiv,
    path_segment,
    strip_doi_prefix,
)
from mlentory_crawl.items.fair4ml import CreativeWork, MLModel, ScholarlyArticle
from mlentory_crawl.licenses import UNKNOWN, resolve_license
from mlentory_crawl.normalizers import hf_card
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_list,
    as_str,
    as_text,
    safe_iri,
    str_list,
    unique,
)
from mlentory_crawl.normalizers.hf_context import Context
from mlentory_crawl.normalizers.hf_tags import RELATIONS, Tags

EXTENSION = {
    "finetune": "baseModelFinetune",
    "adapter": "baseModelAdapter",
    "quantized": "baseModelQuantized",
    "merge": "baseModelMerge",
}
OWN_DOI_PREFIX = "10.57967/hf/"
MAX_REFS = 500  # datasets / base models / papers per model


def model_ref(ctx: Context, repo_id: str) -> str | None:
    """A stub ``MLModel`` node for another Hub model (canonical id); its IRI."""
    clean = clean_hf_ref(repo_id)
    iri = hf_model_iri(clean)
    return ctx.node(MLModel(id=iri, name=clean, url=iri, identifier=[clean]))


def license_link(ctx: Context, value: Any) -> str | None:
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


def add_licenses(ctx: Context, tags: Tags) -> None:
    """``cardData.license`` (text or list) and ``license:`` tags → licence nodes."""
    cd = ctx.card_data
    values = str_list(ctx.typed(cd, "license", (str, list))) + tags.licenses
    if not values:
        ctx.note("field/license/missing")
    name, link = as_text(cd.get("license_name")), license_link(ctx, cd.get("license_link"))
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


def add_lineage(ctx: Context, tags: Tags) -> None:
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
        iri = model_ref(ctx, ref)
        ctx.add("isBasedOn", iri)
        if rel:
            ctx.add(EXTENSION[rel], iri)
        if rel in ("finetune", "adapter"):
            ctx.add("fineTunedFrom", iri)


def add_papers(ctx: Context, tags: Tags) -> None:
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
