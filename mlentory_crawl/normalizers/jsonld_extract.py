"""Interpret the JSON-LD blocks of a page: nodes, ML-relevant entities, IRIs, primaries.

Shared by the ``jsonld`` spider (to decide which records a page yields) and the ``jsonld``
normalizer (to map them), so both see exactly the same entities. Pure functions; no Scrapy
import, no I/O.

1. :func:`~.jsonld_terms.interpret` rewrites every key and type to a local name (schema.org in
   its http/https/``schema:`` forms, FAIR4ML hash *and* slash IRIs, CodeMeta, inline
   ``@context`` prefixes, aliases and ``@vocab``); remote contexts are never fetched.
2. :func:`read_document` indexes every node (``@graph`` members, arrays, nested values such as
   ``mainEntity``), merges nodes sharing an ``@id``, classifies the ML-relevant ones
   (:func:`ml_kind`), gives each a stable IRI (:func:`own_iri`, else ``<page>#<slug>``), and
   picks the *primary* entities: every model, and every dataset or paper that no other
   ML-relevant entity of the page links to through :data:`LINK_PROPS` (those become nodes of
   the linking entity's record). Each primary becomes one record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin

from mlentory_crawl.identity import (
    clean_hf_ref,
    hf_dataset_iri,
    hf_model_iri,
    paper_iri,
    path_segment,
    slug,
    strip_doi_prefix,
)
from mlentory_crawl.normalizers.common import as_list, as_str, safe_iri
from mlentory_crawl.normalizers.jsonld_terms import interpret

KINDS = ("MLModel", "Dataset", "ScholarlyArticle")
_ML_APP_TYPES = frozenset({"SoftwareApplication", "WebApplication"})
_ML_CATEGORY_RE = re.compile(
    r"machine[\s_-]*learning|deep[\s_-]*learning|artificial[\s_-]*intelligence|"
    r"neural[\s_-]*network|\b(?:ml|ai)[\s_-]*models?\b|^\s*(?:ai|ml)\s*$",
    re.IGNORECASE,
)
_ML_KEYWORD_RE = re.compile(
    r"machine[\s_-]*learning|deep[\s_-]*learning|neural[\s_-]*network|"
    r"pre-?trained[\s_-]*models?|\b(?:ml|ai)[\s_-]*models?\b|trained[\s_-]*models?|model[\s_-]*weights",
    re.IGNORECASE,
)
#: FAIR4ML-only properties: their presence marks a SoftwareApplication as a model.
FAIR4ML_MODEL_PROPS = frozenset(
    [
        "mlTask",
        "modelCategory",
        "trainedOn",
        "testedOn",
        "validatedOn",
        "evaluatedOn",
        "fineTunedFrom",
        "hasEvaluation",
        "intendedUse",
        "modelRisksBiasLimitations",
        "modelRisks",
        "hasCO2eEmissions",
        "usageInstructions",
        "codeSampleSnippet",
    ]
)


@dataclass
class Entity:
    """An ML-relevant node of a page: its node key, kind, IRI and record id."""

    key: str
    kind: str
    iri: str
    record_id: str


@dataclass
class Document:
    """The interpreted JSON-LD of one page."""

    page_url: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    primaries: list[Entity] = field(default_factory=list)
    types_seen: list[str] = field(default_factory=list)
    by_iri: dict[str, str] = field(default_factory=dict)

    def deref(self, value: Any) -> Any:
        """The full node behind a ``{"@id": …}`` reference (or ``value`` itself)."""
        if isinstance(value, dict):
            ref = value.get("@id")
            if isinstance(ref, str) and ref in self.nodes:
                return self.nodes[ref]
        return value

    def entity_of(self, value: Any) -> Entity | None:
        """The page entity a value stands for: the node itself, or a reference (``{"@id"}``
        or a URL) to an entity's IRI in any of its canonical forms (``…v3`` arXiv, DOI case)."""
        node = self.deref(value)
        ref: Any = node
        if isinstance(node, dict):
            key = self.key_of(node)
            if key is not None and key in self.entities:
                return self.entities[key]
            ref = node.get("@id") if len(node) == 1 else None
        iri = absolute(ref, self.page_url) if isinstance(ref, str) and "://" in ref else None
        if iri is None:
            return None
        for kind in KINDS:
            key = self.by_iri.get(canonical(iri, kind))
            if key is not None:
                return self.entities[key]
        return None

    def key_of(self, node: dict[str, Any]) -> str | None:
        """The key under which ``node`` is indexed."""
        ref = node.get("@id")
        if isinstance(ref, str) and ref in self.nodes:
            return ref
        anon = node.get("@key")
        return anon if isinstance(anon, str) else None


def types_of(node: dict[str, Any]) -> list[str]:
    """The local type names of a node."""
    return [t for t in as_list(node.get("@type")) if isinstance(t, str)]


