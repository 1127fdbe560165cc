"""Items: the raw record spiders yield and the FAIR4ML models normalizers produce."""

from mlentory_crawl.items.fair4ml import (
    NODE_CLASSES,
    CreativeWork,
    DataDownload,
    Dataset,
    DefinedTerm,
    FAIR4MLRecord,
    Grant,
    MLModel,
    MLModelEvaluation,
    Node,
    Organization,
    Person,
    PropertyValue,
    Provenance,
    ScholarlyArticle,
    SoftwareSourceCode,
)
from mlentory_crawl.items.raw import Attachment, NormalizedItem, RawRecord

__all__ = [
    "NODE_CLASSES",
    "Attachment",
    "CreativeWork",
    "DataDownload",
    "Dataset",
    "DefinedTerm",
    "FAIR4MLRecord",
    "Grant",
    "MLModel",
    "MLModelEvaluation",
    "Node",
    "NormalizedItem",
    "Organization",
    "Person",
    "PropertyValue",
    "Provenance",
    "RawRecord",
    "ScholarlyArticle",
    "SoftwareSourceCode",
]
