"""PapersWithCode archive: references shared by every dump (papers, tasks, methods, datasets, code).

Identity rules (fair4ml.md §12), applied before any IRI is minted so that the same entity from
two dumps or two sources is one node:

* papers: arXiv (``arxiv_id``, ``url_abs``, ``url_pdf``, arXiv DOIs; version suffix stripped and
  kept as ``version``) → ``https://arxiv.org/abs/<id>``; else a DOI found in a DOI-bearing URL →
  ``https://doi.org/<lower-case doi>``; else the PwC paper page
  (``https://paperswithcode.com/paper/<slug>``, normalised); else the given URL. The PwC page
  and the Hugging Face papers page are ``sameAs`` of an arXiv paper.
* tasks: ``<base>task/pwc/<slug(name)>``, with ``closeMatch`` to the Hub's task term when the
  slug is a Hub task id (a name match: linked, never merged).
* methods: ``<base>category/pwc/<slug(name)>`` (papers list methods by name only).
* datasets: the PwC dataset page when known; a Hub dataset (``huggingface.co/datasets/<id>``
  links, data loaders) is ``sameAs`` it; a dataset known only by name (evaluation tables) is
  ``<base>dataset/pwc/<slug(name)>``.
* code: the repository URL (https, host lower-cased, no ``www.``, no trailing ``/`` or ``.git``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from mlentory_crawl.identity import (
    clean_hf_ref,
    hf_dataset_iri,
    hf_model_iri,
    is_hf_repo_id,
    paper_iri,
    parse_arxiv,
    path_segment,
    slug,
)
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import Dataset, DefinedTerm, MLModel, Person, ScholarlyArticle
from mlentory_crawl.normalizers.common import as_dict, as_str, as_text, safe_iri, truncate, unique
from mlentory_crawl.normalizers.hf_eval import KNOWN_TASKS, LEGACY_TASKS, task_ref

SOURCE = "paperswithcode"
PWC = "https://paperswithcode.com"
TASK_SET = f"{PWC}/sota"
METHOD_SET = f"{PWC}/methods"
HF = "https://huggingface.co/"
PAPERS_ATTACHMENT = "papers"
MAX_LIST = 200
MAX_NAME = 500
MAX_TEXT = 100_000
_DOI_URL = re.compile(r"arxiv\.org/|doi\.org/|(?:^|/)10\.\d{4,9}/", re.IGNORECASE)
_HF_DATASET_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/datasets/([^?#]+)", re.I)
_HF_DATASETS_REPO = re.compile(
    r"^https?://(?:www\.)?github\.com/huggingface/(?:nlp|datasets)/(?:tree|blob)/[^/]+/datasets/"
    r"([^/?#]+)",
    re.IGNORECASE,
)
_HF_MODEL_URL = re.compile(
    r"^https?://(?:www\.)?huggingface\.co/(?!datasets/|spaces/|papers/)", re.I
)
_OPENML_DATASET = re.compile(r"^https?://(?:www\.)?openml\.org/(?:d/|search\?.*\bid=)(\d+)", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLACEHOLDER_PREFIXES = ("please enter a description", "no description")
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")


def text(value: Any, limit: int = MAX_NAME) -> str | None:
    """Stripped text of a string value (numbers and containers are not text here).

    Control characters (other than tab and line breaks) are removed: converted leaderboards
    carry stray ``\x02``/``\x03`` markers.
    """
    out = as_text(_CONTROL.sub("", value) if isinstance(value, str) else value)
    if out is None:
        return None
    return truncate(out, limit)[0]


def long_text(builder: RecordBuilder, value: Any, field: str) -> str | None:
    """Long text (abstracts, descriptions), cut at :data:`MAX_TEXT` with a note.

    PwC's own form placeholders ("Please enter a description ...") are dropped.
    """
    raw = as_text(_CONTROL.sub("", value) if isinstance(value, str) else value)
    if raw is not None and raw.lower().startswith(_PLACEHOLDER_PREFIXES):
        builder.note(f"field/{field}/placeholder")
        return None
    out, cut = truncate(raw, MAX_TEXT)
    if cut:
        builder.note(f"field/{field}/truncated")
    return out


def title_text(value: Any) -> str | None:
    """A paper title; ``None`` for a URL or a reference marker such as ``[2]`` (both seen in
    evaluation tables)."""
    out = text(value)
    if out is None or re.match(r"^(?:https?://|\[?\d{1,4}\]?$)", out, re.IGNORECASE):
        return None
    return out


def pwc_page(value: Any, section: str | None = None) -> str | None:
    """A normalised ``https://paperswithcode.com/<section>/<slug>`` URL, or ``None``.

    Accepts http/https, ``www.``, trailing slashes, queries and fragments, and site-relative
    paths (``/paper/x``).
    """
    raw = as_text(value)
    if raw is None or len(raw) > 1000:
        return None
    if raw.startswith("/"):
        raw = PWC + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.scheme.lower() not in ("http", "https") or host != "paperswithcode.com":
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or (section is not None and (segments[0] != section or len(segments) < 2)):
        return None
    path = "/".join(path_segment(unquote(s)) for s in segments)
    return safe_iri(f"{PWC}/{path}")


def repo_iri(value: Any) -> str | None:
    """A code repository URL, normalised (see the module docstring); ``None`` if unusable."""
    iri = safe_iri(value)
    if iri is None:
        return None
    parts = urlsplit(iri)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    path = parts.path.rstrip("/")
    if host in _CODE_HOSTS:
        path = path.removesuffix(".git").rstrip("/")
        if path.count("/") < 2:  # https://github.com/owner is not a repository
            return None
        return f"https://{host}{path}"
    port = f":{parts.port}" if parts.port else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{path or ''}{query}"


def repo_root(value: Any) -> str | None:
    """The repository of a code URL (``github.com/o/r/blob/…`` → ``https://github.com/o/r``)."""
    iri = repo_iri(value)
    if iri is None:
        return None
    parts = urlsplit(iri)
    host = parts.hostname or ""
    if host in _CODE_HOSTS:
        segments = [s for s in parts.path.split("/") if s]
        return f"https://{host}/{segments[0]}/{segments[1].removesuffix('.git')}"
    return iri


def paper_ref(
    builder: RecordBuilder,
    *,
    title: Any = None,
    paper_url: Any = None,
    arxiv_id: Any = None,
    url_abs: Any = None,
    url_pdf: Any = None,
) -> str | None:
    """Add the ``ScholarlyArticle`` node of a paper and return its IRI (``None``: no identifier)."""
    page = pwc_page(paper_url, "paper")
    known = as_dict(known_papers(builder).get(page)) if page else {}
    candidates = [as_text(v) for v in (arxiv_id, url_abs, url_pdf, paper_url)] + [
        as_text(known.get(k)) for k in ("arxiv_id", "url_abs", "url_pdf")
    ]
    texts = [c for c in candidates if c and len(c) <= 1000]
    arxiv = next((a for a in map(parse_arxiv, texts) if a is not None), None)
    version = next(
        (a.version for a in map(parse_arxiv, texts) if a is not None and a.version), None
    )
    same: list[str] = []
    identifier: list[str] = []
    url: str | None
    if arxiv is not None:
        iri = url = arxiv.iri
        identifier.append(f"arXiv:{arxiv.id}")
        if "/" not in arxiv.id:
            same.append(f"{HF}papers/{arxiv.id}")
    else:
        version = None
        doi_iri = next((paper_iri(t) for t in texts if _DOI_URL.search(t)), None)
        if doi_iri is not None:
            iri = url = doi_iri
            identifier.append(doi_iri.removeprefix("https://doi.org/"))
        elif page is not None:
            iri, url = page, safe_iri(url_abs) or page
        else:
            fallback = safe_iri(paper_url) or safe_iri(url_abs)
            if fallback is None:
                if texts:
                    builder.note("field/paper/unidentified")
                return None
            iri = url = fallback
    if page is not None and page != iri:
        same.append(page)
        if known:
            builder.note("link/paper/resolved_by_index")
    builder.add(
        ScholarlyArticle(
            id=iri,
            name=title_text(title),
            url=url,
            identifier=identifier,
            sameAs=same,
            version=version,
        )
    )
    return iri


def known_papers(builder: RecordBuilder) -> dict[str, Any]:
    """The ``papers`` attachment: PwC paper page → identifiers found by the spider's index."""
    attachment = builder.raw.attachments.get(PAPERS_ATTACHMENT)
    if attachment is None or not attachment.text:
        return {}
    try:
        data = json.loads(attachment.text)
    except ValueError:
        builder.note("attachment/papers/invalid")
        return {}
    return data if isinstance(data, dict) else {}


def person_refs(builder: RecordBuilder, value: Any) -> list[str]:
    """Author names → name-only ``Person`` nodes (never merged across sources, §12)."""
    iris: list[str] = []
    for name in unique(text(v, 300) for v in (value if isinstance(value, list) else [value])):
        if len(iris) >= MAX_LIST:
            builder.note("field/author/truncated")
            break
        iri = builder.minter.agent(SOURCE, name)
        builder.add(Person(id=iri, name=name))
        iris.append(iri)
    return iris


def task_term(builder: RecordBuilder, name: Any, url: Any = None) -> str | None:
    """Add the PwC task ``DefinedTerm`` (and its Hub twin as ``closeMatch``); return its IRI."""
    label = text(name, 300)
    if label is None:
        return None
    code = slug(label)
    close: list[str] = []
    if code in KNOWN_TASKS or code in LEGACY_TASKS:
        hf_task = task_ref(builder, code)
        if hf_task:
            close.append(hf_task)
    iri = builder.minter.task("pwc", label)
    builder.add(
        DefinedTerm(
            id=iri,
            name=label,
            termCode=code,
            inDefinedTermSet=TASK_SET,
            url=pwc_page(url, "task"),
            closeMatch=close,
        )
    )
    return iri


def method_iri(builder: RecordBuilder, name: str) -> str:
    """``<base>category/pwc/<slug(name)>``: a method as a model-category term."""
    return f"{builder.minter.base}category/pwc/{path_segment(slug(name))}"


def method_term(
    builder: RecordBuilder,
    name: Any,
    *,
    full_name: Any = None,
    description: str | None = None,
    url: Any = None,
) -> str | None:
    """Add the ``DefinedTerm`` of a PwC method and return its IRI."""
    label = text(name, 300)
    if label is None:
        return None
    iri = method_iri(builder, label)
    page = pwc_page(url, "method")
    full = text(full_name, 300)
    builder.add(
        DefinedTerm(
            id=iri,
            name=label,
            alternateName=[full] if full and full != label else [],
            description=description,
            termCode=page.rsplit("/", 1)[-1] if page else slug(label),
            inDefinedTermSet=METHOD_SET,
            url=page,
        )
    )
    return iri


def keyword_term(builder: RecordBuilder, value: Any) -> str | None:
    """A source-independent keyword ``DefinedTerm`` (``<base>keyword/<tag>``)."""
    label = text(value, 100)
    if label is None:
        return None
    iri = builder.minter.keyword(label)
    builder.add(DefinedTerm(id=iri, name=label))
    return iri


def hf_dataset_of(url: Any) -> str | None:
    """The Hub dataset id named by a URL (``huggingface.co/datasets/<id>`` or a legacy
    ``github.com/huggingface/datasets/tree/<rev>/datasets/<id>`` loader), else ``None``."""
    raw = as_text(url)
    if raw is None:
        return None
    match = _HF_DATASET_URL.match(raw) or _HF_DATASETS_REPO.match(raw)
    if not match:
        return None
    ref = clean_hf_ref(unquote(match.group(1)).strip("/"), kind="datasets")
    ref = re.sub(r"/(?:tree|blob|resolve|viewer)/.*$", "", ref)
    return ref if ref and is_hf_repo_id(ref) else None


def hf_dataset_node(builder: RecordBuilder, hub_id: str) -> str:
    """Add a Hub dataset node exactly as the huggingface normalizer does; return its IRI."""
    iri = hf_dataset_iri(hub_id)
    builder.add(Dataset(id=iri, name=hub_id, url=iri, identifier=[hub_id]))
    return iri


def openml_dataset_of(url: Any) -> str | None:
    """``https://www.openml.org/d/<id>`` for an OpenML dataset URL, else ``None``."""
    raw = as_text(url)
    match = _OPENML_DATASET.match(raw) if raw else None
    return f"https://www.openml.org/d/{match.group(1)}" if match else None


def model_link(builder: RecordBuilder, url: Any) -> str | None:
    """A ``model_links`` URL: a Hub model becomes its canonical IRI (and node); else the URL."""
    raw = as_str(url)
    if raw is None or len(raw) > 1000:
        return None
    if _HF_MODEL_URL.match(raw):
        ref = re.sub(r"/(?:tree|blob|resolve)/.*$", "", clean_hf_ref(raw.split("?")[0]))
        if ref and is_hf_repo_id(ref):
            iri = hf_model_iri(ref)
            builder.add(MLModel(id=iri, name=ref, url=iri, identifier=[ref]))
            return iri
    return safe_iri(raw)


def name_dataset(builder: RecordBuilder, name: str) -> str:
    """``<base>dataset/pwc/<slug(name)>``: a dataset known to PwC only by its name."""
    return builder.minter.dataset("pwc", name)
