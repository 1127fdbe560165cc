"""FAIR4ML 0.1.0 as Pydantic v2 models, plus the schema.org entities they point to.

A harvested record is a small graph: one primary entity (usually an ``MLModel``) and the
nodes it references (datasets, papers, licences, agents, defined terms, evaluations and
their results). Every node has an absolute IRI; relationships are lists of IRIs, so the
same entity reached from two sources collapses into one node in every store.

Field names are the compact JSON-LD names of :mod:`mlentory_crawl.items.vocab`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

PLACEHOLDERS = frozenset(
    {"[more information needed]", "more information needed", "n/a", "none", "null", "tbd", "-"}
)
_IRI_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


def _check_iri(value: str) -> str:
    if not _IRI_RE.match(value):
        raise ValueError(f"not an absolute http(s) IRI: {value[:200]!r}")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


IRI = Annotated[str, AfterValidator(_check_iri)]
UTCDateTime = Annotated[datetime, AfterValidator(_utc)]


def clean_text(value: Any) -> Any:
    """Strip text; turn empty strings and card placeholders into ``None``."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped or stripped.lower() in PLACEHOLDERS:
            return None
        return stripped
    return value


class Node(BaseModel):
    """Common schema.org Thing properties shared by every node."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", ser_json_timedelta="iso8601")

    id: IRI = Field(alias="@id")
    name: str | None = None
    alternateName: list[str] = Field(default_factory=list)
    description: str | None = None
    url: IRI | None = None
    identifier: list[str] = Field(default_factory=list)
    sameAs: list[IRI] = Field(default_factory=list)
    closeMatch: list[IRI] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        """Drop empty/placeholder text and duplicate list entries before validation."""
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in ("type", "@type"):
                out[key] = value
            elif isinstance(value, list | tuple):
                seen: list[Any] = []
                for item in value:
                    item = clean_text(item)
                    if item is not None and item not in seen:
                        seen.append(item)
                out[key] = seen
            else:
                out[key] = clean_text(value)
        return out

    @property
    def type_name(self) -> str:
        """The compact class name (``MLModel``, ``Dataset``, ...)."""
        return str(type(self).model_fields["type"].default)

    def merge(self, other: Node) -> None:
        """Fold ``other`` (same IRI, same class) into this node: lists union, scalars fill gaps."""
        for name in type(self).model_fields:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                setattr(self, name, mine + [v for v in theirs if v not in mine])
            elif mine is None and theirs is not None:
                setattr(self, name, theirs)


class CreativeWorkBase(Node):
    """Properties of schema:CreativeWork used across several classes."""

    author: list[IRI] = Field(default_factory=list)
    contributor: list[IRI] = Field(default_factory=list)
    maintainer: list[IRI] = Field(default_factory=list)
    citation: list[IRI] = Field(default_factory=list)
    referencePublication: list[IRI] = Field(default_factory=list)
    keywords: list[IRI] = Field(default_factory=list)
    license: list[IRI] = Field(default_factory=list)
    dateCreated: UTCDateTime | None = None
    dateModified: UTCDateTime | None = None
    datePublished: UTCDateTime | None = None
    version: str | None = None
    inLanguage: list[str] = Field(default_factory=list)
    about: list[IRI] = Field(default_factory=list)
    isBasedOn: list[IRI] = Field(default_factory=list)
    image: list[IRI] = Field(default_factory=list)


class MLModel(CreativeWorkBase):
    """``fair4ml:MLModel``: a trained model, with every FAIR4ML 0.1.0 property."""

    type: Literal["MLModel"] = Field("MLModel", alias="@type")
    # FAIR4ML
    fineTunedFrom: list[IRI] = Field(default_factory=list)
    trainedOn: list[IRI] = Field(default_factory=list)
    testedOn: list[IRI] = Field(default_factory=list)
    validatedOn: list[IRI] = Field(default_factory=list)
    evaluatedOn: list[IRI] = Field(default_factory=list)
    hasEvaluation: list[IRI] = Field(default_factory=list)
    mlTask: list[IRI] = Field(default_factory=list)
    modelCategory: list[str] = Field(default_factory=list)
    intendedUse: str | None = None
    usageInstructions: str | None = None
    codeSampleSnippet: str | None = None
    modelRisksBiasLimitations: str | None = None
    ethicalSocial: str | None = None
    legal: str | None = None
    hasCO2eEmissions: str | None = None
    sharedBy: list[IRI] = Field(default_factory=list)
    # schema.org reused by FAIR4ML
    archivedAt: list[IRI] = Field(default_factory=list)
    codeRepository: list[IRI] = Field(default_factory=list)
    conditionsOfAccess: str | None = None
    copyrightHolder: list[IRI] = Field(default_factory=list)
    discussionUrl: list[IRI] = Field(default_factory=list)
    distribution: list[IRI] = Field(default_factory=list)
    funding: list[IRI] = Field(default_factory=list)
    isAccessibleForFree: bool | None = None
    memoryRequirements: list[str] = Field(default_factory=list)
    operatingSystem: list[str] = Field(default_factory=list)
    processorRequirements: list[str] = Field(default_factory=list)
    releaseNotes: str | None = None
    softwareRequirements: list[str] = Field(default_factory=list)
    storageRequirements: list[str] = Field(default_factory=list)
    # CodeMeta reused by FAIR4ML
    buildInstructions: list[IRI] = Field(default_factory=list)
    developmentStatus: str | None = None
    issueTracker: list[IRI] = Field(default_factory=list)
    readme: list[IRI] = Field(default_factory=list)
    # project extension (<base>vocab#): typed lineage, popularity, size, access
    baseModelFinetune: list[IRI] = Field(default_factory=list)
    baseModelAdapter: list[IRI] = Field(default_factory=list)
    baseModelQuantized: list[IRI] = Field(default_factory=list)
    baseModelMerge: list[IRI] = Field(default_factory=list)
    newVersion: list[IRI] = Field(default_factory=list)
    downloads: int | None = None
    downloadsAllTime: int | None = None
    likes: int | None = None
    parameterCount: int | None = None
    gated: str | None = None
    hyperParameter: list[IRI] = Field(default_factory=list)  # PropertyValue nodes (defaults)


class MLModelEvaluation(Node):
    """``fair4ml:MLModelEvaluation``: one evaluation of one model."""

    type: Literal["MLModelEvaluation"] = Field("MLModelEvaluation", alias="@type")
    evaluatedMLModel: list[IRI] = Field(default_factory=list)
    evaluationDataset: list[IRI] = Field(default_factory=list)
    evaluationMetrics: list[str] = Field(default_factory=list)
    evaluationResults: list[IRI] = Field(default_factory=list)
    evaluationSoftware: list[IRI] = Field(default_factory=list)
    extrinsicEvaluation: bool | None = None
    about: list[IRI] = Field(default_factory=list)
    author: list[IRI] = Field(default_factory=list)
    citation: list[IRI] = Field(default_factory=list)
    referencePublication: list[IRI] = Field(default_factory=list)
    dateCreated: UTCDateTime | None = None
    datePublished: UTCDateTime | None = None


class PropertyValue(Node):
    """``schema:PropertyValue``: one metric value of an evaluation."""

    type: Literal["PropertyValue"] = Field("PropertyValue", alias="@type")
    propertyID: str | None = None
    value: float | int | str | None = None
    minValue: float | None = None
    maxValue: float | None = None
    unitText: str | None = None


class Dataset(CreativeWorkBase):
    """``schema:Dataset`` (FAIR4ML's ``cr:Dataset`` ranges are satisfied by it)."""

    type: Literal["Dataset"] = Field("Dataset", alias="@type")
    conformsTo: list[IRI] = Field(default_factory=list)
    distribution: list[IRI] = Field(default_factory=list)
    encodingFormat: list[str] = Field(default_factory=list)
    defaultTarget: list[str] = Field(default_factory=list)  # mlx: default target attribute(s)


class ScholarlyArticle(CreativeWorkBase):
    """``schema:ScholarlyArticle``: a paper, keyed by its arXiv or DOI IRI."""

    type: Literal["ScholarlyArticle"] = Field("ScholarlyArticle", alias="@type")
    abstract: str | None = None
    codeRepository: list[IRI] = Field(default_factory=list)


class Person(Node):
    """``schema:Person``."""

    type: Literal["Person"] = Field("Person", alias="@type")
    affiliation: list[IRI] = Field(default_factory=list)


class Organization(Node):
    """``schema:Organization``."""

    type: Literal["Organization"] = Field("Organization", alias="@type")


class CreativeWork(Node):
    """``schema:CreativeWork``: used for licences (SPDX or named)."""

    type: Literal["CreativeWork"] = Field("CreativeWork", alias="@type")


class DefinedTerm(Node):
    """``schema:DefinedTerm``: tasks, keywords, categories."""

    type: Literal["DefinedTerm"] = Field("DefinedTerm", alias="@type")
    termCode: str | None = None
    inDefinedTermSet: IRI | None = None


class DataDownload(Node):
    """``schema:DataDownload``: one downloadable file of a model."""

    type: Literal["DataDownload"] = Field("DataDownload", alias="@type")
    contentUrl: IRI | None = None
    encodingFormat: str | None = None
    contentSize: int | None = None
    sha256: str | None = None


class SoftwareSourceCode(CreativeWorkBase):
    """``schema:SoftwareSourceCode``: code repositories, OpenML flows."""

    type: Literal["SoftwareSourceCode"] = Field("SoftwareSourceCode", alias="@type")
    codeRepository: list[IRI] = Field(default_factory=list)
    programmingLanguage: list[str] = Field(default_factory=list)
    softwareRequirements: list[str] = Field(default_factory=list)
    hasPart: list[IRI] = Field(default_factory=list)


class Grant(Node):
    """``schema:Grant``: funding, named by its funder text."""

    type: Literal["Grant"] = Field("Grant", alias="@type")
    funder: list[str] = Field(default_factory=list)


AnyNode = Annotated[
    Union[  # noqa: UP007 - a discriminated union needs the Union form for pydantic
        MLModel,
        MLModelEvaluation,
        PropertyValue,
        Dataset,
        ScholarlyArticle,
        Person,
        Organization,
        CreativeWork,
        DefinedTerm,
        DataDownload,
        SoftwareSourceCode,
        Grant,
    ],
    Field(discriminator="type"),
]
NODE_CLASSES: dict[str, type[Node]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        MLModel,
        MLModelEvaluation,
        PropertyValue,
        Dataset,
        ScholarlyArticle,
        Person,
        Organization,
        CreativeWork,
        DefinedTerm,
        DataDownload,
        SoftwareSourceCode,
        Grant,
    )
}


