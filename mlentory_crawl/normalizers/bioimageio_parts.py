"""Building blocks of the bioimage.io normalizer: identity, files, tags, links, weights.

Every function takes already-parsed description data (a dict from ``rdf.yaml`` or the index
entry), adds the nodes it mints to a :class:`RecordBuilder` and returns IRIs or texts for the
primary node. Nothing here raises on bad input; the few facts worth counting become builder
notes (``field/<name>/<fact>``). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from mlentory_crawl.identity import Minter, repo_path, strip_doi_prefix
from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import DataDownload, Dataset, DefinedTerm, MLModel
from mlentory_crawl.normalizers.bioimageio_agents import SOURCE, agents, scrub
from mlentory_crawl.normalizers.common import (
    as_dict,
    as_list,
    as_str,
    safe_iri,
    str_list,
    unique,
)

#: The public page of a zoo resource (bioimage-io/collection uses this pattern).
ZOO = "https://bioimage.io/#/artifacts/"
#: The Hypha workspace of the zoo; its ids are ``bioimage-io/<nickname>``.
WORKSPACE = "bioimage-io"
MAX_ID = 200
MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_WEIGHTS = 16

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_ZENODO_ID = re.compile(r"^(10\.\d{4,9}/[^/\s]+)(?:/(\d+))?$")
_ZOO_URL = re.compile(r"^https?://(?:www\.)?bioimage\.io/#/(?:artifacts/|\?id=)(.+)$")
_HYPHA_URL = re.compile(r"^https?://[^/]+/([^/]+)/artifacts/([^/?#]+)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Tags that name a task → (task code, label). Inferred, as fair4ml.md §13.6 suggests.
TASKS: dict[str, tuple[str, str]] = {
    "segmentation": ("segmentation", "Segmentation"),
    "instance-segmentation": ("instance-segmentation", "Instance segmentation"),
    "semantic-segmentation": ("semantic-segmentation", "Semantic segmentation"),
    "panoptic-segmentation": ("panoptic-segmentation", "Panoptic segmentation"),
    "pixel-classification": ("semantic-segmentation", "Semantic segmentation"),
    "denoising": ("denoising", "Denoising"),
    "image-denoising": ("denoising", "Denoising"),
    "deconoising": ("denoising", "Denoising"),
    "restoration": ("image-restoration", "Image restoration"),
    "image-restoration": ("image-restoration", "Image restoration"),
    "image-reconstruction": ("image-reconstruction", "Image reconstruction"),
    "reconstruction": ("image-reconstruction", "Image reconstruction"),
    "super-resolution": ("super-resolution", "Super-resolution"),
    "deconvolution": ("deconvolution", "Deconvolution"),
    "classification": ("image-classification", "Image classification"),
    "image-classification": ("image-classification", "Image classification"),
    "detection": ("object-detection", "Object detection"),
    "object-detection": ("object-detection", "Object detection"),
    "tracking": ("object-tracking", "Object tracking"),
    "cell-tracking": ("object-tracking", "Object tracking"),
    "registration": ("image-registration", "Image registration"),
    "image-registration": ("image-registration", "Image registration"),
    "inpainting": ("inpainting", "Inpainting"),
    "virtual-staining": ("virtual-staining", "Virtual staining"),
    "in-silico-labeling": ("virtual-staining", "Virtual staining"),
    "artificial-labelling": ("virtual-staining", "Virtual staining"),
    "image-to-image": ("image-to-image", "Image-to-image"),
}
#: Legacy weight-format names → the current ones.
WEIGHT_FORMATS = {"pytorch_script": "torchscript"}
#: Version keys of a weights entry → the framework they version.
_VERSION_KEYS = (
    ("pytorch_version", "pytorch"),
    ("tensorflow_version", "tensorflow"),
    ("opset_version", "onnx opset"),
)


# -- identity -------------------------------------------------------------------------------


def zenodo_parts(text: str | None) -> tuple[str | None, str | None]:
    """``10.5281/zenodo.5764892/6647674`` → (concept DOI, version DOI); lower-case DOIs."""
    if not text:
        return None, None
    match = _ZENODO_ID.match(text.strip())
    if not match:
        return None, None
    concept = match.group(1).lower()
    version = f"10.5281/zenodo.{match.group(2)}" if match.group(2) and "zenodo" in concept else None
    return concept, version


def clean_key(text: Any) -> str | None:
    """A usable resource key (``affable-shark``, ``ilastik/livecell_dataset``) or ``None``."""
    value = as_str(text)
    if value is None or len(value) > MAX_ID or _CONTROL.search(value):
        return None
    value = value.strip("/")
    if value.endswith("/latest"):
        value = value[: -len("/latest")]
    parts = value.split("/")
    if not value or any(part in ("", ".", "..") for part in parts):
        return None
    if not any(ch.isalnum() for ch in value):
        return None
    return value


def key_from_ref(text: Any) -> str | None:
    """A resource key from a zoo id, a ``bioimage-io/<id>`` artifact id or a zoo/Hypha URL."""
    value = as_str(text)
    if value is None:
        return None
    match = _ZOO_URL.match(value)
    if match:
        return clean_key(match.group(1).replace("%2F", "/").replace("%2f", "/"))
    hypha = _HYPHA_URL.match(value)
    if hypha:
        workspace, alias = hypha.groups()
        return clean_key(alias if workspace == WORKSPACE else f"{workspace}/{alias}")
    if value.startswith(("http://", "https://")):
        return None
    key = clean_key(value)
    if key and key.startswith(WORKSPACE + "/") and key.count("/") == 1:
        key = key.split("/", 1)[1]
    return key


def zoo_key(artifact_id: str) -> str:
    """The zoo key of a Hypha artifact id: ``bioimage-io/<alias>`` → ``<alias>``, else the id."""
    workspace, _, alias = artifact_id.partition("/")
    return alias if workspace == WORKSPACE and alias else artifact_id


def zoo_iri(key: str) -> str:
    """``https://bioimage.io/#/artifacts/<key>`` with each segment percent-encoded."""
    return ZOO + repo_path(key)


