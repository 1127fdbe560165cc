"""The run chain of the ``openml`` spider (see :mod:`.openml`).

Runs come from list endpoints in bulk, never one request per run: a run-list page gives up to
``run_page_size`` runs; one ``task/list/task_id/{ids}`` request resolves the tasks not seen
yet (task type, dataset, target, procedure — each task also becomes a ``task`` record once,
and its dataset is fetched once); one ``evaluation/list/run/{ids}`` request gives the scores
of the page's runs. Each run record's payload is ``{"run": <run-list row>, "evaluations":
[<evaluation-list rows>], "task": <task-list row without qualities>, "fetched": [<URLs>]}``.
Pages that do not parse are bisected; a single bad row is fetched from its own endpoint.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response

from mlentory_crawl.normalizers.common import as_dict, dict_list
from mlentory_crawl.normalizers.openml_common import entity_id
from mlentory_crawl.spiders.openml_base import OpenMLSpiderBase
from mlentory_crawl.spiders.openml_support import strip_api_key

logger = logging.getLogger(__name__)

EVALUATION_LIMIT = 10_000  # the API's maximum rows per evaluation-list call
FLOW_BATCH = 100  # flow ids per run-list filter (keeps URLs short)
TASK_CACHE_SIZE = 20_000  # task rows kept for runs of later pages (LRU; a miss re-lists)
TASK_KEYS_DROPPED = ("quality",)  # task-list qualities are not carried into run payloads
_ID_PATTERNS = {
    "flow": re.compile(r'"id"\s*:\s*"?(\d+)'),
    "run": re.compile(r'"run_id"\s*:\s*"?(\d+)'),
}


class OpenMLRunChain(OpenMLSpiderBase):
    """Run lists → task lists → evaluation lists → ``run`` records; bisection of bad pages."""

    def _run_list_requests(self, field: str, ids: list[int]) -> Iterator[Request]:
        for start in range(0, len(ids), FLOW_BATCH):
            where = f"{field}/{','.join(str(i) for i in ids[start : start + FLOW_BATCH])}"
            yield self._run_page(where, 0, self.args.run_page_size, forward=True)

    def _run_page(self, where: str, offset: int, size: int, *, forward: bool) -> Request:
        return self._request(
            f"run/list/{where}/limit/{size}/offset/{offset}",
            self.parse_run_list,
            where=where,
            offset=offset,
            size=size,
            forward=forward,
        )

    def _bisect(
        self, response: Response, kind: str, offset: int, size: int, where: str = ""
    ) -> Iterator[Any]:
        """Re-request an unparseable page as two halves; a single bad row is salvaged.

        The salvage reads the row's id from the broken text and fetches the entity from its
        single-entity endpoint (``flow/{id}``, ``run/{id}``), whose JSON is well escaped.
        """
        if size > 1:
            self._inc("bisect")
            half = size // 2
            for start, length in ((offset, half), (offset + half, size - half)):
                if kind == "flow":
                    yield self._flow_page(start, length, first=False, forward=False)
                else:
                    yield self._run_page(where, start, length, forward=False)
            return
        match = _ID_PATTERNS[kind].search(response.text)
        if match is None:
            self._inc("skipped/invalid_row")
            logger.warning("Skipped an unreadable row at %s", strip_api_key(response.url))
            return
        self._inc("salvaged")
        number = int(match.group(1))
        if kind == "flow":
            in_range = (self.args.since or 1) <= number <= (self.args.until or number)
            if in_range and self._take_flow(number):
                yield self._request(f"flow/{number}", self.parse_flow, flow_id=number)
                if not self.args.flows_only:
                    yield from self._run_list_requests("flow", [number])
        else:
            yield self._request(
                f"run/{number}", self.parse_run_detail, run_id=number, task={}, fetched=[]
            )

    # -- runs, tasks, evaluations ---------------------------------------------------------

    def parse_run_list(
        self, response: Response, where: str, offset: int, size: int, forward: bool
    ) -> Iterator[Any]:
        """A run-list page → task info for its runs, then their evaluations; next page."""
        status, data = self._read(response, "run list")
        if status == "invalid":
            yield from self._bisect(response, "run", offset, size, where)
        elif status != "ok":
            return
        rows = dict_list(as_dict(data.get("runs")).get("run")) if status == "ok" else []
        if rows:
            self._inc("pages")
        runs = [row for row in rows if entity_id(row.get("run_id")) is not None]
        max_runs = self.args.max_runs
        if max_runs is not None:
            runs = runs[: max(0, max_runs - self._count("runs"))]
        self._count("runs", len(runs))
        fetched = [strip_api_key(response.url)]
        if where.startswith("task/"):
            for flow_id in dict.fromkeys(entity_id(run.get("flow_id")) for run in runs):
                if flow_id is not None:
                    yield from self._flow_request(flow_id)
        yield from self._with_tasks(runs, fetched)
        full = status == "invalid" or len(rows) >= size
        limited = max_runs is not None and self._count("runs") >= max_runs
        if forward and full and not limited:
            yield self._run_page(where, offset + size, size, forward=True)

    def _with_tasks(self, runs: list[dict[str, Any]], fetched: list[str]) -> Iterator[Request]:
        """Evaluations for runs whose task is known; a task-list request for the others."""
        known: dict[str, Any] = {}
        ready: list[dict[str, Any]] = []
        waiting: dict[int, list[dict[str, Any]]] = {}
        for run in runs:
            task_id = entity_id(run.get("task_id"))
            if task_id is not None and task_id not in self._tasks:
                waiting.setdefault(task_id, []).append(run)
                continue
            if task_id is not None:
                self._tasks.move_to_end(task_id)
                known[str(task_id)] = self._tasks[task_id]
            ready.append(run)
        if ready:
            yield self._evaluation_request(ready, known, fetched)
        if waiting:
            yield self._task_list_request(sorted(waiting), waiting, fetched)

    def _task_list_request(
        self, task_ids: list[int], waiting: dict[int, list[dict[str, Any]]], fetched: list[str]
    ) -> Request:
        runs = [run for task_id in task_ids for run in waiting[task_id]]
        ids = ",".join(str(task_id) for task_id in task_ids)
        # Not filtered: two run pages in flight may both wait for the same task, and each
        # request carries its own runs (the task cache makes such repeats rare).
        return self._request(
            f"task/list/task_id/{ids}",
            self.parse_task_list,
            dont_filter=True,
            runs=runs,
            fetched=fetched,
        )

    def parse_task_list(
        self, response: Response, runs: list[dict[str, Any]], fetched: list[str]
    ) -> Iterator[Any]:
        """Task rows → ``task`` records (once each), dataset requests, then evaluations."""
        status, data = self._read(response, "task list")
        task_ids = sorted({i for run in runs if (i := entity_id(run.get("task_id")))})
        if status == "invalid" and len(task_ids) > 1:
            self._inc("bisect")
            waiting: dict[int, list[dict[str, Any]]] = {}
            for run in runs:
                waiting.setdefault(entity_id(run.get("task_id")) or 0, []).append(run)
            half = len(task_ids) // 2
            for part in (task_ids[:half], task_ids[half:]):
                yield self._task_list_request(part, waiting, fetched)
            return
        if status == "invalid":  # one task left: its own endpoint is well escaped
            self._inc("salvaged")
            yield self._request(
                f"task/{task_ids[0]}",
                self.parse_task,
                dont_filter=True,  # carries its own runs, like the task list
                task_id=task_ids[0],
                runs=runs,
                fetched=fetched,
            )
            return
        rows = dict_list(as_dict(data.get("tasks")).get("task")) if status == "ok" else []
        tasks: dict[str, Any] = {}
        for row in rows:
            task_id = entity_id(row.get("task_id"))
            if task_id is not None:
                tasks[str(task_id)], items = self._remember_task(row, task_id, response.url)
                yield from items
        yield self._evaluation_request(runs, tasks, [*fetched, strip_api_key(response.url)])

    def parse_task(
        self, response: Response, task_id: int, runs: list[dict[str, Any]], fetched: list[str]
    ) -> Iterator[Any]:
        """``task/{id}`` (the fallback for an unreadable task-list row)."""
        status, data = self._read(response, f"task {task_id}")
        tasks: dict[str, Any] = {}
        if status == "ok":
            task = as_dict(data.get("task"))
            tasks[str(task_id)], items = self._remember_task(task, task_id, response.url)
            yield from items
        yield self._evaluation_request(runs, tasks, [*fetched, strip_api_key(response.url)])

    def _remember_task(
        self, row: dict[str, Any], task_id: int, url: str
    ) -> tuple[dict[str, Any], list[Any]]:
        """Cache a task; its record (first time only) and dataset request; the run copy."""
        trimmed = {k: v for k, v in row.items() if k not in TASK_KEYS_DROPPED}
        self._tasks[task_id] = trimmed
        while len(self._tasks) > TASK_CACHE_SIZE:
            self._tasks.popitem(last=False)
        items: list[Any] = []
        if task_id not in self._seen["task"]:
            self._seen["task"].add(task_id)
            items.append(self._record("task", "t", task_id, url, {"task": row}))
        items.extend(self._dataset_request(entity_id(row.get("did")) or _source_data_id(row)))
        return trimmed, items

    def _evaluation_request(
        self, runs: list[dict[str, Any]], tasks: dict[str, Any], fetched: list[str]
    ) -> Request:
        ids = ",".join(str(entity_id(run.get("run_id"))) for run in runs)
        return self._request(
            f"evaluation/list/run/{ids}",
            self.parse_evaluations,
            runs=runs,
            tasks=tasks,
            fetched=fetched,
        )

    def parse_evaluations(
        self,
        response: Response,
        runs: list[dict[str, Any]],
        tasks: dict[str, Any],
        fetched: list[str],
    ) -> Iterator[Any]:
        """Evaluation rows of a batch of runs → one ``run`` record per run."""
        status, data = self._read(response, "evaluation list")
        rows = (
            dict_list(as_dict(data.get("evaluations")).get("evaluation")) if status == "ok" else []
        )
        too_many = (status == "error" and data == "543") or len(rows) >= EVALUATION_LIMIT
        if status == "invalid" or too_many:
            if len(runs) > 1:
                self._inc("bisect")
                half = len(runs) // 2
                yield self._evaluation_request(runs[:half], tasks, fetched)
                yield self._evaluation_request(runs[half:], tasks, fetched)
                return
            if status == "invalid":
                self._inc("salvaged")
                run_id = entity_id(runs[0].get("run_id"))
                task = tasks.get(str(entity_id(runs[0].get("task_id")))) or {}
                yield self._request(
                    f"run/{run_id}",
                    self.parse_run_detail,
                    run_id=run_id,
                    task=task,
                    fetched=fetched,
                )
                return
        elif status == "error":
            return
        by_run: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            run_id = entity_id(row.get("run_id"))
            if run_id is not None:
                by_run.setdefault(run_id, []).append(row)
        urls = [*fetched, strip_api_key(response.url)]
        for run in runs:
            run_id = entity_id(run.get("run_id"))
            if run_id is None:
                continue
            task = tasks.get(str(entity_id(run.get("task_id")))) or {}
            payload = {"run": run, "evaluations": by_run.get(run_id, []), "task": task}
            yield self._record("run", "r", run_id, response.url, {**payload, "fetched": urls})

    def parse_run_detail(
        self, response: Response, run_id: int, task: dict[str, Any], fetched: list[str]
    ) -> Iterator[Any]:
        """``run/{id}`` (the fallback for an unreadable list row) → a ``run`` record."""
        status, data = self._read(response, f"run {run_id}")
        if status == "ok":
            run = as_dict(data.get("run"))
            urls = [*fetched, strip_api_key(response.url)]
            payload = {"run": run, "task": task, "fetched": urls}
            yield self._record("run", "r", run_id, response.url, payload)
            for dataset in dict_list(as_dict(run.get("input_data")).get("dataset")):
                yield from self._dataset_request(entity_id(dataset.get("did")))
            flow_id = entity_id(run.get("flow_id"))
            if flow_id is not None:  # already fetched unless runs were selected by task
                yield from self._flow_request(flow_id)


def _source_data_id(task: dict[str, Any]) -> int | None:
    """The dataset id of a task document's ``source_data`` input (detail shape)."""
    for item in dict_list(task.get("input")):
        if item.get("name") == "source_data":
            if "value" in item:  # task-list rows: {"name": "source_data", "value": "61"}
                return entity_id(item.get("value"))
            return entity_id(as_dict(item.get("data_set")).get("data_set_id"))
    return None
