"""The stage tables (Stages and Job pages) and the Stage page: summary quantiles over
the completed tasks and one page of the task table, errors with their tracebacks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from . import layout as ui
from .layout import esc
from .pageview import PageView
from .store import TASK_SORTS
from .timefmt import epoch_ms, span_ms

STAGE_HEADERS = [
    "Stage Id",
    "Description",
    "Submitted",
    "Duration",
    "Tasks: Succeeded/Total",
    "Input",
    "Output",
    "Shuffle Read",
    "Shuffle Write",
]
TASK_PAGE_SIZE = 100


def stage_table(view: PageView, stages: list[dict[str, Any]], status: str) -> str:
    now = view.store.now_ms()
    rows = []
    for s in stages:
        query = urlencode({"id": s["stageId"], "attempt": s["attemptId"]})
        retry = f" (retry {s['attemptId']})" if s["attemptId"] else ""
        row = [
            f"{s['stageId']}{retry}",
            f'<a href="{esc(view.url("stages/stage/?" + query))}">{esc(s["name"])}</a>',
            ui.when(epoch_ms(s["submissionTime"])),
            ui.duration(span_ms(s["submissionTime"], s["completionTime"], now)),
            ui.progress(
                s["numCompleteTasks"],
                s["numTasks"],
                running=s["numActiveTasks"],
                failed=s["numFailedTasks"],
            ),
            ui.size(s["inputBytes"]) if s["inputBytes"] else "",
            ui.size(s["outputBytes"]) if s["outputBytes"] else "",
            ui.size(s["shuffleReadBytes"]) if s["shuffleReadBytes"] else "",
            ui.size(s["shuffleWriteBytes"]) if s["shuffleWriteBytes"] else "",
        ]
        if status == "FAILED":
            row.append(_error_cell(s["failureReason"] or ""))
        rows.append(row)
    headers = STAGE_HEADERS + (["Failure Reason"] if status == "FAILED" else [])
    return ui.table(headers, rows)


def _error_cell(error: str) -> str:
    """The first line, and the whole text (a traceback) folded under it: no script needed."""
    if not error:
        return ""
    first = (
        error.strip().splitlines()[-1] if error.startswith("Traceback") else error.splitlines()[0]
    )
    return f"<details><summary>{esc(first)}</summary><pre>{esc(error)}</pre></details>"


SUMMARY_ROWS: tuple[tuple[str, str, str, str], ...] = (
    # (label, column, records column or "", unit)
    ("Duration", "duration", "", "ms"),
    ("Executor Run Time", "executorRunTime", "", "ms"),
    ("Executor CPU Time", "executorCpuTime", "", "ns"),
    ("Result Size", "resultSize", "", "bytes"),
    ("Peak RSS", "peakExecutionMemory", "", "bytes"),
    ("Input Size / Records", "inputMetrics.bytesRead", "inputMetrics.recordsRead", "bytes"),
    (
        "Shuffle Read Size / Records",
        "shuffleReadMetrics.readBytes",
        "shuffleReadMetrics.readRecords",
        "bytes",
    ),
    ("Shuffle Read Fetch Wait Time", "shuffleReadMetrics.fetchWaitTime", "", "ms"),
    (
        "Shuffle Write Size / Records",
        "shuffleWriteMetrics.writeBytes",
        "shuffleWriteMetrics.writeRecords",
        "bytes",
    ),
)


def _column(summary: dict[str, Any], path: str) -> list[float]:
    group, _, name = path.rpartition(".")
    holder = summary[group] if group else summary
    return list(holder[name])


def _figure(value: float, unit: str) -> str:
    if unit == "ms":
        return ui.duration(int(value))
    if unit == "ns":
        return ui.duration(int(value / 1_000_000))
    return ui.size(int(value))


def summary_table(summary: dict[str, Any]) -> str:
    if "duration" not in summary:
        return '<p class="muted">No task has completed.</p>'
    rows = []
    for label, column, records, unit in SUMMARY_ROWS:
        values = _column(summary, column)
        if unit == "bytes" and records and not any(values) and not any(_column(summary, records)):
            continue  # a stage that reads no input shows no input row, as Spark does
        counts = _column(summary, records) if records else []
        cells = [
            _figure(v, unit) + (f" / {int(counts[i])}" if counts else "")
            for i, v in enumerate(values)
        ]
        rows.append([label, *cells])
    return ui.table(
        ["Metric", "Min", "25th percentile", "Median", "75th percentile", "Max"],
        rows,
        numeric=frozenset(range(1, 6)),
    )


# (header, the sort its link asks for or "", the stage figure it needs to be shown or "")
TASK_COLUMNS = (
    ("Index", "ID", ""),
    ("Task ID", "ID", ""),
    ("Attempt", "", ""),
    ("Status", "", ""),
    ("Locality", "", ""),
    ("Executor ID / Host", "", ""),
    ("Launch Time", "", ""),
    ("Duration", "runtime", ""),
    ("Input Size / Records", "", "inputBytes"),
    ("Shuffle Read Size / Records", "", "shuffleReadBytes"),
    ("Shuffle Write Size / Records", "", "shuffleWriteBytes"),
    ("Peak RSS", "", ""),
    ("Errors", "", ""),
)
ERRORS = len(TASK_COLUMNS) - 1


def _task_row(t: dict[str, Any]) -> list[str]:
    m = t["taskMetrics"] or {}
    read = m.get("shuffleReadMetrics", {})
    write = m.get("shuffleWriteMetrics", {})
    inp = m.get("inputMetrics", {})
    read_bytes = read.get("remoteBytesRead", 0) + read.get("localBytesRead", 0)
    return [
        str(t["index"]),
        str(t["taskId"]),
        str(t["attempt"]),
        ui.badge(t["status"]),
        esc(t["taskLocality"]),
        f"{esc(t['executorId'])} / {esc(t['host'])}",
        ui.when(epoch_ms(t["launchTime"])),
        ui.duration(t["duration"]),
        ui.size_records(inp.get("bytesRead", 0), inp.get("recordsRead", 0)),
        ui.size_records(read_bytes, read.get("recordsRead", 0)),
        ui.size_records(write.get("bytesWritten", 0), write.get("recordsWritten", 0)),
        ui.size(m["peakExecutionMemory"]) if m else "",
        _error_cell(t["errorMessage"] or ""),
    ]


def _task_page(view: PageView, stage: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str]:
    """The tasks of the page asked for, its sort, and the pager's HTML."""
    stage_id, attempt = stage["stageId"], stage["attemptId"]
    sort = view.request.query.get("task.sort", "ID")
    if sort not in TASK_SORTS:
        raise web.HTTPBadRequest(
            text=f"unknown task.sort {sort!r}: use one of {', '.join(TASK_SORTS)}\n"
        )
    size = max(1, view.number("task.pageSize", TASK_PAGE_SIZE))
    total = view.store.task_count(stage_id, attempt)
    pages = max(1, -(-total // size))
    number = min(max(1, view.number("task.page", 1)), pages)
    tasks = view.store.task_list(stage_id, attempt, (number - 1) * size, size, sort) or []
    links = " ".join(
        f"<b>{n}</b>" if n == number else f'<a href="{_href(view, stage, sort, size, n)}">{n}</a>'
        for n in _page_numbers(number, pages)
    )
    kept = (
        " (the oldest of the stage's finished tasks are no longer kept)"
        if total < stage["numCompleteTasks"]
        else ""
    )
    shown = f'<span class="muted">{len(tasks)} of {total} tasks{kept}</span>'
    pager = f'<div class="pager">Page: {links} {shown}</div>'
    return tasks, sort, pager


def _href(view: PageView, stage: dict[str, Any], sort: str, size: int, page: int) -> str:
    query = {
        "id": stage["stageId"],
        "attempt": stage["attemptId"],
        "task.sort": sort,
        "task.pageSize": size,
        "task.page": page,
    }
    return esc(view.url("stages/stage/?" + urlencode(query)) + "#tasks")


def _task_table(view: PageView, stage: dict[str, Any]) -> str:
    tasks, sort, pager = _task_page(view, stage)
    keep = [i for i, (_, _, needs) in enumerate(TASK_COLUMNS) if not needs or stage[needs]]
    size = max(1, view.number("task.pageSize", TASK_PAGE_SIZE))
    headers = []
    for i in keep:
        label, key, _ = TASK_COLUMNS[i]
        if not key:
            headers.append(label)
            continue
        flip = f"-{key}" if sort == key else key
        arrow = " ▲" if sort == key else " ▼" if sort == f"-{key}" else ""
        headers.append(f'<a href="{_href(view, stage, flip, size, 1)}">{label}</a>{arrow}')
    rows = [[row[i] for i in keep] for row in map(_task_row, tasks)]
    numeric = frozenset(n for n, i in enumerate(keep) if i in (0, 1, 2, 7))
    table = ui.table(headers, rows, numeric=numeric, styles={len(keep) - 1: "error"})
    return f'{pager}<div class="scroll">{table}</div>'


def _page_numbers(current: int, pages: int) -> list[int]:
    near = range(max(1, current - 4), min(pages, current + 4) + 1)
    return sorted({1, *near, pages})


def _executor_table(view: PageView, stage: dict[str, Any]) -> str:
    known = {e["id"]: e for e in view.store.executors(all_=True)}
    rows = []
    for exec_id, share in stage["executorSummary"].items():
        executor = known.get(exec_id, {})
        logs = executor.get("executorLogs", {})
        failed = str(share["failedTasks"])
        rows.append(
            [
                esc(exec_id),
                esc(executor.get("hostPort", "")),
                ui.duration(share["taskTime"]),
                str(share["succeededTasks"] + share["failedTasks"] + share["killedTasks"]),
                f'<span class="err">{failed}</span>' if share["failedTasks"] else failed,
                str(share["succeededTasks"]),
                ui.size_records(share["inputBytes"], share["inputRecords"]),
                ui.size_records(share["shuffleRead"], share["shuffleReadRecords"]),
                ui.size_records(share["shuffleWrite"], share["shuffleWriteRecords"]),
                ui.size(share["peakMemoryMetrics"]["ProcessTreePythonRSSMemory"]),
                " ".join(ui.link(url, kind) for kind, url in sorted(logs.items())),
            ]
        )
    headers = [
        "Executor ID",
        "Address",
        "Task Time",
        "Total Tasks",
        "Failed Tasks",
        "Succeeded Tasks",
        "Input Size / Records",
        "Shuffle Read Size / Records",
        "Shuffle Write Size / Records",
        "Peak RSS",
        "Logs",
    ]
    return ui.table(headers, rows, numeric=frozenset(range(2, 10)))


def _stage_facts(view: PageView, stage: dict[str, Any]) -> str:
    s = stage
    facts = [
        ("Status", ui.badge(s["status"])),
        ("Total Time Across All Tasks", ui.duration(s["executorRunTime"])),
        (
            "Tasks",
            f"{s['numCompleteTasks']} succeeded, {s['numFailedTasks']} failed, "
            f"{s['numActiveTasks']} running, of {s['numTasks']}",
        ),
    ]
    for label, nbytes, records in (
        ("Input Size / Records", "inputBytes", "inputRecords"),
        ("Output Size / Records", "outputBytes", "outputRecords"),
        ("Shuffle Read Size / Records", "shuffleReadBytes", "shuffleReadRecords"),
        ("Shuffle Write Size / Records", "shuffleWriteBytes", "shuffleWriteRecords"),
    ):
        if s[nbytes] or s[records]:
            facts.append((label, ui.size_records(s[nbytes], s[records])))
    if s["jobIds"]:
        jobs = ", ".join(
            f'<a href="{esc(view.url(f"jobs/job/?id={j}"))}">{j}</a>' for j in s["jobIds"]
        )
        facts.append(("Associated Job Ids", jobs))
    return ui.facts(facts)


def stage_page(view: PageView) -> web.Response:
    stage_id, attempt = view.number("id"), view.number("attempt", 0)
    store = view.store
    stage = store.stage(stage_id, attempt)
    if stage is None:
        raise view.missing(
            f"no such stage attempt: {stage_id}/{attempt} "
            "(it may be older than spark.ui.retainedStages)"
        )
    body = _stage_facts(view, stage)
    if stage["failureReason"]:
        body += f"<h2>Failure Reason</h2><pre>{esc(stage['failureReason'])}</pre>"
    if stage["details"]:
        details = esc(stage["details"])
        body += f'<details><summary class="muted">Details</summary><pre>{details}</pre></details>'
    summary = store.task_summary(stage_id, attempt) or {}
    done = stage["numCompleteTasks"]
    body += f"<h2>Summary Metrics for {done} Completed Tasks</h2>" + summary_table(summary)
    body += "<h2>Aggregated Metrics by Executor</h2>" + _executor_table(view, stage)
    ended = done + stage["numFailedTasks"] + stage["numKilledTasks"]
    body += f'<h2 id="tasks">Tasks ({ended + stage["numActiveTasks"]})</h2>'
    body += _task_table(view, stage)
    return view.render("stages/", f"Details for Stage {stage_id} (Attempt {attempt})", body)
