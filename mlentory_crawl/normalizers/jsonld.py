"""schema.org / FAIR4ML JSON-LD found on web pages → FAIR4ML records.

Input: a :class:`RawRecord` of the ``jsonld`` spider: ``url`` is the page, ``payload`` the list
of parsed JSON-LD blocks of that page (untouched), ``source_id`` names the entity the record is
about (:func:`~.jsonld_extract.record_id`: the page URL, or ``<page URL>#<entity IRI>``), and
attachments ``jsonld-<n>`` hold the text of blocks nothing could parse.

One record per ML-relevant *primary* entity of a page (an ``MLModel``, else a ``Dataset`` or a
``ScholarlyArticle`` that no model of the page refers to); entities it refers to
(``trainedOn`` datasets, ``citation`` papers, a ``fineTunedFrom`` model, evaluations, agents,
licences, terms) become nodes of the same record. Mapping table: ``docs/sources/jsonld.md``.
"""

from __future__ import annotations

from typing import Any

from mlentory_crawl.identity import Minter, paper_iri
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    Dataset,
    FAIR4MLRecord,
    MLModel,
    ScholarlyArticle,
)
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import as_list, as_str, safe_iri
from mlentory_crawl.normalizers.jsonld_blocks import parse_block
from mlentory_crawl.normalizers.jsonld_extract import (
    Document,
    Entity,
    absolute,
    canonical,
    identifier_texts,
    ml_kind,
    own_iri,
    read_document,
    types_of,
)
from mlentory_crawl.normalizers.jsonld_nodes import (
    SOURCE,
    agents,
    boolean,
    date,
    iris,
    keywords,
    languages,
    license_iri,
    task,
    text,
    texts,
)
from mlentory_crawl.normalizers.jsonld_parts import downloads, evaluation, grants

CROISSANT = "http://mlcommons.org/croissant/"
_MODEL_TEXT = {
    "intendedUse": "intendedUse",
    "usageInstructions": "usageInstructions",
    "codeSampleSnippet": "codeSampleSnippet",
    "modelRisksBiasLimitations": "modelRisksBiasLimitations",
    "modelRisks": "modelRisksBiasLimitations",  # FAIR4ML 0.0.1 name
    "ethicalSocial": "ethicalSocial",
    "legal": "legal",
    "ethicalLegalSocial": "ethicalSocial",  # 0.0.1: copied to ethicalSocial and legal
    "hasCO2eEmissions": "hasCO2eEmissions",
    "conditionsOfAccess": "conditionsOfAccess",
    "releaseNotes": "releaseNotes",
    "developmentStatus": "developmentStatus",
}
_MODEL_IRIS = [
    "codeRepository",
    "discussionUrl",
    "archivedAt",
    "readme",
    "issueTracker",
    "buildInstructions",
]
_MODEL_STRS = [
    "softwareRequirements",
    "memoryRequirements",
    "processorRequirements",
    "storageRequirements",
    "operatingSystem",
]
_SPLITS = ("trainedOn", "testedOn", "validatedOn", "evaluatedOn")