# -- files ----------------------------------------------------------------------------------


def file_iri(ref: Any, base: str | None) -> str | None:
    """An absolute IRI for a file reference; relative paths resolve against the rdf URL.

    A relative file keeps the rdf URL's query (Hypha pins the version as ``?version=v0``).
    """
    value = as_str(ref)
    if value is None:
        return None
    if re.match(r"^https?://", value, flags=re.IGNORECASE):
        return safe_iri(value)
    if base is None or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", value):
        return None
    joined = urljoin(base, value.lstrip("./") if value.startswith("./") else value)
    query = urlsplit(base).query
    if query and "?" not in value:
        joined = joined.split("?", 1)[0] + "?" + query
    return safe_iri(joined)


# -- tags ---------------------------------------------------------------------------------


def tag_list(value: Any) -> list[str]:
    """Tags as unique, single-line strings (over-long ones dropped)."""
    tags: list[str] = []
    for tag in str_list(value)[:MAX_TAGS]:
        text = " ".join(tag.split())
        if text and len(text) <= MAX_TAG_CHARS and text not in tags:
            tags.append(text)
    return tags


def task_code(tag: str) -> tuple[str, str] | None:
    """The task a tag names (``instance-segmentation``, ``denoising``, …), if any."""
    key = re.sub(r"[\s_]+", "-", tag.strip().lower())
    if key in TASKS:
        return TASKS[key]
    if key.endswith("-segmentation"):
        return TASKS["segmentation"]
    return None


def keywords_and_tasks(tags: list[str], builder: RecordBuilder) -> tuple[list[str], list[str]]:
    """Keyword DefinedTerms for all tags, plus task DefinedTerms for task words."""
    minter: Minter = builder.minter
    keywords: list[str] = []
    tasks: list[str] = []
    term_set = f"{minter.base}task/{SOURCE}"
    for tag in tags:
        iri = minter.keyword(tag)
        builder.add(DefinedTerm(id=iri, name=tag))
        keywords.append(iri)
        task = task_code(tag)
        if task:
            code, label = task
            task_iri = minter.task(SOURCE, code)
            builder.add(
                DefinedTerm(id=task_iri, name=label, termCode=code, inDefinedTermSet=term_set)
            )
            tasks.append(task_iri)
    return unique(keywords), unique(tasks)


# -- linked resources -----------------------------------------------------------------------


