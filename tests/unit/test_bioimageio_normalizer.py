"""bioimage.io normalizer: FAIR4ML values from project-authored index entries and rdf.yaml files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rdflib import Literal, Namespace, URIRef

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.raw import Attachment, RawRecord
from mlentory_crawl.items.rdf import record_to_graph
from mlentory_crawl.normalizers import NormalizationError, get_normalizer
from mlentory_crawl.normalizers.bioimageio import normalize
from mlentory_crawl.normalizers.bioimageio_agents import scrub, valid_orcid
from mlentory_crawl.normalizers.bioimageio_parts import file_iri, key_from_ref, task_code
from mlentory_crawl.normalizers.bioimageio_tensors import tensor_line

DATA = Path(__file__).resolve().parents[1] / "data" / "bioimageio"
BASE = "https://example.org/kg/"
MINTER = Minter(BASE)
HYPHA = "https://hypha.aicell.io"
LIST_URL = f"{HYPHA}/public/services/artifact-manager/list?parent_id=bioimage-io%2Fbioimage.io"
ZOO = "https://bioimage.io/#/artifacts/"
SCHEMA = Namespace("http://schema.org/")
FAIR4ML = Namespace("https://w3id.org/fair4ml#")
EMAIL = re.compile(r"[\w.+-]+@example\.org")


def index_entry(alias: str) -> dict[str, Any]:
    """An entry of the project-authored Hypha list pages."""
    for page in sorted((DATA / "index").glob("list_page_*.json")):
        for item in json.loads(page.read_text(encoding="utf-8"))["items"]:
            if item["id"] == f"bioimage-io/{alias}":
                return dict(item)
    raise KeyError(alias)


def rdf_text(name: str) -> str:
    return (DATA / "rdf" / f"{name}.yaml").read_text(encoding="utf-8")


def make_raw(
    payload: Any,
    text: str | None,
    *,
    status: int = 200,
    alias: str = "x",
    version: str = "v0",
    attach: bool = True,
) -> RawRecord:
    url = f"{HYPHA}/bioimage-io/artifacts/{alias}/files/rdf.yaml?version={version}"
    attachments = {"rdf": Attachment(url=url, status=status, text=text)} if attach else {}
    return RawRecord(
        source="bioimageio",
        source_id=str(payload.get("id", alias)) if isinstance(payload, dict) else alias,
        url=ZOO + alias,
        api_url=LIST_URL,
        retrieved_at="2026-02-03T04:05:06Z",
        payload=payload,
        kind="model",
        attachments=attachments,
        job_id="job-bio",
    )


def record_for(alias: str, rdf_name: str | None = None, version: str = "v0") -> FAIR4MLRecord:
    return normalize(
        make_raw(index_entry(alias), rdf_text(rdf_name or alias), alias=alias, version=version),
        MINTER,
    )


def node(record: FAIR4MLRecord, iri: str) -> Any:
    found = record.node(iri)
    assert found is not None, f"{iri} not in graph"
    return found


# -- format 0.5 model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def otter() -> FAIR4MLRecord:
    return record_for("sunny-otter", version="v1")


def test_v05_identity_and_basic_fields(otter: FAIR4MLRecord) -> None:
    model = otter.primary
    assert otter.primaryTopic == ZOO + "sunny-otter"
    assert model.type_name == "MLModel"
    assert model.url == ZOO + "sunny-otter"
    assert model.name == "Otter Nucleus Denoiser"
    assert model.description.startswith("Joint denoising and instance segmentation")
    assert model.version == "2.1.0"
    assert model.identifier == [
        "bioimage-io/sunny-otter",
        "sunny-otter",
        "10.5281/zenodo.1111111",
        "🦦",
    ]
    assert model.sameAs == ["https://doi.org/10.5281/zenodo.1111111"]
    assert model.downloadsAllTime == 1234
    assert otter.provenance.source == "bioimageio"
    assert otter.provenance.sourceId == "bioimage-io/sunny-otter"
    assert otter.provenance.fetchedUrls[-1].endswith("/sunny-otter/files/rdf.yaml?version=v1")
    assert "bioimageio/format/0.5" in otter.provenance.notes


def test_v05_persons_orcid_and_in_record_resolution(otter: FAIR4MLRecord) -> None:
    model = otter.primary
    ada, bo, carla = (
        "https://orcid.org/0000-0002-1825-0097",
        "https://orcid.org/0000-0002-1694-233X",  # given with a lower-case x
        "https://orcid.org/0000-0001-2345-6789",
    )
    assert model.author == [ada, bo, carla]
    # The maintainer has only a GitHub login, but the same name carries an ORCID as author.
    assert model.maintainer == [ada]
    assert node(otter, ada).sameAs == ["https://github.com/ada-lind"]
    assert node(otter, bo).name == "Bo Chen"  # the e-mail in the name is scrubbed
    org = node(otter, node(otter, ada).affiliation[0])
    assert org.type_name == "Organization"
    assert org.name == "Institute of Imaginary Imaging"
    uploader = MINTER.agent("bioimageio", "Dora Upload")
    assert model.sharedBy == [uploader]
    assert model.contributor == [MINTER.agent("bioimageio", "Packaging Bot"), carla]
    assert node(otter, MINTER.agent("bioimageio", "Packaging Bot")).sameAs == [
        "https://github.com/pack-bot"
    ]


def test_no_email_anywhere_in_the_record(otter: FAIR4MLRecord) -> None:
    dumped = json.dumps(otter.to_jsonld(), ensure_ascii=False)
    assert not EMAIL.search(dumped)
    assert otter.primary.releaseNotes == "Re-exported weights; contact for questions"


def test_v05_citations_licence_keywords_tasks(otter: FAIR4MLRecord) -> None:
    model = otter.primary
    assert model.citation == [
        "https://doi.org/10.1234/nim.2023.0042",
        "https://doi.org/10.1007/978-3-319-24574-4_28",
        "https://arxiv.org/abs/2301.01234",
        "https://example.org/otter",
    ]
    paper = node(otter, "https://doi.org/10.1234/nim.2023.0042")
    assert paper.type_name == "ScholarlyArticle"
    assert paper.name.startswith("Lindqvist A. et al.")
    assert node(otter, "https://doi.org/10.1007/978-3-319-24574-4_28").name is None  # a role label
    assert node(otter, "https://example.org/otter").type_name == "CreativeWork"
    assert "field/citation/unresolvable" in otter.provenance.notes
    assert model.license == ["https://spdx.org/licenses/CC-BY-4.0"]  # from "CC BY 4.0"
    assert node(otter, model.license[0]).identifier == ["CC-BY-4.0"]
    assert model.keywords == [
        MINTER.keyword(t)
        for t in (
            "denoising",
            "instance-segmentation",
            "nuclei",
            "2d",
            "fluorescence-light-microscopy",
        )
    ]
    assert node(otter, MINTER.keyword("2d")).name == "2D"
    assert model.mlTask == [
        f"{BASE}task/bioimageio/denoising",
        f"{BASE}task/bioimageio/instance-segmentation",
    ]
    task = node(otter, f"{BASE}task/bioimageio/instance-segmentation")
    assert (task.type_name, task.termCode, task.name) == (
        "DefinedTerm",
        "instance-segmentation",
        "Instance segmentation",
    )
    assert task.inDefinedTermSet == f"{BASE}task/bioimageio"


def test_v05_lineage_training_data_code_docs_dates(otter: FAIR4MLRecord) -> None:
    model = otter.primary
    files = f"{HYPHA}/bioimage-io/artifacts/sunny-otter/files"  # relative to the rdf URL
    assert model.trainedOn == [ZOO + "ilastik/otter_nuclei_training"]
    dataset = node(otter, model.trainedOn[0])
    assert (dataset.type_name, dataset.identifier) == ("Dataset", ["ilastik/otter_nuclei_training"])
    assert model.fineTunedFrom == [ZOO + "calm-badger"]
    assert node(otter, ZOO + "calm-badger").type_name == "MLModel"
    assert model.codeRepository == ["https://github.com/example-lab/otter-denoiser"]
    assert model.readme == [f"{files}/README.md?version=v1"]
    assert model.image == [f"{files}/cover.png?version=v1", "https://example.org/otter-cover.jpg"]
    assert model.dateCreated.isoformat() == "2024-03-05T09:20:30+00:00"
    assert model.datePublished.isoformat() == "2024-03-05T09:20:30+00:00"
    assert model.dateModified.isoformat() == "2024-10-27T03:33:20+00:00"


def test_v05_weights_requirements_category(otter: FAIR4MLRecord) -> None:
    model = otter.primary
    files = f"{HYPHA}/bioimage-io/artifacts/sunny-otter/files"
    assert model.distribution == [
        f"{files}/weights.pt?version=v1",
        f"{files}/weights_torchscript.pt?version=v1",
        "https://example.org/files/otter.onnx",
    ]
    state = node(otter, model.distribution[0])
    assert (state.type_name, state.encodingFormat, state.contentUrl) == (
        "DataDownload",
        "pytorch_state_dict",
        model.distribution[0],
    )
    assert state.sha256 == "1" * 64
    assert node(otter, model.distribution[2]).sha256 is None  # "not-a-sha" is dropped
    assert model.modelCategory == ["OtterUNet"]
    assert model.softwareRequirements == [
        "pytorch 2.1.0",
        f"conda environment: {files}/environment.yaml?version=v1",
        "onnx opset 17",
    ]


def test_v05_usage_instructions_are_exact(otter: FAIR4MLRecord) -> None:
    assert otter.primary.usageInstructions == (
        "Inputs:\n"
        "- raw (uint16): axes batch, channel[1], y[min 64, step 16], x[min 64, step 16]; "
        "preprocessing zero_mean_unit_variance — widefield image\n"
        "Outputs:\n"
        "- denoised (float32): axes batch, channel[1], y[= raw.y, halo 8], x[= raw.x, halo 8]; "
        "postprocessing clip\n"
        "- labels (int32): axes batch, y[256], x[256]\n"
        "Weight formats: pytorch_state_dict, torchscript, onnx"
    )


def test_record_is_deterministic_and_serialises(otter: FAIR4MLRecord) -> None:
    again = record_for("sunny-otter", version="v1")
    assert again.model_dump(mode="json", by_alias=True) == otter.model_dump(
        mode="json", by_alias=True
    )
    FAIR4MLRecord.model_validate(json.loads(otter.model_dump_json(by_alias=True)))
    graph = record_to_graph(otter, BASE)
    model = URIRef(ZOO + "sunny-otter")
    assert (model, FAIR4ML.trainedOn, URIRef(ZOO + "ilastik/otter_nuclei_training")) in graph
    assert (model, SCHEMA.license, URIRef("https://spdx.org/licenses/CC-BY-4.0")) in graph
    assert (model, SCHEMA.name, Literal("Otter Nucleus Denoiser")) in graph


def test_registered_in_the_normalizer_registry() -> None:
    assert get_normalizer("bioimageio") is normalize


# -- format 0.4 model, legacy ids ---------------------------------------------------------------


@pytest.fixture(scope="module")
def heron() -> FAIR4MLRecord:
    return record_for("brave-heron")


def test_v04_legacy_zenodo_id_maps_to_the_nickname(heron: FAIR4MLRecord) -> None:
    model = heron.primary
    assert heron.primaryTopic == ZOO + "brave-heron"
    assert model.identifier == [
        "bioimage-io/brave-heron",
        "brave-heron",
        "10.5281/zenodo.2222222/2222223",
        "10.5281/zenodo.2222222",
        "10.5281/zenodo.2222223",
        "🐦",
    ]
    assert model.sameAs == ["https://doi.org/10.5281/zenodo.2222222"]
    assert model.releaseNotes == "Imported from the legacy collection"
    assert model.dateCreated.isoformat() == "2021-11-02T08:00:00+00:00"


def test_v04_agents_licence_citation(heron: FAIR4MLRecord) -> None:
    model = heron.primary
    eli = MINTER.agent("bioimageio", "Eli Novak")
    fay = MINTER.agent("bioimageio", "Fay Osei")  # invalid ORCID check digit → by name
    assert model.author == [eli, fay, "https://github.com/ghost-contrib"]
    assert node(heron, eli).sameAs == ["https://github.com/eli-novak"]
    assert "field/author/orcid_invalid" in heron.provenance.notes
    assert "field/author/email_only_dropped" in heron.provenance.notes
    assert model.license == ["https://spdx.org/licenses/BSD-2-Clause"]  # from "BSD-2"
    assert "field/license/non_spdx" not in heron.provenance.notes
    assert model.citation == ["https://doi.org/10.5555/plant.2021.7"]


def test_v04_tasks_inline_training_data_weights(heron: FAIR4MLRecord) -> None:
    model = heron.primary
    assert model.mlTask == [
        f"{BASE}task/bioimageio/semantic-segmentation",
        f"{BASE}task/bioimageio/segmentation",  # from "membrane-segmentation"
    ]
    inline = MINTER.dataset("bioimageio", "Heron confocal stacks")
    assert model.trainedOn == [inline]
    assert node(heron, inline).description == "Forty annotated confocal stacks."
    formats = [node(heron, iri).encodingFormat for iri in model.distribution]
    assert formats == ["keras_hdf5", "tensorflow_saved_model_bundle", "torchscript"]
    assert model.softwareRequirements == ["tensorflow 2.10"]
    assert model.modelCategory == []
    assert model.usageInstructions == (
        "Inputs:\n"
        "- input (float32): axes bzyxc; shape min [1, 16, 64, 64, 1] step [0, 8, 16, 16, 0]; "
        "preprocessing scale_range\n"
        "Outputs:\n"
        "- output (float32): axes bzyxc; shape = input scale [1, 1, 1, 1, 1] offset "
        "[0, 0, 0, 0, 0]; halo [0, 4, 16, 16, 0]\n"
        "Weight formats: keras_hdf5, tensorflow_saved_model_bundle, torchscript"
    )


def test_legacy_description_without_index_entry_uses_nickname() -> None:
    record = normalize(make_raw({}, rdf_text("brave-heron")), MINTER)
    assert record.primaryTopic == ZOO + "brave-heron"


def test_zenodo_only_id_falls_back_to_the_concept_doi() -> None:
    text = "type: model\nname: Old\nid: 10.5281/zenodo.3333333/3333334\n"
    record = normalize(make_raw({}, text), MINTER)
    assert record.primaryTopic == ZOO + "10.5281/zenodo.3333333"
    assert record.primary.sameAs == ["https://doi.org/10.5281/zenodo.3333333"]


# -- datasets and skipped types -----------------------------------------------------------------


def test_dataset_resource_becomes_a_dataset() -> None:
    record = record_for("quiet-lynx")
    data = record.primary
    assert data.type_name == "Dataset"
    assert record.primaryTopic == ZOO + "quiet-lynx"
    assert data.name == "Lynx Cell Atlas"
    assert data.author == ["https://orcid.org/0000-0002-1825-0097"]
    assert data.license == ["https://spdx.org/licenses/CC0-1.0"]
    assert data.about == [f"{BASE}task/bioimageio/instance-segmentation"]
    assert data.sameAs == ["https://zenodo.org/records/7777777"]
    assert data.citation == ["https://doi.org/10.7777/id.2022.1"]
    assert data.datePublished.isoformat() == "2022-04-15T05:20:00+00:00"  # epoch seconds


def test_application_is_skipped_with_a_reason() -> None:
    with pytest.raises(NormalizationError, match="skipped: resource type 'application'"):
        record_for("eager-panda")


def test_type_mismatch_follows_the_description() -> None:
    record = normalize(make_raw(index_entry("sunny-otter"), rdf_text("quiet-lynx")), MINTER)
    assert record.primary.type_name == "Dataset"
    assert "type/index_mismatch" in record.provenance.notes


# -- unusable descriptions: fallback or quarantine ---------------------------------------------


def test_rdf_404_without_manifest_is_rejected() -> None:
    raw = make_raw(index_entry("gone-mole"), None, status=404)
    with pytest.raises(NormalizationError, match=r"rdf.yaml unavailable \(HTTP 404\), and the"):
        normalize(raw, MINTER)


def test_rdf_404_with_manifest_falls_back_to_it() -> None:
    record = normalize(make_raw(index_entry("brave-heron"), None, status=404), MINTER)
    assert record.primaryTopic == ZOO + "brave-heron"
    assert record.primary.name == "Heron Membrane Segmenter"
    assert record.primary.license == ["https://spdx.org/licenses/BSD-2-Clause"]
    assert {"rdf/unavailable", "rdf/index_fallback"} <= set(record.provenance.notes)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed", "rdf.yaml is not valid YAML"),
        ("list", "rdf.yaml holds a list, not a mapping"),
    ],
)
def test_bad_yaml_is_rejected_or_falls_back(name: str, reason: str) -> None:
    with pytest.raises(NormalizationError, match=re.escape(reason)):
        normalize(make_raw(index_entry("gone-mole"), rdf_text(name)), MINTER)
    record = normalize(make_raw(index_entry("brave-heron"), rdf_text(name)), MINTER)
    assert record.primary.name == "Heron Membrane Segmenter"


@pytest.mark.parametrize(
    "text",
    [
        "timestamp: 2021-13-45\ntype: model\n",  # PyYAML raises ValueError, not YAMLError
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",  # deep nesting (libyaml would segfault)
        "a:\n" + "".join("  " * i + "-\n" for i in range(300)),  # deep block nesting
        "a: " + "x" * 250_000 + "\n",  # too large
        "a: &x [1]\nb: *y\n",  # unknown alias
        "!!python/object:os.system {}\n",  # unsafe tag refused by safe_load
        "",  # empty document → None
    ],
)
def test_hostile_or_broken_yaml_never_crashes(text: str) -> None:
    with pytest.raises(NormalizationError):
        normalize(make_raw(index_entry("gone-mole"), text), MINTER)


def test_missing_attachment_and_non_object_payload() -> None:
    with pytest.raises(NormalizationError, match=r"no rdf\.yaml was fetched"):
        normalize(make_raw(index_entry("gone-mole"), None, attach=False), MINTER)
    with pytest.raises(NormalizationError, match="index entry is a list"):
        normalize(make_raw(["not", "an", "object"], rdf_text("sunny-otter")), MINTER)


# -- hostile ids and wrongly typed fields -------------------------------------------------------


def test_hostile_ids_are_percent_encoded_or_rejected() -> None:
    text = "type: model\nname: X\n"
    record = normalize(make_raw({"id": 'bioimage-io/a b<"x">'}, text), MINTER)
    assert record.primaryTopic == ZOO + "a%20b%3C%22x%22%3E"
    for bad in ("bioimage-io/../../etc", "bioimage-io/a\nb", "x" * 500, 42):
        with pytest.raises(NormalizationError, match="no usable resource id"):
            normalize(make_raw({"id": bad}, text), MINTER)


def test_wrongly_typed_fields_are_tolerated() -> None:
    text = """