def normalize(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """Turn one page entity into a FAIR4ML record.

    Raises:
        NormalizationError: the page URL is unusable, the payload is not a list of blocks, the
            page's JSON-LD could not be parsed, or it holds no ML-relevant entity.
    """
    page = safe_iri(raw.url)
    if page is None:
        raise NormalizationError(f"page URL is not an absolute http(s) URL: {raw.url!r:.200}")
    page = page.split("#", 1)[0]
    blocks = raw.payload if isinstance(raw.payload, list) else [raw.payload]
    if raw.payload is None or not all(isinstance(b, dict | list) for b in blocks):
        raise NormalizationError("payload is not a list of JSON-LD blocks (objects or arrays)")
    doc = read_document(blocks, page)
    entity = _pick(doc, raw.source_id)
    if entity is None:
        raise NormalizationError(_why_nothing(doc, raw))
    builder = RecordBuilder(raw, minter)
    mapper = _Mapper(doc, builder)
    primary = mapper.entity(entity, is_primary=True)
    if any(k.startswith("jsonld-") for k in raw.attachments):
        builder.note("jsonld/blocks/unparseable")
    skipped = [
        k
        for k, n in doc.nodes.items()
        if "SoftwareApplication" in types_of(n) and ml_kind(n) is None
    ]
    if skipped:
        builder.note("jsonld/entities/skipped/SoftwareApplication")
    node = builder.get(primary)
    assert node is not None
    return builder.build(node, spider="jsonld")


def _pick(doc: Document, source_id: str) -> Entity | None:
    for entity in doc.entities.values():
        if entity.record_id == source_id:
            return entity
    if source_id == doc.page_url:  # a hand-made record: the page's first primary
        return doc.primaries[0] if doc.primaries else None
    return None


def _why_nothing(doc: Document, raw: RawRecord) -> str:
    broken = [a.text or "" for k, a in sorted(raw.attachments.items()) if k.startswith("jsonld-")]
    if broken:
        reasons = [parse_block(t)[1] or "unreadable" for t in broken[:3]]
        return f"{len(broken)} unparseable JSON-LD block(s) on {doc.page_url}: " + "; ".join(
            reasons
        )
    if not doc.entities:
        seen = ", ".join(doc.types_seen[:10]) or "none"
        return f"no ML-relevant JSON-LD entity on {doc.page_url} (types seen: {seen})"
    return f"entity {raw.source_id!r:.300} not found on {doc.page_url}"


class _Mapper:
    """Maps the entities of one page into the builder, each at most once."""

    def __init__(self, doc: Document, builder: RecordBuilder) -> None:
        self.doc = doc
        self.builder = builder
        self.minter = builder.minter
        self.done: set[str] = set()
        self.page = doc.page_url

    # ---------------------------------------------------------------- entities

    def entity(self, entity: Entity, is_primary: bool = False) -> str:
        """Map a page entity (once) and return its IRI."""
        if entity.key in self.done:
            return entity.iri
        self.done.add(entity.key)
        node = self.doc.nodes[entity.key]
        if entity.kind == "MLModel":
            self._model(entity.iri, node, is_primary)
        elif entity.kind == "Dataset":
            self._dataset(entity.iri, node, is_primary)
        else:
            self._article(entity.iri, node, is_primary)
        return entity.iri

    def link(self, value: Any, kind: str, prop: str) -> str | None:
        """IRI of a linked model/dataset/paper; adds its node (full if described on the page)."""
        entity = self.doc.entity_of(value)
        if entity is not None:
            return self.entity(entity)
        node = self.doc.deref(value)
        if isinstance(node, dict):
            iri, _ = own_iri(node, kind, self.page)
            name = text(node.get("name"))
            if iri is None and name:
                iri = self._minted(kind, name)
            if iri is None:
                self.builder.note(f"field/{prop}/unresolved")
                return None
            return self._stub(kind, iri, name)
        raw = as_str(node)
        if raw is None:
            return None
        if kind == "ScholarlyArticle" and paper_iri(raw):
            return self._stub(kind, paper_iri(raw) or "", None)
        if "://" in raw or raw.startswith(("/", "#", "./")):
            iri = absolute(raw, self.page)
            return self._stub(kind, canonical(iri, kind), None) if iri else None
        name = text(raw)
        iri = self._minted(kind, name) if name else None
        if iri is None:
            self.builder.note(f"field/{prop}/unresolved")
            return None
        return self._stub(kind, iri, name)

    def links(self, value: Any, kind: str, prop: str) -> list[str]:
        out: list[str] = []
        for item in as_list(value)[:100]:
            iri = self.link(item, kind, prop)
            if iri and iri not in out:
                out.append(iri)
        return out

    def _minted(self, kind: str, name: str) -> str | None:
        if kind == "Dataset":
            return self.minter.dataset(SOURCE, name)
        if kind == "MLModel":
            return self.minter.model(SOURCE, f"{self.page}|{name}")
        return None

    def _stub(self, kind: str, iri: str, name: str | None) -> str:
        cls = {"MLModel": MLModel, "Dataset": Dataset, "ScholarlyArticle": ScholarlyArticle}[kind]
        return self.builder.add(cls(id=iri, name=name)).id

    # ---------------------------------------------------------------- shared fields

    def _common(self, iri: str, node: dict[str, Any], is_primary: bool) -> dict[str, Any]:
        b, doc = self.builder, self.doc
        urls = iris(node.get("url"), self.page)
        same = [canonical(s, "") for s in iris(node.get("sameAs"), self.page)]
        ident = absolute(node.get("@id"), self.page)
        extra = [ident] if ident else []
        extra += [paper_iri(t) or "" for t in identifier_texts(node) if paper_iri(t)]
        same += [canonical(s, "") for s in extra]
        return {
            "id": iri,
            "name": text(node.get("name")) or text(node.get("headline")),
            "alternateName": texts(node.get("alternateName")),
            "description": text(node.get("description"), b, "description"),
            "url": urls[0] if urls else (self.page if is_primary else None),
            "identifier": identifier_texts(node)[:20],
            "sameAs": [s for s in same if s != iri][:50],
            "author": agents(as_list(node.get("author")) + as_list(node.get("creator")), doc, b),
            "contributor": agents(node.get("contributor"), doc, b),
            "maintainer": agents(node.get("maintainer"), doc, b),
            "keywords": keywords(node.get("keywords"), doc, b),
            "license": [
                i for v in as_list(node.get("license"))[:5] if (i := license_iri(v, doc, b))
            ],
            "dateCreated": date(node.get("dateCreated"), b, "dateCreated"),
            "dateModified": date(node.get("dateModified"), b, "dateModified"),
            "datePublished": date(node.get("datePublished"), b, "datePublished"),
            "version": text(node.get("version")) or text(node.get("softwareVersion")),
            "inLanguage": languages(node.get("inLanguage")),
            "image": iris(node.get("image"), self.page)[:10],
            "citation": self.links(node.get("citation"), "ScholarlyArticle", "citation"),
        }

    # ---------------------------------------------------------------- models

    def _model(self, iri: str, node: dict[str, Any], is_primary: bool) -> None:
        b, doc = self.builder, self.doc
        fields = self._common(iri, node, is_primary)
        fields["referencePublication"] = self.links(
            node.get("referencePublication"), "ScholarlyArticle", "referencePublication"
        )
        for prop in _SPLITS:
            fields[prop] = self.links(node.get(prop), "Dataset", prop)
        fields["fineTunedFrom"] = self.links(node.get("fineTunedFrom"), "MLModel", "fineTunedFrom")
        fields["isBasedOn"] = self._based_on(node.get("isBasedOn"))
        fields["mlTask"] = [
            t for v in as_list(node.get("mlTask"))[:20] if (t := task(v, doc, b, self.minter))
        ]
        fields["modelCategory"] = texts(node.get("modelCategory"))
        for prop, target in _MODEL_TEXT.items():
            value = text(node.get(prop), b, target)
            if value and not fields.get(target):
                fields[target] = value
        if fields.get("ethicalSocial") and not fields.get("legal") and "ethicalLegalSocial" in node:
            fields["legal"] = fields["ethicalSocial"]
        shared = node.get("sharedBy") or node.get("publisher") or node.get("provider")
        fields["sharedBy"] = agents(shared, doc, b, default="Organization")
        fields["copyrightHolder"] = agents(node.get("copyrightHolder"), doc, b, "Organization")
        for prop in _MODEL_IRIS:
            fields[prop] = iris(node.get(prop), self.page)
        for prop in _MODEL_STRS:
            fields[prop] = texts(node.get(prop), split_commas=prop == "operatingSystem")
        fields["isAccessibleForFree"] = boolean(node.get("isAccessibleForFree"))
        fields["distribution"] = downloads(node, self.doc, b)
        fields["funding"] = grants(node.get("funding"), self.doc, b)
        b.add(MLModel(**fields))
        evaluations = [
            e
            for i, v in enumerate(as_list(node.get("hasEvaluation"))[:50])
            if (e := evaluation(iri, v, i, doc, b, self._eval_datasets))
        ]
        if evaluations:
            b.add(MLModel(id=iri, hasEvaluation=evaluations))

    def _eval_datasets(self, value: Any) -> list[str]:
        return self.links(value, "Dataset", "evaluationDataset")

    def _based_on(self, value: Any) -> list[str]:
        out: list[str] = []
        for item in as_list(value)[:50]:
            node = self.doc.deref(item)
            kind = ml_kind(node) if isinstance(node, dict) else None
            iri = self.link(node, kind, "isBasedOn") if kind else None
            iri = iri or next(iter(iris(node, self.page)), None)
            if iri and iri not in out:
                out.append(canonical(iri, kind or ""))
        return out

    # ---------------------------------------------------------------- datasets, papers

    def _dataset(self, iri: str, node: dict[str, Any], is_primary: bool) -> None:
        fields = self._common(iri, node, is_primary)
        fields["isBasedOn"] = self._based_on(node.get("isBasedOn"))
        formats = texts(node.get("encodingFormat"))
        for item in as_list(node.get("distribution"))[:50]:
            item = self.doc.deref(item)
            if isinstance(item, dict):
                formats += [f for f in texts(item.get("encodingFormat")) if f not in formats]
        fields["encodingFormat"] = formats[:20]
        conforms = iris(node.get("conformsTo"), self.page)
        if not conforms and any(k.startswith("cr:") for k in node):
            conforms = [CROISSANT + "1.0"]
        fields["conformsTo"] = conforms
        self.builder.add(Dataset(**fields))

    def _article(self, iri: str, node: dict[str, Any], is_primary: bool) -> None:
        fields = self._common(iri, node, is_primary)
        fields["abstract"] = text(node.get("abstract"), self.builder, "abstract")
        fields["codeRepository"] = iris(node.get("codeRepository"), self.page)
        self.builder.add(ScholarlyArticle(**fields))