def linked(value: Any, builder: RecordBuilder, kind: str) -> list[str]:
    """``training_data`` / ``parent`` references → stub Dataset / MLModel nodes.

    Accepts ``{id}``, ``{id, version}``, ``{uri}``, a bare id, a zoo or Hypha URL, or an
    inline dataset description (``{name, …}`` without an id, minted by name).
    """
    iris: list[str] = []
    for item in as_list(value)[:10]:
        spec = item if isinstance(item, dict) else {"id": item}
        ref = spec.get("id") or spec.get("uri") or spec.get("url") or spec.get("rdf_source")
        key = key_from_ref(ref)
        name = scrub(spec.get("name"))
        iri: str | None = zoo_iri(key) if key else None
        if iri is None and isinstance(ref, str):
            iri = safe_iri(ref)
        if iri is None and name and kind == "dataset":
            iri = builder.minter.dataset(SOURCE, name)
        if iri is None:
            builder.note(f"field/{'trainedOn' if kind == 'dataset' else 'fineTunedFrom'}/invalid")
            continue
        ids = [key] if key else []
        if kind == "dataset":
            description = scrub(spec.get("description"))
            builder.add(Dataset(id=iri, name=name, identifier=ids, description=description))
        else:
            builder.add(MLModel(id=iri, name=name, identifier=ids))
        iris.append(iri)
    return unique(iris)


# -- weights --------------------------------------------------------------------------------


def architecture_name(value: Any) -> str | None:
    """The callable of an architecture: ``{callable}`` (0.5), ``file.py:Name`` or ``pkg.Name``."""
    spec = as_dict(value)
    text = as_str(spec.get("callable")) if spec else as_str(value)
    if text is None:
        return None
    name = text.rsplit(":", 1)[-1] if ":" in text else text.rsplit(".", 1)[-1]
    name = name.strip()
    return name[:100] if name and re.match(r"^[A-Za-z_][\w]*$", name) else None


def _dependencies(value: Any, base: str | None) -> str | None:
    """``conda:<url>`` (0.4) or ``{source}`` (0.5) → a requirement text naming the file."""
    spec = as_dict(value)
    text = as_str(spec.get("source")) if spec else as_str(value)
    if text is None:
        return None
    manager, _, ref = text.partition(":") if re.match(r"^(conda|pip):", text) else ("", "", text)
    url = file_iri(ref, base)
    if url is None:
        return None
    return f"{manager or 'conda'} environment: {url}"


def weights(
    value: Any,
    builder: RecordBuilder,
    model_iri: str,
    base: str | None,
    known: dict[str, str] | None = None,
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """Weight entries → DataDownloads.

    Returns:
        (DataDownload IRIs, formats, software requirements, categories, contributor IRIs).
    """
    downloads: list[str] = []
    formats: list[str] = []
    requirements: list[str] = []
    categories: list[str] = []
    contributors: list[str] = []
    for fmt, spec in list(as_dict(value).items())[:MAX_WEIGHTS]:
        if not isinstance(fmt, str) or not isinstance(spec, dict) or len(fmt) > 60:
            continue
        name = WEIGHT_FORMATS.get(fmt, fmt)
        url = file_iri(spec.get("source"), base)
        sha = as_str(spec.get("sha256"))
        iri = url or builder.minter.node("download", f"{model_iri}|{name}")
        builder.add(
            DataDownload(
                id=iri,
                name=f"{name} weights",
                contentUrl=url,
                encodingFormat=name,
                sha256=sha.lower() if sha and _SHA256.match(sha) else None,
            )
        )
        downloads.append(iri)
        formats.append(name)
        for key, framework in _VERSION_KEYS:
            version = as_str(spec.get(key))
            if version:
                requirements.append(f"{framework} {version}"[:100])
        dependency = _dependencies(spec.get("dependencies"), base)
        if dependency:
            requirements.append(dependency)
        category = architecture_name(spec.get("architecture"))
        if category:
            categories.append(category)
        contributors.extend(agents(spec.get("authors"), builder, "contributor", known))
    return (
        unique(downloads),
        unique(formats),
        unique(requirements),
        unique(categories),
        unique(contributors),
    )


def concept_doi(rdf: dict[str, Any], payload: dict[str, Any]) -> str | None:
    """The Zenodo concept DOI: ``config._conceptdoi``, a legacy id, or the index entry id."""
    config = as_dict(rdf.get("config"))
    for candidate in (config.get("_conceptdoi"), rdf.get("id"), payload.get("id")):
        text = as_str(candidate)
        if not text or not text.lower().startswith(("10.", "doi:", "http")):
            continue
        doi = strip_doi_prefix(text)
        if doi:
            concept, _ = zenodo_parts(doi)
            return concept or doi
    return None
