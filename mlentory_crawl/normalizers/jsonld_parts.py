"""Model parts of the JSON-LD normalizer: downloads, grants and evaluations.

Pure functions over an interpreted page (:class:`~.jsonld_extract.Document`); each adds its
nodes to the record builder and returns their IRIs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlentory_crawl.identity import slug
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import (
    DataDownload,
    Grant,
    MLModelEvaluation,
    PropertyValue,
    SoftwareSourceCode,
)
from mlentory_crawl.normalizers.common import as_int, as_list, as_str, parse_number
from mlentory_crawl.normalizers.jsonld_extract import Document, absolute, identifier_texts
from mlentory_crawl.normalizers.jsonld_nodes import boolean, date, first, iris, text, texts


def downloads(node: dict[str, Any], doc: Document, builder: RecordBuilder) -> list[str]:
    """DataDownload nodes for ``distribution`` entries and ``downloadUrl`` links; their IRIs."""
    out: list[str] = []
    for item in as_list(node.get("distribution"))[:50] + as_list(node.get("downloadUrl"))[:10]:
        item = doc.deref(item)
        if isinstance(item, dict):
            url = absolute(first(item.get("contentUrl")), doc.page_url)
            iri = (
                url
                or absolute(item.get("@id"), doc.page_url)
                or absolute(first(item.get("url")), doc.page_url)
            )
            if iri is None:
                continue
            digest = text(item.get("sha256"))
            builder.add(
                DataDownload(
                    id=iri,
                    name=text(item.get("name")),
                    contentUrl=url or iri,
                    encodingFormat=text(item.get("encodingFormat")),
                    contentSize=as_int(first(item.get("contentSize"))),
                    sha256=digest if digest and len(digest) == 64 else None,
                )
            )
        else:
            iri = absolute(item, doc.page_url)
            if iri is None:
                continue
            builder.add(DataDownload(id=iri, contentUrl=iri))
        if iri not in out:
            out.append(iri)
    return out


def grants(value: Any, doc: Document, builder: RecordBuilder) -> list[str]:
    """Grant nodes (named by funder, name and identifier) for ``funding``; their IRIs."""
    out: list[str] = []
    for item in as_list(value)[:20]:
        item = doc.deref(item)
        if not isinstance(item, dict):
            continue
        name = text(item.get("name"))
        funders = texts(item.get("funder"))
        ident = as_str(first(identifier_texts(item)))
        iri = absolute(item.get("@id"), doc.page_url) or absolute(
            first(item.get("url")), doc.page_url
        )
        if iri is None and not (name or ident):
            continue
        iri = iri or builder.minter.node("grant", f"{'|'.join(funders)}|{name}|{ident}")
        grant = Grant(id=iri, name=name, funder=funders, identifier=[ident] if ident else [])
        out.append(builder.add(grant).id)
    return out


def evaluation(
    model: str,
    value: Any,
    index: int,
    doc: Document,
    builder: RecordBuilder,
    datasets: Callable[[Any], list[str]],
) -> str | None:
    """An MLModelEvaluation node (both directions linked by the caller) and its IRI.

    Metric values become PropertyValue nodes ``<evaluation>#<metric>``; their names are added
    to ``evaluationMetrics``; text results go to the description. ``datasets`` maps the
    ``evaluationDataset`` value to dataset IRIs.
    """
    node = doc.deref(value)
    if not isinstance(node, dict):
        return None
    name = text(node.get("name"))
    iri = absolute(node.get("@id"), doc.page_url) or builder.minter.evaluation(
        f"{model}|jsonld|{index}|{name or ''}"
    )
    metrics = texts(node.get("evaluationMetrics"))
    results: list[str] = []
    notes: list[str] = []
    for pos, item in enumerate(as_list(node.get("evaluationResults"))[:100]):
        item = doc.deref(item)
        if not isinstance(item, dict):
            if text(item):
                notes.append(text(item) or "")
            continue
        label = text(item.get("propertyID")) or text(item.get("name")) or str(pos)
        raw_value = first(item.get("value"))
        number = parse_number(raw_value)
        result = PropertyValue(
            id=f"{iri}#{slug(label)}",
            propertyID=text(item.get("propertyID")),
            name=text(item.get("name")),
            value=number if number is not None else text(raw_value),
            minValue=parse_number(first(item.get("minValue"))),
            maxValue=parse_number(first(item.get("maxValue"))),
            unitText=text(item.get("unitText")),
        )
        results.append(builder.add(result).id)
        if label not in metrics and not label.isdigit():
            metrics.append(label)
    software = [
        builder.add(SoftwareSourceCode(id=i)).id
        for i in iris(node.get("evaluationSoftware"), doc.page_url)
    ]
    description = text(node.get("description"), builder, "evaluation/description")
    builder.add(
        MLModelEvaluation(
            id=iri,
            name=name,
            description=description or ("\n".join(notes) or None),
            evaluatedMLModel=[model],
            evaluationDataset=datasets(node.get("evaluationDataset")),
            evaluationMetrics=metrics,
            evaluationResults=results,
            evaluationSoftware=software,
            extrinsicEvaluation=boolean(node.get("extrinsicEvaluation")),
            dateCreated=date(node.get("dateCreated"), builder, "evaluation/dateCreated"),
            datePublished=date(node.get("datePublished"), builder, "evaluation/datePublished"),
        )
    )
    return iri