def _texts(value: Any) -> list[str]:
    out: list[str] = []
    for item in as_list(value):
        if isinstance(item, dict):
            item = item.get("name") or item.get("@id") or item.get("termCode")
        text = as_str(item)
        if text:
            out.extend(part.strip() for part in text.split(",") if part.strip())
    return out


def ml_kind(node: dict[str, Any]) -> str | None:
    """``MLModel``, ``Dataset``, ``ScholarlyArticle`` or ``None`` (not ML-relevant).

    ``MLModel`` (FAIR4ML, any namespace form) is a model. A ``SoftwareApplication`` is a model
    only with a clear signal: an ML/AI ``applicationCategory`` (or sub-category), an
    ``additionalType`` naming ``MLModel``, a FAIR4ML model property, or a keyword such as
    "machine learning", "deep learning", "neural network" or "pretrained model". A bare "AI"
    keyword or a description mentioning ML is not enough.
    """
    types = set(types_of(node))
    if "MLModel" in types:
        return "MLModel"
    if types & _ML_APP_TYPES and is_ml_application(node):
        return "MLModel"
    if "Dataset" in types or "cr:Dataset" in types:
        return "Dataset"
    if "ScholarlyArticle" in types:
        return "ScholarlyArticle"
    return None


def is_ml_application(node: dict[str, Any]) -> bool:
    """True when a SoftwareApplication carries one of the ML signals of :func:`ml_kind`."""
    category = _texts(node.get("applicationCategory")) + _texts(node.get("applicationSubCategory"))
    if any(_ML_CATEGORY_RE.search(text) for text in category):
        return True
    if any(text.rstrip("/#").endswith("MLModel") for text in _texts(node.get("additionalType"))):
        return True
    if FAIR4ML_MODEL_PROPS & node.keys():
        return True
    return any(_ML_KEYWORD_RE.search(text) for text in _texts(node.get("keywords")))


