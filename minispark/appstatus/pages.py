"""The application UI's pages: Jobs, Job, Stages, Executors, Environment (the Stage page
is stagepage.py). Server-rendered from the store's REST records, so the pages and
``/api/v1`` never disagree."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import layout as ui
from .layout import esc
from .pageview import PageView, base_of, handler
from .source import AppSource
from .stagepage import stage_page, stage_table
from .timefmt import epoch_ms, span_ms

JOB_HEADERS = [
    "Job Id",
    "Description",
    "Submitted",
    "Duration",
    "Stages: Succeeded/Total",
    "Tasks (for all stages): Succeeded/Total",
]


def _job_rows(view: PageView, jobs: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    now = view.store.now_ms()
    for job in jobs:
        href = view.url(f"jobs/job/?id={job['jobId']}")
        name = f'<a href="{esc(href)}">{esc(job["name"])}</a>'
        error = view.store.job_error(job["jobId"])
        if error:
            name += f'<div class="err">{esc(error.splitlines()[0] if error else "")}</div>'
        stages_total = len(job["stageIds"]) - job["numSkippedStages"]
        skipped = f" ({job['numSkippedStages']} skipped)" if job["numSkippedStages"] else ""
        rows.append(
            [
                f"{job['jobId']} {ui.badge(job['status'])}",
                name,
                ui.when(epoch_ms(job["submissionTime"])),
                ui.duration(span_ms(job["submissionTime"], job["completionTime"], now)),
                f"{job['numCompletedStages']}/{stages_total}{skipped}",
                ui.progress(
                    job["numCompletedTasks"],
                    job["numTasks"] - job["numSkippedTasks"],
                    running=job["numActiveTasks"],
                    failed=job["numFailedTasks"],
                    skipped=job["numSkippedTasks"],
                ),
            ]
        )
    return rows


def jobs_page(view: PageView) -> web.Response:
    store = view.store
    app = store.application()["attempts"][0]
    counts = store.job_counts
    uptime = span_ms(
        app["startTime"], None if not store.completed else app["endTime"], store.now_ms()
    )
    summary = ui.facts(
        [
            ("User", esc(app["sparkUser"])),
            ("Started", esc(ui.when(app["startTimeEpoch"]))),
            ("Total Uptime", ui.duration(uptime)),
            ("Scheduling Mode", "FIFO"),
            ("Active Jobs", str(counts["RUNNING"])),
            ("Completed Jobs", str(counts["SUCCEEDED"])),
            ("Failed Jobs", str(counts["FAILED"])),
        ]
    )
    body = summary
    for status, title in (
        ("RUNNING", "Active Jobs"),
        ("SUCCEEDED", "Completed Jobs"),
        ("FAILED", "Failed Jobs"),
    ):
        jobs = store.jobs(status)
        table = ui.table(JOB_HEADERS, _job_rows(view, jobs))
        body += ui.section(title, counts[status], len(jobs), table, anchor=status.lower())
    return view.render("jobs/", "Spark Jobs", body)


def job_page(view: PageView) -> web.Response:
    job_id = view.number("id")
    store = view.store
    job = store.job(job_id)
    if job is None:
        raise view.missing(f"no such job: {job_id} (it may be older than spark.ui.retainedJobs)")
    summary = ui.facts(
        [
            ("Status", ui.badge(job["status"])),
            ("Submitted", esc(ui.when(epoch_ms(job["submissionTime"])))),
            (
                "Duration",
                ui.duration(span_ms(job["submissionTime"], job["completionTime"], store.now_ms())),
            ),
            ("Active Stages", str(job["numActiveStages"])),
            ("Completed Stages", str(job["numCompletedStages"])),
            ("Skipped Stages", str(job["numSkippedStages"])),
            ("Failed Stages", str(job["numFailedStages"])),
        ]
    )
    error = store.job_error(job_id)
    body = summary + (f"<h2>Failure</h2><pre>{esc(error)}</pre>" if error else "")
    by_status: dict[str, list[dict[str, Any]]] = {}
    for stage_id in job["stageIds"]:
        for stage in store.stage_attempts(stage_id):
            status = store.job_stage_status(job_id, stage_id) or stage["status"]
            by_status.setdefault(status, []).append({**stage, "status": status})
    for status, title in _STAGE_SECTIONS:
        stages = sorted(
            by_status.get(status, []), key=lambda s: (s["stageId"], s["attemptId"]), reverse=True
        )
        body += ui.section(title, len(stages), len(stages), stage_table(view, stages, status))
    return view.render("jobs/", f"Details for Job {job_id}", body)


_STAGE_SECTIONS = (
    ("ACTIVE", "Active Stages"),
    ("PENDING", "Pending Stages"),
    ("COMPLETE", "Completed Stages"),
    ("SKIPPED", "Skipped Stages"),
    ("FAILED", "Failed Stages"),
)


def stages_page(view: PageView) -> web.Response:
    store = view.store
    listed = {status: store.stages(status) for status, _ in _STAGE_SECTIONS}
    # Exact counts, though the oldest finished stages may no longer be kept.
    counts = {s: max(len(listed[s]), store.stage_counts[s]) for s in listed}

    def count(status: str) -> str:
        n = counts[status]
        return f'<a href="#{status.lower()}">{n}</a>' if listed[status] else str(n)

    body = ui.facts([(title, count(status)) for status, title in _STAGE_SECTIONS])
    for status, title in _STAGE_SECTIONS:
        table = stage_table(view, listed[status], status)
        body += ui.section(title, counts[status], len(listed[status]), table, status.lower())
    return view.render("stages/", "Stages for All Jobs", body)


EXECUTOR_HEADERS = [
    "Executor ID",
    "Address",
    "Status",
    "Cores",
    "Active Tasks",
    "Failed Tasks",
    "Complete Tasks",
    "Total Tasks",
    "Task Time",
    "Input",
    "Shuffle Read",
    "Shuffle Write",
    "Peak RSS",
    "Logs",
]


def _executor_row(e: dict[str, Any]) -> list[str]:
    logs = " ".join(ui.link(url, kind) for kind, url in sorted(e["executorLogs"].items()))
    failed = str(e["failedTasks"])
    return [
        esc(e["id"]),
        esc(e["hostPort"]),
        ui.badge("Active" if e["isActive"] else "Dead"),
        str(e["totalCores"]),
        str(e["activeTasks"]),
        f'<span class="err">{failed}</span>' if e["failedTasks"] else failed,
        str(e["completedTasks"]),
        str(e["totalTasks"]),
        ui.duration(e["totalDuration"]),
        ui.size(e["totalInputBytes"]),
        ui.size(e["totalShuffleRead"]),
        ui.size(e["totalShuffleWrite"]),
        ui.size(e["peakMemoryMetrics"]["ProcessTreePythonRSSMemory"]),
        logs,
    ]


def _executor_order(e: dict[str, Any]) -> tuple[int, str]:
    """By number, as Spark lists them: executors register in any order, and "10" < "9"."""
    ident = str(e["id"])
    return (int(ident), "") if ident.isdigit() else (-1, ident)


def executors_page(view: PageView) -> web.Response:
    executors = sorted(view.store.executors(all_=True), key=_executor_order)
    active = [e for e in executors if e["isActive"]]
    summary_headers = [
        "",
        "Executors",
        "Cores",
        "Active Tasks",
        "Failed Tasks",
        "Complete Tasks",
        "Task Time",
        "Input",
        "Shuffle Read",
        "Shuffle Write",
    ]

    def total(label: str, group: list[dict[str, Any]]) -> list[str]:
        def add(key: str) -> int:
            return sum(int(e[key]) for e in group)

        return [
            label,
            str(len(group)),
            str(add("totalCores")),
            str(add("activeTasks")),
            str(add("failedTasks")),
            str(add("completedTasks")),
            ui.duration(add("totalDuration")),
            ui.size(add("totalInputBytes")),
            ui.size(add("totalShuffleRead")),
            ui.size(add("totalShuffleWrite")),
        ]

    dead = [e for e in executors if not e["isActive"]]
    body = "<h2>Summary</h2>" + ui.table(
        summary_headers, [total("Active", active), total("Dead", dead), total("Total", executors)]
    )
    removed = [e for e in dead if e["removeReason"]]
    body += "<h2>Executors</h2>" + ui.table(
        EXECUTOR_HEADERS, [_executor_row(e) for e in executors], numeric=frozenset(range(3, 13))
    )
    if removed:
        rows = [[esc(e["id"]), esc(e["removeReason"])] for e in removed]
        body += "<h2>Removed Executors</h2>" + ui.table(["Executor ID", "Reason"], rows)
    return view.render("executors/", "Executors", body)


def environment_page(view: PageView) -> web.Response:
    env = view.store.environment()
    runtime = [[esc(k), esc(v)] for k, v in env["runtime"].items() if v]
    body = "<h2>Runtime Information</h2>" + ui.table(["Name", "Value"], runtime)
    for key, title in (
        ("sparkProperties", "Spark Properties"),
        ("systemProperties", "System Properties"),
        ("classpathEntries", "Classpath Entries"),
    ):
        rows = [[esc(k), esc(v)] for k, v in sorted(env[key])]
        body += f"<h2>{title} ({len(rows)})</h2>" + ui.table(["Name", "Value"], rows)
    return view.render("environment/", "Environment", body)


def page_routes(source: AppSource, prefix: str) -> list[web.RouteDef]:
    """The pages under ``prefix`` ("/" or "/history/{app}/", ending in a slash)."""

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPFound(_base(request, prefix) + "jobs/")

    pages = {
        "jobs/": jobs_page,
        "jobs/job/": job_page,
        "stages/": stages_page,
        "stages/stage/": stage_page,
        "executors/": executors_page,
        "environment/": environment_page,
    }
    routes = [web.get(prefix, home)]
    for path, page in pages.items():
        routes.append(web.get(prefix + path, handler(source, prefix, page)))
        routes.append(web.get(prefix + path.rstrip("/"), _add_slash))
    return routes


def _base(request: web.Request, prefix: str) -> str:
    return base_of(prefix, request.match_info.get("app", ""))


async def _add_slash(request: web.Request) -> web.Response:
    query = f"?{request.query_string}" if request.query_string else ""
    raise web.HTTPFound(request.path + "/" + query)
