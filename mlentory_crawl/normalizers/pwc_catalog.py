"""PapersWithCode archive: the ``methods`` and ``datasets`` catalogues → FAIR4ML nodes.

Methods. Every method is a ``DefinedTerm`` (``<base>category/pwc/<slug(name)>``), the form a
paper's ``methods[]`` entry also takes. A method whose collection is a kind of model ("…
Models", "… Networks", "… Transformers", "Backbone Architectures", …: BERT, ResNet, GPT-2) is
also a *model family*: an ``MLModel`` at ``<base>model/pwc/<sha1("method|" + slug(name))>``
with the collections as ``modelCategory``, the introducing paper as
``referencePublication`` and the term as ``about``. Techniques (optimisers, losses,
activations, regularisers, …) stay terms only. ``introduced_year`` is not mapped: a bare year
has no FAIR4ML/schema.org date form here (and 2000 is PwC's placeholder for "unknown").

Datasets. A dataset is a ``schema:Dataset`` at its PwC page. A data loader that points to the
Hugging Face Hub (or OpenML) is strong evidence of identity: ``sameAs`` the Hub dataset IRI,
whose node is written as the huggingface normalizer writes it (so both sources meet on one
node). The dataset's name and variants are weaker evidence: they are ``alternateName``-s and
``closeMatch`` the name-minted ``<base>dataset/pwc/<slug>`` nodes that evaluation tables use,
so the two are linked but never merged.
"""

from __future__ import annotations

import re
from typing import Any

from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import Dataset, FAIR4MLRecord, MLModel
from mlentory_crawl.normalizers import NormalizationError
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_str,
    dict_list,
    parse_datetime,
    safe_iri,
    str_list,
    unique,
)
from mlentory_crawl.normalizers.pwc_refs import (
    MAX_LIST,
    hf_dataset_node,
    hf_dataset_of,
    keyword_term,
    long_text,
    method_iri,
    method_term,
    name_dataset,
    openml_dataset_of,
    paper_ref,
    pwc_page,
    repo_root,
    task_term,
    text,
)

#: Collection names that make a method a model family (matched at the end of the name).
_FAMILY = re.compile(
    r"(?:models|networks|transformers|architectures|chatbots|detectors|parsers|trackers)$",
    re.IGNORECASE,
)

#: Language names of the datasets dump → BCP 47 (others are kept as given).
LANGUAGES = {
    "english": "en", "chinese": "zh", "german": "de", "french": "fr", "spanish": "es",
    "japanese": "ja", "russian": "ru", "arabic": "ar", "portuguese": "pt", "italian": "it",
    "korean": "ko", "hindi": "hi", "dutch": "nl", "turkish": "tr", "polish": "pl",
    "vietnamese": "vi", "indonesian": "id", "czech": "cs", "swedish": "sv", "finnish": "fi",
    "danish": "da", "greek": "el", "hebrew": "he", "persian": "fa", "thai": "th",
    "ukrainian": "uk", "romanian": "ro", "hungarian": "hu", "bengali": "bn", "urdu": "ur",
    "tamil": "ta", "swahili": "sw", "norwegian": "no", "catalan": "ca", "basque": "eu",
}  # fmt: skip


def is_model_family(collections: list[str]) -> bool:
    """True when one of the method's collections names a kind of model."""
    return any(_FAMILY.search(c.strip()) for c in collections)


def normalize_method(builder: RecordBuilder, data: dict[str, Any]) -> FAIR4MLRecord:
    """A methods entry → the method term, and a model-family ``MLModel`` where it is one."""
    name = text(data.get("name"), 300)
    if name is None:
        raise NormalizationError("method without a name")
    description = long_text(builder, data.get("description"), "description")
    term = method_term(
        builder, name, full_name=data.get("full_name"), description=description,
        url=data.get("url"),
    )  # fmt: skip
    assert term is not None
    collections = dict_list(data.get("collections"))[:MAX_LIST]
    names = unique(text(c.get("collection"), 300) for c in collections)
    if not is_model_family(names):
        return builder.build(builder.get(term))  # type: ignore[arg-type]
    paper = as_dict(data.get("paper"))
    source_url = as_str(data.get("source_url"))
    if source_url and not re.search(r"arxiv\.org|doi\.org", source_url, re.IGNORECASE):
        source_url = None
    reference = paper_ref(
        builder,
        title=paper.get("title") or data.get("source_title"),
        paper_url=paper.get("url"),
        url_abs=source_url,
    )
    full = text(data.get("full_name"), 300)
    page = builder.get(term).url  # type: ignore[union-attr]
    model = MLModel(
        id=builder.minter.model("pwc", f"method|{method_iri(builder, name)}"),
        name=name,
        alternateName=[full] if full and full != name else [],
        description=description,
        url=page,
        identifier=[page.rsplit("/", 1)[-1]] if page else [],
        modelCategory=names,
        about=[term],
        keywords=unique(keyword_term(builder, c.get("area")) for c in collections if c.get("area")),
        referencePublication=[reference] if reference else [],
        codeRepository=[r for r in [repo_root(data.get("code_snippet_url"))] if r],
    )
    return builder.build(model)


def normalize_dataset(builder: RecordBuilder, data: dict[str, Any]) -> FAIR4MLRecord:
    """A datasets entry → ``Dataset`` at its PwC page, linked to Hub/OpenML twins."""
    name = text(data.get("name"), 300)
    page = pwc_page(data.get("url"), "dataset")
    if page is None and name is None:
        raise NormalizationError("dataset without url and name")
    iri = page or name_dataset(builder, name or "")
    if page is None:
        builder.note("field/url/missing")
    same: list[str] = []
    for loader in dict_list(data.get("data_loaders"))[:MAX_LIST]:
        url, repo = loader.get("url"), loader.get("repo")
        hub_id = hf_dataset_of(url) or hf_dataset_of(repo)
        if hub_id:
            same.append(hf_dataset_node(builder, hub_id))
            builder.note("link/sameAs/hf_dataset")
        elif openml := openml_dataset_of(url):
            builder.add(Dataset(id=openml, url=openml))
            same.append(openml)
            builder.note("link/sameAs/openml_dataset")
    variants = [v for v in str_list(data.get("variants"))[:MAX_LIST] if len(v) <= 300]
    full = text(data.get("full_name"), 300)
    labels = unique([name, *variants])
    close: list[str] = []
    for label in labels:
        close_iri = name_dataset(builder, label)
        if close_iri != iri and close_iri not in close:
            builder.add(Dataset(id=close_iri, name=label))
            close.append(close_iri)
    if close:
        builder.note("link/closeMatch/dataset_name")
    paper = as_dict(data.get("paper"))
    citation = paper_ref(builder, title=paper.get("title"), paper_url=paper.get("url"))
    languages = [LANGUAGES.get(lang.lower(), lang) for lang in str_list(data.get("languages"))]
    dataset = Dataset(
        id=iri,
        name=name,
        alternateName=[a for a in [full, *variants] if a and a != name],
        description=long_text(builder, data.get("description"), "description"),
        url=safe_iri(data.get("homepage")) or page,
        sameAs=unique(same),
        closeMatch=close,
        citation=[citation] if citation else [],
        datePublished=parse_datetime(data.get("introduced_date")),
        keywords=unique(keyword_term(builder, m) for m in str_list(data.get("modalities"))),
        inLanguage=unique(languages[:MAX_LIST]),
        about=unique(
            task_term(builder, t.get("task"), t.get("url"))
            for t in dict_list(data.get("tasks"))[:MAX_LIST]
        ),
    )
    return builder.build(dataset)