def _index(value: Any, doc: Document, counter: list[int], depth: int = 0) -> Any:
    """Walk interpreted values in document order; register nodes; merge nodes sharing an id."""
    if depth > 60:
        return None
    if isinstance(value, list):
        return [_index(item, doc, counter, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    props = [k for k in value if k not in ("@id", "@key")]
    ref = value.get("@id")
    held: dict[str, Any] | None = None
    if isinstance(ref, str) and props:
        held = doc.nodes.setdefault(ref, value)
    elif not isinstance(ref, str) and ("@type" in value or len(props) > 1):
        counter[0] += 1
        value["@key"] = f"_:n{counter[0]}"
        doc.nodes[value["@key"]] = value
    for key, item in list(value.items()):
        if not key.startswith("@") or key == "@graph":
            value[key] = _index(item, doc, counter, depth + 1)
    if held is not None and held is not value:
        for key, item in value.items():
            if key == "@id":
                continue
            if key not in held:
                held[key] = item
            else:
                known = as_list(held[key])
                held[key] = known + [v for v in as_list(item) if v not in known]
    return value


#: Relations along which one ML-relevant entity brings another into its record.
LINK_PROPS = frozenset(
    [
        "trainedOn",
        "testedOn",
        "validatedOn",
        "evaluatedOn",
        "fineTunedFrom",
        "isBasedOn",
        "citation",
        "referencePublication",
        "hasEvaluation",
        "evaluationDataset",
    ]
)


def _refs(value: Any, doc: Document, out: set[str], depth: int = 0) -> None:
    """Keys of the nodes reachable from ``value`` through :data:`LINK_PROPS`, transitively."""
    if depth > 60:
        return
    if isinstance(value, list):
        for item in value:
            _refs(item, doc, out, depth + 1)
        return
    if isinstance(value, str):  # a plain IRI naming an entity of the page
        found = doc.entity_of(value)
        value = {"@id": found.key} if found is not None else None
    if not isinstance(value, dict):
        return
    key = doc.key_of(value)
    if key is None and "@id" in value:
        found = doc.entity_of(value)
        key = found.key if found is not None else None
    if key is not None:
        if key in out:
            return
        out.add(key)
        value = doc.nodes[key]
    for prop, item in value.items():
        if prop in LINK_PROPS:
            _refs(item, doc, out, depth + 1)


def absolute(value: Any, page_url: str) -> str | None:
    """An absolute http(s) IRI from an IRI or a reference relative to the page."""
    text = as_str(value)
    if text is None or text.startswith("_:"):
        return None
    if not re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE):
        text = urljoin(page_url, text)
    return safe_iri(text)


def canonical(iri: str, kind: str) -> str:
    """Canonical IRIs across sources: HF pages, lower-cased DOIs, arXiv for papers."""
    if kind == "ScholarlyArticle":
        found = paper_iri(iri) if ("doi.org/" in iri or "arxiv.org/" in iri) else None
        return found or iri
    if re.match(r"^https?://(www\.)?huggingface\.co/", iri):
        ref = clean_hf_ref(iri).split("?")[0].split("#")[0]
        if ref.startswith("datasets/"):
            return hf_dataset_iri(ref)
        if ref and not ref.startswith(("spaces/", "papers/", "tasks/", "docs/", "api/")):
            return hf_model_iri(ref)
    if re.match(r"^https?://(dx\.)?doi\.org/", iri, re.IGNORECASE):
        doi = strip_doi_prefix(iri)
        if doi:
            return "https://doi.org/" + doi
    return iri


def identifier_texts(node: dict[str, Any]) -> list[str]:
    """Identifier values as text (PropertyValue ``value``/``url`` included)."""
    out: list[str] = []
    for item in as_list(node.get("identifier")):
        if isinstance(item, dict):
            item = item.get("value") or item.get("url") or item.get("@id")
        text = as_str(item)
        if text:
            out.append(text)
    return out


def own_iri(node: dict[str, Any], kind: str, page_url: str) -> tuple[str | None, bool]:
    """The node's own IRI (paper id, ``@id`` or ``url``) and whether it came from ``@id``."""
    if kind == "ScholarlyArticle":
        for text in [
            node.get("@id"),
            *as_list(node.get("url")),
            *identifier_texts(node),
            *as_list(node.get("sameAs")),
        ]:
            found = paper_iri(text) if isinstance(text, str) else None
            if found:
                return found, True
    ident = absolute(node.get("@id"), page_url)
    if ident:
        return canonical(ident, kind), True
    for url in as_list(node.get("url")):
        iri = absolute(url, page_url)
        if iri:
            return canonical(iri, kind), False
    return None, False


def record_id(page_url: str, iri: str) -> str:
    """The RawRecord ``source_id`` of an entity: the page URL, plus ``#<IRI>`` when the
    entity's IRI is neither the page URL nor one of its fragments."""
    if iri == page_url or iri.startswith(page_url + "#"):
        return iri
    return f"{page_url}#{iri}"


def _assign(doc: Document, ml_keys: list[tuple[str, str]]) -> None:
    taken: set[str] = set()
    for index, (key, kind) in enumerate(ml_keys, start=1):
        node = doc.nodes[key]
        iri, from_id = own_iri(node, kind, doc.page_url)
        if iri is None or (iri in taken and not from_id):
            name = as_str(as_list(node.get("name"))[0] if node.get("name") else None)
            frag = slug(name)[:80] if name else f"{kind.lower()}-{index}"
            iri = f"{doc.page_url}#{path_segment(frag)}"
            suffix = 2
            while iri in taken:
                iri = f"{doc.page_url}#{path_segment(frag)}-{suffix}"
                suffix += 1
        taken.add(iri)
        doc.entities[key] = Entity(key, kind, iri, record_id(doc.page_url, iri))
        doc.by_iri.setdefault(iri, key)


def read_document(blocks: list[Any], page_url: str) -> Document:
    """Interpret a page's blocks: nodes, ML-relevant entities with IRIs, and the primaries.

    Args:
        blocks: parsed JSON-LD values (as :func:`extract_blocks` returns them).
        page_url: the canonical page URL (absolute, no fragment).
    """
    page_url = urldefrag(page_url)[0]
    doc = Document(page_url=page_url)
    counter = [0]
    for block in blocks:
        _index(interpret(block, page_url), doc, counter)
    ml_keys: list[tuple[str, str]] = []
    for key, node in doc.nodes.items():
        doc.types_seen.extend(t for t in types_of(node) if t not in doc.types_seen)
        kind = ml_kind(node)
        if kind:
            ml_keys.append((key, kind))
    _assign(doc, ml_keys)
    referenced: set[str] = set()
    reach: dict[str, set[str]] = {}
    for key, _kind in ml_keys:
        found: set[str] = set()
        for prop, item in doc.nodes[key].items():
            if prop in LINK_PROPS:
                _refs(item, doc, found)
        found.discard(key)
        reach[key] = found
        referenced |= found & doc.entities.keys()
    covered: set[str] = set()
    for key, kind in ml_keys:  # every model described on the page is a record of its own
        if kind == "MLModel":
            doc.primaries.append(doc.entities[key])
            covered |= reach[key]
    others = [kk for kk in ml_keys if kk[1] != "MLModel"]
    for key, _kind in sorted(others, key=lambda kk: (kk[0] in referenced, KINDS.index(kk[1]))):
        if key in covered:
            continue
        doc.primaries.append(doc.entities[key])
        covered |= reach[key] | {key}
    return doc
