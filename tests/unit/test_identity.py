"""Identifier normalisation: one IRI per paper, licence, dataset, task, keyword."""

from __future__ import annotations

import pytest

from mlentory_crawl.identity import (
    Minter,
    hf_dataset_iri,
    hf_model_iri,
    orcid_iri,
    paper_iri,
    parse_arxiv,
)
from mlentory_crawl.licenses import resolve_license, spdx_id

ARXIV = "https://arxiv.org/abs/2305.18290"


@pytest.mark.parametrize(
    "value",
    [
        "arxiv:2305.18290",
        "arXiv:2305.18290v2",
        "2305.18290",
        "https://arxiv.org/abs/2305.18290v3",
        "https://arxiv.org/pdf/2305.18290.pdf",
        "10.48550/arXiv.2305.18290",
        "https://doi.org/10.48550/ARXIV.2305.18290",
    ],
)
def test_arxiv_forms_share_one_iri(value: str) -> None:
    assert paper_iri(value) == ARXIV


def test_arxiv_version_kept_apart() -> None:
    parsed = parse_arxiv("arXiv:2305.18290v2")
    assert parsed is not None and parsed.version == "v2"
    assert paper_iri("arxiv:hep-th/9901001") == "https://arxiv.org/abs/hep-th/9901001"


def test_doi_is_lower_cased() -> None:
    assert paper_iri("doi:10.5281/ZENODO.123") == "https://doi.org/10.5281/zenodo.123"
    assert paper_iri("https://doi.org/10.1000/ABC.") == "https://doi.org/10.1000/abc"
    assert paper_iri("not a paper") is None


def test_hf_iris_are_percent_encoded() -> None:
    assert hf_model_iri("acme/tiny") == "https://huggingface.co/acme/tiny"
    assert hf_model_iri("https://huggingface.co/acme/tiny/") == "https://huggingface.co/acme/tiny"
    assert hf_dataset_iri("datasets/acme/c") == "https://huggingface.co/datasets/acme/c"
    assert hf_model_iri('a"b/c d') == "https://huggingface.co/a%22b/c%20d"


def test_orcid() -> None:
    assert orcid_iri("https://orcid.org/0000-0002-1825-009x") == (
        "https://orcid.org/0000-0002-1825-009X"
    )
    assert orcid_iri("nope") is None


def test_minter_is_deterministic_and_configurable() -> None:
    minter = Minter("https://example.org/x")
    assert minter.task("hf", "Text Generation") == "https://example.org/x/task/hf/text-generation"
    assert minter.keyword("Text  Generation") == "https://example.org/x/keyword/text-generation"
    assert minter.evaluation("k") == minter.evaluation("k")
    assert minter.evaluation("k") != minter.evaluation("k2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("apache-2.0", "Apache-2.0"),
        ("MIT", "MIT"),
        ("cc-by-nc-sa-4.0", "CC-BY-NC-SA-4.0"),
        ("CC BY 4.0", "CC-BY-4.0"),
        ("odc-by", "ODC-By-1.0"),
        ("BSD-2", "BSD-2-Clause"),
        ("gemma", None),
    ],
)
def test_spdx_ids(text: str, expected: str | None) -> None:
    assert spdx_id(text) == expected


def test_named_and_unknown_licences() -> None:
    base = "https://example.org/x/"
    gemma = resolve_license("gemma", source="huggingface", base=base)
    assert gemma is not None
    assert gemma.iri == "https://example.org/x/license/huggingface/gemma"
    assert gemma.url == "https://ai.google.dev/gemma/terms"
    other = resolve_license(
        "other", source="huggingface", base=base, name="acme-license", link="https://a.ex/l"
    )
    assert other is not None and other.name == "acme-license" and other.url == "https://a.ex/l"
    assert resolve_license("unknown", source="huggingface", base=base) is None
    assert resolve_license("other", source="huggingface", base=base) is None
    mit = resolve_license("mit", source="huggingface", base=base)
    assert mit is not None and mit.iri == "https://spdx.org/licenses/MIT"
