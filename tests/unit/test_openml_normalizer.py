"""OpenML normalizer: FAIR4ML values from project-authored payloads in ``tests/data/openml``.

The payloads have the exact shapes of the OpenML JSON API (single-entity documents with string
scalars and one-or-many fields, list-template rows with unquoted ints and ``tags``), but the
records are invented.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Literal, URIRef

from mlentory_crawl.identity import Minter
from mlentory_crawl.items.fair4ml import (
    CreativeWork,
    DataDownload,
    Dataset,
    DefinedTerm,
    FAIR4MLRecord,
    MLModel,
    MLModelEvaluation,
    Person,
    PropertyValue,
    ScholarlyArticle,
)
from mlentory_crawl.items.raw import RawRecord
from mlentory_crawl.items.rdf import record_to_graph
from mlentory_crawl.items.vocab import FAIR4ML, SCHEMA, ext_namespace
from mlentory_crawl.normalizers import NormalizationError, get_normalizer
from mlentory_crawl.normalizers.openml import normalize
from mlentory_crawl.normalizers.openml_xml import XMLConversionError, xml_to_array

DATA = Path(__file__).resolve().parent.parent / "data" / "openml"
MINTER = Minter("https://example.org/mlentory-crawl/")
BASE = MINTER.base
F, R, D, T, U = (f"https://www.openml.org/{x}/" for x in "frdtu")
CLASSIFICATION = MINTER.task("openml", "Supervised Classification")


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def raw(kind: str, payload: Any, source_id: str = "1", url: str | None = None) -> RawRecord:
    letter = {"flow": "f", "run": "r", "task": "t", "dataset": "d"}.get(kind, "x")
    return RawRecord(
        source="openml",
        source_id=source_id,
        url=url or f"https://www.openml.org/{letter}/{source_id}",
        api_url=f"https://www.openml.org/api/v1/json/{kind}/{source_id}",
        retrieved_at="2026-11-26T12:00:00Z",
        payload=payload,
        kind=kind,
        job_id="test-job",
    )


def node(record: FAIR4MLRecord, iri: str, cls: type) -> Any:
    found = record.node(iri)
    assert found is not None, f"{iri} not in graph"
    assert isinstance(found, cls), f"{iri} is {type(found).__name__}, not {cls.__name__}"
    return found


def roundtrip(record: FAIR4MLRecord) -> None:
    again = FAIR4MLRecord.model_validate(record.model_dump(mode="json", by_alias=True))
    assert again.model_dump() == record.model_dump()


def bulk_run(run_id: int) -> dict[str, Any]:
    """A run payload as the spider builds it from the list endpoints."""
    runs = load("run_list_page.json")["runs"]["run"]
    run = next(r for r in runs if r["run_id"] == run_id)
    evaluations = load("evaluation_list_page.json")["evaluations"]["evaluation"]
    tasks = {t["task_id"]: t for t in load("task_list_page.json")["tasks"]["task"]}
    task = {k: v for k, v in tasks[run["task_id"]].items() if k != "quality"}
    return {
        "run": run,
        "evaluations": [e for e in evaluations if e["run_id"] == run_id],
        "task": task,
        "fetched": ["https://www.openml.org/api/v1/json/run/list/flow/8801/limit/200/offset/0"],
    }


# -- flows ------------------------------------------------------------------------------------


def test_registered_in_the_normalizer_registry() -> None:
    assert get_normalizer("openml") is normalize


def test_flow_pipeline_maps_to_mlmodel() -> None:
    record = normalize(raw("flow", load("flow_pipeline.json"), "8801"), MINTER)
    model = record.primary
    assert isinstance(model, MLModel)
    assert record.primaryTopic == model.id == model.url == F + "8801"
    assert model.identifier == ["8801"]
    assert model.name.startswith("sklearn.pipeline.Pipeline(scale=")
    assert model.alternateName == [
        "sklearn.Pipeline(StandardScaler,SVC)",
        model.name + "(1)",
    ]
    assert model.version == "1"
    assert model.description is not None
    assert model.description.endswith(
        "Sequentially apply a list of transforms and a final estimator."
    )
    assert model.dateCreated is not None
    assert model.dateCreated.isoformat() == "2023-06-01T12:00:03+00:00"
    assert model.author == [
        MINTER.agent("openml", "Marie Testperson"),
        MINTER.agent("openml", "Kofi Fictional"),
    ]
    assert node(record, model.author[0], Person).name == "Marie Testperson"
    assert model.contributor == [MINTER.agent("openml", "Lena Invented")]
    assert model.sharedBy == [U + "41"]
    assert node(record, U + "41", Person).identifier == ["41"]
    assert model.license == ["https://spdx.org/licenses/Apache-2.0"]
    assert node(record, model.license[0], CreativeWork).name == "Apache-2.0"
    assert model.inLanguage == ["en"]
    assert model.keywords == [
        BASE + "keyword/openml-python",
        BASE + "keyword/sklearn",
        BASE + "keyword/study-14",
    ]
    assert node(record, BASE + "keyword/study-14", DefinedTerm).name == "Study 14"
    assert model.modelCategory == ["sklearn.pipeline.Pipeline"]
    assert model.usageInstructions == "pip install scikit-learn==1.2.2"
    assert model.softwareRequirements == [
        "sklearn==1.2.2",
        "numpy>=1.17.3",
        "scipy>=1.3.2",
        "openml==0.14.1",
    ]
    assert model.isBasedOn == [F + "8802", F + "8803"]
    roundtrip(record)


def test_flow_components_and_hyperparameters() -> None:
    record = normalize(raw("flow", load("flow_pipeline.json"), "8801"), MINTER)
    model = record.primary
    assert isinstance(model, MLModel)
    assert model.hyperParameter == [F + "8801#parameter-memory", F + "8801#parameter-verbose"]
    memory = node(record, F + "8801#parameter-memory", PropertyValue)
    assert (memory.name, memory.propertyID, memory.value) == ("memory", "memory", None)
    assert memory.description == "Used to cache the fitted transformers (data type: None or str)"
    verbose = node(record, F + "8801#parameter-verbose", PropertyValue)
    assert (verbose.value, verbose.description) == ("false", "Data type: bool")
    scaler = node(record, F + "8802", MLModel)
    assert scaler.name == "sklearn.preprocessing._data.StandardScaler"
    assert scaler.modelCategory == ["sklearn.preprocessing._data.StandardScaler"]
    # a single <parameter> arrives as an object, not a list
    assert scaler.hyperParameter == [F + "8802#parameter-with_mean"]
    assert node(record, F + "8802#parameter-with_mean", PropertyValue).value == "true"
    svc = node(record, F + "8803", MLModel)
    assert svc.keywords == [BASE + "keyword/sklearn"]  # "tag": "sklearn" (a scalar)
    assert [node(record, p, PropertyValue).value for p in svc.hyperParameter] == ["1.0", '"rbf"']


def test_flow_with_collapsed_single_values() -> None:
    record = normalize(raw("flow", load("flow_single.json"), "412"), MINTER)
    model = record.primary
    assert isinstance(model, MLModel)
    assert model.id == F + "412"
    assert model.description is None  # "description": [] (an empty XML element)
    assert model.author == [MINTER.agent("openml", "Uma Madeup")]
    assert model.license == ["https://spdx.org/licenses/CC0-1.0"]  # "public"
    assert model.inLanguage == []  # "Java" is a programming language ...
    assert model.softwareRequirements == ["Weka_3.9.5", "Weka_3.9.5_15610", "Java"]  # ... here
    assert model.dateCreated is not None
    assert model.dateCreated.isoformat() == "2016-03-04T11:22:33+00:00"
    assert model.keywords == [BASE + "keyword/weka"]
    assert model.isBasedOn == [F + "413"]
    assert node(record, F + "413", MLModel).name == "weka.Discretize"
    url = "https://www.openml.org/data/download/998877/weka.JRip.jar"
    assert model.distribution == [url]
    download = node(record, url, DataDownload)
    assert (download.contentUrl, download.encodingFormat) == (url, "jar")
    (param,) = model.hyperParameter
    assert node(record, param, PropertyValue).value is None  # "default_value": []


def test_flow_list_row_is_enough_for_a_record() -> None:
    row = load("flow_list_page.json")["flows"]["flow"][0]
    record = normalize(raw("flow", {"flow": row}, "8801"), MINTER)
    model = record.primary
    assert isinstance(model, MLModel)
    assert model.version == "1"  # an unquoted int in list pages
    assert model.sharedBy == [U + "41"]
    assert model.alternateName == [row["full_name"]]
    assert model.keywords == [BASE + "keyword/openml-python", BASE + "keyword/sklearn"]


def test_flow_provenance_and_record_iri() -> None:
    record = normalize(raw("flow", load("flow_single.json"), "412"), MINTER)
    assert record.id == MINTER.record("openml", "flow:412")
    assert record.provenance.source == "openml"
    assert record.provenance.sourceId == "412"
    assert record.provenance.apiUrl == "https://www.openml.org/api/v1/json/flow/412"
    assert record.provenance.jobId == "test-job"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"flow": {"id": "12; DROP TABLE flows", "name": "x"}}, "positive integer id"),
        ({"flow": {"id": "-3", "name": "x"}}, "positive integer id"),
        ({"flow": {"id": True}}, "positive integer id"),
        ({"flow": {"name": "no id"}}, "positive integer id"),
        ({"flow": "weka.J48"}, "not an object"),
        (["flow", 1], "not a JSON object"),
        (None, "not a JSON object"),
        ({"error": {"code": "181", "message": "Unknown flow"}}, "code 181"),
    ],
)
def test_unusable_flows_raise_a_clear_error(payload: Any, reason: str) -> None:
    with pytest.raises(NormalizationError, match=reason):
        normalize(raw("flow", payload), MINTER)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(NormalizationError, match="unknown OpenML record kind"):
        normalize(raw("setup", {"setup": {}}), MINTER)


def test_hostile_and_wrongly_typed_flow_fields() -> None:
    payload = {
        "flow": {
            "id": 77,
            "name": 5,
            "version": ["1", "2"],
            "creator": {"name": "x"},
            "contributor": [None, 3, "", "Real Person", "x" * 5000],
            "upload_date": "yesterday",
            "licence": ["MIT"],
            "language": "Klingon",
            "tag": [{"a": 1}, "ok tag", "  ", "x" * 500],
            "parameter": ["str", {"name": 'a b<>"{}|^`é#?/', "default_value": {"x": 1}}],
            "component": [1, {"flow": "x"}, {"identifier": "self", "flow": {"id": "77"}}],
            "source_url": "javascript:alert(1)",
            "binary_url": "https://example.org/a b.jar",
            "dependencies": {"not": "text"},
        }
    }
    record = normalize(raw("flow", payload, "77"), MINTER)
    model = record.primary
    assert isinstance(model, MLModel)
    assert model.name == "5"  # a number becomes its text
    assert model.version is None
    assert model.author == []
    assert model.contributor == [MINTER.agent("openml", "3"), MINTER.agent("openml", "Real Person")]
    assert model.dateCreated is None
    assert model.license == []
    assert model.inLanguage == []
    assert "field/inLanguage/unmapped" in record.provenance.notes
    assert model.keywords == [BASE + "keyword/ok-tag"]
    assert model.isBasedOn == []  # the self-reference is not a component of itself
    (param,) = model.hyperParameter
    assert param == F + "77#parameter-a%20b%3C%3E%22%7B%7D%7C%5E%60%C3%A9%23%3F%2F"
    assert model.distribution == ["https://example.org/a%20b.jar"]
    roundtrip(record)


def test_component_nesting_is_bounded() -> None:
    flow: dict[str, Any] = {"id": "1000", "name": "leaf"}
    for number in range(1001, 1030):
        flow = {"id": str(number), "name": f"level {number}", "component": {"flow": flow}}
    record = normalize(raw("flow", {"flow": flow}, "1029"), MINTER)
    assert "field/isBasedOn/too_deep" in record.provenance.notes
    assert len([n for n in record.graph if isinstance(n, MLModel)]) == 9


def test_overlong_name_falls_back_and_is_noted() -> None:
    record = normalize(raw("flow", {"flow": {"id": "5", "name": "n" * 600}}, "5"), MINTER)
    assert record.primary.name == "OpenML flow 5"
    assert "field/name/missing" in record.provenance.notes


def test_flow_turtle_holds_the_expected_triples() -> None:
    record = normalize(raw("flow", load("flow_pipeline.json"), "8801"), MINTER)
    graph = record_to_graph(record, BASE)
    model = URIRef(F + "8801")
    assert (model, RDF.type, URIRef(FAIR4ML + "MLModel")) in graph
    assert (model, URIRef(SCHEMA + "isBasedOn"), URIRef(F + "8803")) in graph
    assert (model, URIRef(SCHEMA + "version"), Literal("1")) in graph
    hyper = URIRef(ext_namespace(BASE) + "hyperParameter")
    assert (model, hyper, URIRef(F + "8801#parameter-memory")) in graph
    assert (
        URIRef(F + "8801#parameter-verbose"),
        URIRef(SCHEMA + "value"),
        Literal("false"),
    ) in graph
    parsed = type(graph)().parse(data=graph.serialize(format="turtle"), format="turtle")
    assert len(parsed) == len(graph)


# -- runs -------------------------------------------------------------------------------------


def test_bulk_run_maps_to_an_evaluation_of_the_flow() -> None:
    record = normalize(raw("run", bulk_run(770001), "770001"), MINTER)
    evaluation = record.primary
    assert isinstance(evaluation, MLModelEvaluation)
    assert evaluation.id == evaluation.url == R + "770001"
    assert evaluation.name == (
        "OpenML run 770001: sklearn.pipeline.Pipeline(scale=sklearn.preprocessing._data."
        "StandardScaler,svc=sklearn.svm._classes.SVC)(1) on task 3954 (wine-quality-sample)"
    )
    assert evaluation.evaluatedMLModel == [F + "8801"]
    assert evaluation.evaluationDataset == [D + "40691"]
    assert evaluation.evaluationMetrics == [
        "predictive_accuracy",  # the task's measure first
        "area_under_roc_curve",
        "usercpu_time_millis",
    ]
    assert evaluation.evaluationResults == [
        R + "770001#predictive_accuracy",
        R + "770001#area_under_roc_curve",
        R + "770001#usercpu_time_millis",
    ]
    accuracy = node(record, R + "770001#predictive_accuracy", PropertyValue)
    assert (accuracy.propertyID, accuracy.value) == ("predictive_accuracy", 0.8875)
    assert node(record, R + "770001#usercpu_time_millis", PropertyValue).value == 1532
    assert evaluation.extrinsicEvaluation is False
    assert evaluation.about == [CLASSIFICATION, T + "3954"]
    assert evaluation.author == [U + "41"]
    assert evaluation.dateCreated is not None
    assert evaluation.dateCreated.isoformat() == "2023-06-02T08:00:00+00:00"
    assert "setup 120001" in (evaluation.description or "")
    # the flow gets the evaluation, the dataset and the task type (merged by IRI elsewhere)
    flow = node(record, F + "8801", MLModel)
    assert flow.hasEvaluation == [R + "770001"]
    assert flow.evaluatedOn == [D + "40691"]
    assert flow.mlTask == [CLASSIFICATION]
    assert flow.name is None
    term = node(record, CLASSIFICATION, DefinedTerm)
    assert (term.name, term.termCode) == ("Supervised Classification", "1")
    assert node(record, D + "40691", Dataset).name == "wine-quality-sample"
    task = node(record, T + "3954", DefinedTerm)
    assert task.name == "OpenML task 3954: Supervised Classification on wine-quality-sample"
    assert task.description is not None and "Target feature: quality" in task.description
    assert record.provenance.fetchedUrls == [
        "https://www.openml.org/api/v1/json/run/770001",
        "https://www.openml.org/api/v1/json/run/list/flow/8801/limit/200/offset/0",
    ]
    roundtrip(record)


def test_evaluation_rows_of_other_runs_are_ignored() -> None:
    payload = bulk_run(770002)
    payload["evaluations"] = load("evaluation_list_page.json")["evaluations"]["evaluation"]
    record = normalize(raw("run", payload, "770002"), MINTER)
    evaluation = record.primary
    assert isinstance(evaluation, MLModelEvaluation)
    assert evaluation.evaluationMetrics == ["predictive_accuracy"]
    assert node(record, R + "770002#predictive_accuracy", PropertyValue).value == 0.9012


def test_run_document_with_per_fold_values() -> None:
    record = normalize(raw("run", load("run_detail.json"), "990017"), MINTER)
    evaluation = record.primary
    assert isinstance(evaluation, MLModelEvaluation)
    assert evaluation.evaluatedMLModel == [F + "412"]
    assert evaluation.evaluationDataset == [D + "531"]
    assert evaluation.evaluationMetrics == ["root_mean_squared_error", "mean_absolute_error"]
    rmse = node(record, R + "990017#root_mean_squared_error", PropertyValue)
    assert rmse.value == 4.8812  # the aggregate, not a fold
    assert "evaluation/value/array_only" in record.provenance.notes  # os_information
    regression = MINTER.task("openml", "Supervised Regression")
    assert evaluation.about == [regression, T + "2077"]
    assert node(record, U + "55", Person).name == "Priya Notreal"
    assert "setup string: weka.classifiers.rules.JRip -F 3" in (evaluation.description or "")
    assert node(record, F + "412", MLModel).mlTask == [regression]
    assert node(record, T + "2077", DefinedTerm).name == (
        "OpenML task 2077: Supervised Regression on boston-sample"
    )


def test_run_from_xml_is_read_like_json() -> None:
    xml = (DATA / "run_detail.json").read_text()  # reuse the values through an XML rendering
    document = json.loads(xml)["run"]
    body = "<oml:run xmlns:oml='http://openml.org/openml'>" + "".join(
        f"<oml:{k}>{document[k]}</oml:{k}>"
        for k in ("run_id", "uploader", "task_id", "task_type", "flow_id", "flow_name")
    )
    body += (
        "<oml:input_data><oml:dataset><oml:did>531</oml:did><oml:name>boston-sample</oml:name>"
        "</oml:dataset></oml:input_data><oml:output_data><oml:evaluation>"
        "<oml:name>mean_absolute_error</oml:name><oml:value>3.1</oml:value></oml:evaluation>"
        '<oml:evaluation repeat="0" fold="0"><oml:name>mean_absolute_error</oml:name>'
        "<oml:value>3.3</oml:value></oml:evaluation></oml:output_data></oml:run>"
    )
    record = normalize(raw("run", xml_to_array(body), "990017"), MINTER)
    evaluation = record.primary
    assert isinstance(evaluation, MLModelEvaluation)
    assert evaluation.evaluationMetrics == ["mean_absolute_error"]
    assert node(record, R + "990017#mean_absolute_error", PropertyValue).value == 3.1


def test_run_without_task_or_evaluations_is_kept_and_noted() -> None:
    payload = {"run": {"run_id": 5, "flow_id": 6, "task_id": 7}, "evaluations": [], "task": {}}
    record = normalize(raw("run", payload, "5"), MINTER)
    evaluation = record.primary
    assert isinstance(evaluation, MLModelEvaluation)
    assert evaluation.evaluationDataset == []
    assert evaluation.about == [T + "7"]
    assert node(record, T + "7", DefinedTerm).name is None
    assert {"evaluation/results/missing", "evaluation/dataset/missing"} <= set(
        record.provenance.notes
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"run": {"flow_id": 3}}, "run_id"),
        ({"run": {"run_id": "x", "flow_id": 3}}, "run_id"),
        ({"run": {"run_id": 4}, "evaluations": []}, "names no flow"),
        ({"error": {"code": "236", "message": "Run not found"}}, "code 236"),
    ],
)
def test_unusable_runs_raise_a_clear_error(payload: Any, reason: str) -> None:
    with pytest.raises(NormalizationError, match=reason):
        normalize(raw("run", payload), MINTER)


def test_run_flow_id_can_come_from_its_evaluation_rows() -> None:
    payload = bulk_run(770003)
    del payload["run"]["flow_id"]
    record = normalize(raw("run", payload, "770003"), MINTER)
    evaluation = record.primary
    assert isinstance(evaluation, MLModelEvaluation)
    assert evaluation.evaluatedMLModel == [F + "8803"]
    assert evaluation.evaluationMetrics == ["predictive_accuracy"]
    assert evaluation.evaluationDataset == [D + "1489"]


# -- tasks and datasets -----------------------------------------------------------------------


def test_task_list_row() -> None:
    row = load("task_list_page.json")["tasks"]["task"][1]
    record = normalize(raw("task", {"task": row}, "146820"), MINTER)
    task = record.primary
    assert isinstance(task, DefinedTerm)
    assert task.id == task.url == T + "146820"
    assert task.termCode == "146820"
    assert task.name == "OpenML task 146820: Supervised Classification on phoneme-sample"
    assert task.description == (
        "Task type: Supervised Classification; Dataset: phoneme-sample; Target feature: Class; "
        "Estimation procedure: 1; Evaluation measure: area_under_roc_curve"
    )
    assert node(record, D + "1489", Dataset).name == "phoneme-sample"
    assert node(record, CLASSIFICATION, DefinedTerm).name == "Supervised Classification"


def test_task_document() -> None:
    record = normalize(raw("task", load("task_detail.json"), "2077"), MINTER)
    task = record.primary
    assert isinstance(task, DefinedTerm)
    assert task.name == "OpenML task 2077: Supervised Regression"
    assert task.description == (
        "Task type: Supervised Regression; Target feature: MEDV; "
        "Estimation procedure: crossvalidation; Evaluation measure: root_mean_squared_error"
    )
    assert node(record, D + "531", Dataset).name is None


def test_dataset_document() -> None:
    record = normalize(raw("dataset", load("data_detail.json"), "40691"), MINTER)
    dataset = record.primary
    assert isinstance(dataset, Dataset)
    assert dataset.id == dataset.url == D + "40691"
    assert (dataset.name, dataset.version, dataset.identifier) == (
        "wine-quality-sample",
        "2",
        ["40691"],
    )
    assert dataset.description is not None and dataset.description.startswith("**Author**")
    assert dataset.encodingFormat == ["ARFF"]
    assert dataset.author == [
        MINTER.agent("openml", "Paulo Inventado"),
        MINTER.agent("openml", "Ana Ficticia"),
    ]
    assert dataset.contributor == [MINTER.agent("openml", "Test Contributor")]
    assert dataset.dateCreated is not None
    assert dataset.dateCreated.isoformat() == "2017-06-01T09:10:11+00:00"
    assert dataset.inLanguage == ["en"]
    assert dataset.license == ["https://spdx.org/licenses/CC-BY-4.0"]
    assert dataset.keywords == [BASE + "keyword/chemistry", BASE + "keyword/study_218"]
    paper = "https://doi.org/10.1016/j.dss.2009.05.016"  # paper_url and the DOI in citation
    assert dataset.citation == [paper]
    assert dataset.referencePublication == [paper]
    assert node(record, paper, ScholarlyArticle).url == paper
    assert dataset.isBasedOn == ["https://example.org/wine"]
    assert dataset.defaultTarget == ["quality"]
    roundtrip(record)


def test_dataset_list_row_and_status_note() -> None:
    row = load("data_list_page.json")["data"]["dataset"][1]
    record = normalize(raw("dataset", {"dataset": row}, "1489"), MINTER)
    assert record.primary.id == D + "1489"
    assert record.primary.name == "phoneme-sample"
    assert "dataset/status/deactivated" in record.provenance.notes


def test_dataset_odd_values() -> None:
    payload = {
        "data_set_description": {
            "id": "9",
            "name": [],
            "description": [],
            "citation": "Please cite the UCI repository",
            "paper_url": "not a url",
            "default_target_attribute": "a, b",
            "licence": "unknown",
        }
    }
    record = normalize(raw("dataset", payload, "9"), MINTER)
    dataset = record.primary
    assert isinstance(dataset, Dataset)
    assert dataset.name == "OpenML dataset 9"
    assert dataset.citation == [] and dataset.license == []
    assert dataset.defaultTarget == ["a", "b"]
    assert "field/citation/text_not_mapped" in record.provenance.notes


def test_test_server_records_keep_their_own_site() -> None:
    record = normalize(
        raw("dataset", load("data_detail.json"), "40691", url="https://test.openml.org/d/40691"),
        MINTER,
    )
    assert record.primary.id == "https://test.openml.org/d/40691"


# -- XML conversion ---------------------------------------------------------------------------


def test_xml_to_array_follows_the_server_rules() -> None:
    body = """<oml:task xmlns:oml="http://openml.org/openml">
      <oml:task_id>4</oml:task_id>
      <oml:input name="source_data"><oml:data_set><oml:data_set_id>9</oml:data_set_id>
      </oml:data_set></oml:input>
      <oml:input name="estimation_procedure"><oml:estimation_procedure>
        <oml:parameter name="number_folds">10</oml:parameter>
        <oml:parameter name="percentage"></oml:parameter>
      </oml:estimation_procedure></oml:input>
      <oml:cost_matrix></oml:cost_matrix>
      <oml:tag>one</oml:tag>
    </oml:task>"""
    assert xml_to_array(body) == {
        "task": {
            "task_id": "4",
            "input": [
                {"name": "source_data", "data_set": {"data_set_id": "9"}},
                {
                    "name": "estimation_procedure",
                    "estimation_procedure": {
                        "parameter": [
                            {"name": "number_folds", "value": "10"},
                            {"name": "percentage"},
                        ]
                    },
                },
            ],
            "cost_matrix": [],
            "tag": "one",
        }
    }


@pytest.mark.parametrize(
    "body",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        "<x><y></x>",
        "<a>" * 100 + "</a>" * 100,
    ],
)
def test_xml_to_array_refuses_hostile_or_broken_xml(body: str) -> None:
    with pytest.raises(XMLConversionError):
        xml_to_array(body)


# -- robustness -------------------------------------------------------------------------------

_ODD_VALUES: list[Any] = [
    None,
    [],
    {},
    "",
    " ",
    0,
    -1,
    1.5,
    True,
    "x" * 3000,
    ["a", None],
    {"k": []},
]


def _mutate(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            roll = rng.random()
            if roll < 0.1:
                continue
            out[key] = rng.choice(_ODD_VALUES) if roll < 0.25 else _mutate(item, rng)
        return out
    if isinstance(value, list):
        return [_mutate(item, rng) for item in value if rng.random() > 0.1]
    return value


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("flow", "flow_pipeline.json"),
        ("flow", "flow_single.json"),
        ("run", "run_detail.json"),
        ("run", None),
        ("task", "task_detail.json"),
        ("dataset", "data_detail.json"),
    ],
)
def test_mutated_payloads_never_crash(kind: str, payload: str | None) -> None:
    rng = random.Random(f"{kind}-{payload}")
    original = load(payload) if payload else bulk_run(770001)
    for _ in range(150):
        mutated = _mutate(copy.deepcopy(original), rng)
        try:
            record = normalize(raw(kind, mutated), MINTER)
        except NormalizationError:
            continue
        roundtrip(record)