class Provenance(BaseModel):
    """Where and when a record came from, and which crawler produced it."""

    model_config = ConfigDict(extra="forbid")

    source: str
    sourceId: str
    url: IRI
    apiUrl: str
    fetchedUrls: list[str] = Field(default_factory=list)
    retrievedAt: UTCDateTime
    spider: str
    crawlerVersion: str
    jobId: str
    payloadSha256: str | None = None
    vocabulary: str = "https://w3id.org/fair4ml/0.1.0"
    notes: list[str] = Field(default_factory=list)


class FAIR4MLRecord(BaseModel):
    """One harvested record: a primary entity, the nodes it references, and provenance."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    context: Any = Field(default=None, alias="@context", exclude=True)
    id: IRI = Field(alias="@id", description="IRI of the record (a prov:Entity)")
    primaryTopic: IRI = Field(description="IRI of the primary entity, a node of the graph")
    graph: list[AnyNode] = Field(alias="@graph")
    provenance: Provenance

    def node(self, iri: str) -> Node | None:
        """Return the node with this IRI, if the record holds it."""
        for node in self.graph:
            if node.id == iri:
                return node
        return None

    @property
    def primary(self) -> Node:
        """The primary entity (``primaryTopic``)."""
        node = self.node(self.primaryTopic)
        if node is None:  # guarded by the builder; a hand-made record may still lack it
            raise ValueError(f"primary topic {self.primaryTopic} is not in the graph")
        return node

    def to_jsonld(self, context: Any = None) -> dict[str, Any]:
        """Serialise as a JSON-LD document (compact names, ``@context``, ``@id``, ``@type``).

        Args:
            context: the ``@context`` value; the project context IRI by default. Pass the
                dict from :func:`mlentory_crawl.items.vocab.jsonld_context` for a
                self-contained document.
        """
        from mlentory_crawl.items.vocab import DEFAULT_BASE_IRI

        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        body["@graph"] = [{k: v for k, v in node.items() if v != []} for node in body["@graph"]]
        ctx = context if context is not None else DEFAULT_BASE_IRI + "context.jsonld"
        return {"@context": ctx, **body}


def record_json_schema() -> dict[str, Any]:
    """The JSON Schema of a serialised :class:`FAIR4MLRecord`."""
    return FAIR4MLRecord.model_json_schema(by_alias=True)


def utcnow() -> datetime:
    """The current time in UTC (one place to patch in tests)."""
    return datetime.now(UTC)
