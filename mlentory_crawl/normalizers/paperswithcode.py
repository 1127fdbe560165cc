"""PapersWithCode archive dumps → FAIR4ML records (fair4ml.md §12, §13.7).

One normalizer for the five dumps; ``raw.kind`` says which object a record holds:

========== ======================================= ==============================================
kind       payload (one element of the dump)       primary entity
========== ======================================= ==============================================
paper      papers-with-abstracts entry             ``ScholarlyArticle`` (arXiv/DOI/PwC-page IRI)
code       links-between-papers-and-code entry     ``SoftwareSourceCode`` at the repository URL
method     methods entry                           ``MLModel`` (a model family) when a collection
                                                   is a kind of model, else the method's
                                                   ``DefinedTerm``
dataset    datasets entry                          ``Dataset`` at the PwC dataset page
task       evaluation-tables task (no subtasks,    the task ``DefinedTerm``; its benchmark
           datasets without rows; ``parents``)     datasets as nodes
model      every evaluation-table row of one       ``MLModel`` ``<base>model/pwc/<sha1(paper_url|
           ``paper_url|model_name``                model_name)>``, one ``MLModelEvaluation``/row
========== ======================================= ==============================================

The spider builds the task/model envelopes from the evaluation-table trees (the tree parts
themselves are untouched; see :mod:`.pwc_evaluation`). Pure functions: no Scrapy, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import FAIR4MLRecord, ScholarlyArticle, SoftwareSourceCode
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import dict_list, parse_datetime, str_list, unique
from mlentory_crawl.normalizers.pwc_catalog import normalize_dataset, normalize_method
from mlentory_crawl.normalizers.pwc_evaluation import normalize_model, normalize_task
from mlentory_crawl.normalizers.pwc_refs import (
    MAX_LIST,
    keyword_term,
    long_text,
    method_term,
    paper_ref,
    person_refs,
    repo_iri,
    task_term,
    text,
)

#: Framework slugs of the links dump that are not the keyword they stand for.
FRAMEWORKS = {"tf": "tensorflow", "none": None, "": None}


def normalize(raw: RawRecord, minter: Minter) -> FAIR4MLRecord:
    """Normalize one PwC dump record (see the module docstring for the kinds).

    Raises:
        NormalizationError: unknown kind, a payload that is not an object, or a record
            without the identifier its kind needs.
    """
    handler = KINDS.get(raw.kind)
    if handler is None:
        raise NormalizationError(f"unknown paperswithcode record kind {raw.kind!r}")
    if not isinstance(raw.payload, dict):
        raise NormalizationError(
            f"{raw.kind} payload is {type(raw.payload).__name__}, expected a JSON object"
        )
    builder = RecordBuilder(raw, minter)
    return handler(builder, raw.payload)


def normalize_paper(builder: RecordBuilder, data: dict[str, Any]) -> FAIR4MLRecord:
    """A papers-with-abstracts entry → ``ScholarlyArticle``."""
    iri = paper_ref(
        builder,
        title=data.get("title"),
        paper_url=data.get("paper_url"),
        arxiv_id=data.get("arxiv_id"),
        url_abs=data.get("url_abs"),
        url_pdf=data.get("url_pdf"),
    )
    if iri is None:
        raise NormalizationError("paper without arxiv_id, paper_url or url_abs")
    if text(data.get("title")) is None:
        builder.note("field/name/missing")
    tasks = [task_term(builder, t) for t in str_list(data.get("tasks"))[:MAX_LIST]]
    methods = [
        method_term(
            builder,
            m.get("name"),
            full_name=m.get("full_name"),
            description=long_text(builder, m.get("description"), "method_description"),
        )
        for m in dict_list(data.get("methods"))[:MAX_LIST]
    ]
    reproduces = paper_ref(builder, paper_url=data.get("reproduces_paper"))
    identifier = [
        f"{prefix}:{value}"
        for prefix, key in (("openreview", "openreview_id"), ("nips", "nips_id"))
        if (value := text(data.get(key), 200))
    ]
    openreview = text(data.get("openreview_id"), 200)
    same = [f"https://openreview.net/forum?id={openreview}"] if openreview else []
    article = ScholarlyArticle(
        id=iri,
        abstract=long_text(builder, data.get("abstract"), "abstract"),
        description=long_text(builder, data.get("short_abstract"), "short_abstract"),
        author=person_refs(builder, data.get("authors")),
        datePublished=parse_datetime(data.get("date")),
        about=unique(tasks),
        keywords=unique(methods),
        isBasedOn=[reproduces] if reproduces else [],
        identifier=identifier,
        sameAs=[s for s in same if " " not in s],
    )
    if data.get("date") and article.datePublished is None:
        builder.note("field/datePublished/invalid")
    builder.add(article)
    return builder.build(builder.get(iri) or article)


def normalize_code(builder: RecordBuilder, data: dict[str, Any]) -> FAIR4MLRecord:
    """A links-between-papers-and-code entry → ``SoftwareSourceCode`` linked to its paper.

    An official repository is the paper's ``codeRepository`` and cites the paper as its
    ``referencePublication``; an unofficial one only ``citation``-s it.
    """
    repo = repo_iri(data.get("repo_url"))
    if repo is None:
        raise NormalizationError(f"unusable repo_url {str(data.get('repo_url'))[:200]!r}")
    paper = paper_ref(
        builder,
        title=data.get("paper_title"),
        paper_url=data.get("paper_url"),
        arxiv_id=data.get("paper_arxiv_id"),
        url_abs=data.get("paper_url_abs"),
        url_pdf=data.get("paper_url_pdf"),
    )
    official = data.get("is_official") is True
    if paper is not None and official:
        builder.add(ScholarlyArticle(id=paper, codeRepository=[repo]))
    framework = text(data.get("framework"), 100)
    framework = FRAMEWORKS.get(framework.lower(), framework) if framework else None
    path = repo.split("://", 1)[1].split("/", 1)[-1]
    code = SoftwareSourceCode(
        id=repo,
        name=path if "/" in path else None,
        url=repo,
        codeRepository=[repo],
        keywords=[k for k in [keyword_term(builder, framework)] if k],
        referencePublication=[paper] if paper and official else [],
        citation=[paper] if paper and not official else [],
    )
    if paper is None:
        builder.note("link/code/no_paper")
    return builder.build(code)


KINDS: dict[str, Callable[[RecordBuilder, dict[str, Any]], FAIR4MLRecord]] = {
    "paper": normalize_paper,
    "code": normalize_code,
    "method": normalize_method,
    "dataset": normalize_dataset,
    "task": normalize_task,
    "model": normalize_model,
}