type: model
name: 12345
description: {not: text}
version: 1.2
authors: "Solo Author"
maintainers: [null, 5, {name: null}, {orcid: "0000-0002-1825-0097"}]
cite: "just text"
license: {id: MIT}
tags: single-tag
covers: relative.png
documentation: "javascript:alert(1)"
git_repo: not a url
timestamp: not a date
weights: [onnx]
inputs: bad
outputs: [{axes: 7, id: [1]}]
training_data: [ilastik/a, {id: "bioimage-io/b"}]
parent: "https://bioimage.io/#/artifacts/calm-badger"
"""
    record = normalize(make_raw({"id": "bioimage-io/odd-duck", "versions": "nope"}, text), MINTER)
    model = record.primary
    assert model.name == "12345"
    assert model.description is None
    assert model.version == "1.2"
    assert model.author == [MINTER.agent("bioimageio", "Solo Author")]
    assert model.maintainer == ["https://orcid.org/0000-0002-1825-0097"]
    assert model.license == ["https://spdx.org/licenses/MIT"]
    assert model.keywords == [MINTER.keyword("single-tag")]
    assert model.image == [
        "https://hypha.aicell.io/bioimage-io/artifacts/x/files/relative.png?version=v0"
    ]
    assert model.readme == [] and model.codeRepository == [] and model.dateCreated is None
    assert model.distribution == [] and model.usageInstructions is None
    assert model.trainedOn == [ZOO + "ilastik/a", ZOO + "b"]
    assert model.fineTunedFrom == [ZOO + "calm-badger"]
    assert "field/distribution/missing" in record.provenance.notes


def test_non_spdx_licence_gets_a_named_node() -> None:
    text = "type: model\nname: L\nlicense: Custom Academic Licence v2\n"
    record = normalize(make_raw({"id": "bioimage-io/lic"}, text), MINTER)
    iri = f"{BASE}license/bioimageio/custom-academic-licence-v2"
    assert record.primary.license == [iri]
    assert node(record, iri).name == "Custom Academic Licence v2"
    assert "field/license/non_spdx" in record.provenance.notes


# -- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Published by someone@example.org", "Published by"),
        ("Jane <jane@example.org>", "Jane"),
        ("a@b.co", None),
        ("plain", "plain"),
    ],
)
def test_scrub(text: str, expected: str | None) -> None:
    assert scrub(text) == expected


def test_orcid_checksum_and_case() -> None:
    assert valid_orcid("https://orcid.org/0000-0002-1694-233x") == (
        "https://orcid.org/0000-0002-1694-233X"
    )
    assert valid_orcid("0000-0002-1825-0098") is None
    assert valid_orcid("not an orcid") is None


@pytest.mark.parametrize(
    ("ref", "key"),
    [
        ("affable-shark", "affable-shark"),
        ("bioimage-io/affable-shark", "affable-shark"),
        ("https://bioimage.io/#/artifacts/affable-shark", "affable-shark"),
        (
            "https://hypha.aicell.io/bioimage-io/artifacts/affable-shark/files/rdf.yaml",
            "affable-shark",
        ),
        ("ilastik/livecell_dataset", "ilastik/livecell_dataset"),
        ("https://example.org/elsewhere", None),
        ("../x", None),
    ],
)
def test_key_from_ref(ref: str, key: str | None) -> None:
    assert key_from_ref(ref) == key


def test_file_iri_rules() -> None:
    base = f"{HYPHA}/bioimage-io/artifacts/a/files/rdf.yaml?version=v3"
    assert file_iri("w.pt", base) == f"{HYPHA}/bioimage-io/artifacts/a/files/w.pt?version=v3"
    assert (
        file_iri("./sub/w.pt", base) == f"{HYPHA}/bioimage-io/artifacts/a/files/sub/w.pt?version=v3"
    )
    assert file_iri("https://e.org/a b.pt", base) == "https://e.org/a%20b.pt"
    assert file_iri("file:///etc/passwd", base) is None
    assert file_iri("w.pt", None) is None


def test_task_words() -> None:
    assert task_code("Instance Segmentation") == ("instance-segmentation", "Instance segmentation")
    assert task_code("nucleus-segmentation") == ("segmentation", "Segmentation")
    assert task_code("restoration") == ("image-restoration", "Image restoration")
    assert task_code("nuclei") is None


def test_tensor_line_tolerates_partial_specs() -> None:
    assert tensor_line(
        {"name": "t", "axes": "bcyx", "data_type": "uint8", "shape": [1, 1, 8, 8]}
    ) == ("t (uint8): axes bcyx; shape [1, 1, 8, 8]")
    assert tensor_line({"id": "z", "axes": [{"type": "batch", "size": 1}, {"bogus": True}]}) == (
        "z (float32): axes batch[1]"
    )
    assert tensor_line({}) is None
