"""A 100,000-task application's event log in the history server: load and page times.

    python bench/history.py [--tasks 100000] [--runs 3] [--plain]

It writes one application's log as the driver does (gzip unless ``--plain``; one job of
one stage, 100 tasks failing once), starts ``minispark history-server`` on it through the
CLI, and for each run touches the log so that the next view loads it again, then times:

- the load: the first ``/api/v1/applications/<id>/jobs`` after the change (listing the
  changed log, reading it whole and replaying it into an ``AppStore``);
- the pages of the loaded application: Jobs, the stage (its task table and quantiles),
  Executors, each the median of its views.

The baseline is decoding the same log's lines with ``json.loads`` in this process: the
least any reader of the log must spend, so the ratio is what the store adds. Targets (the
issue's): load < 5 s, each page < 1 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchlib import Processes, Row, command, free_port, http_json, print_table, until

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.appevents

from tests import appevents

APP = "app-20260101000000-0000"
LOAD_TARGET_S = 5.0
PAGE_TARGET_S = 1.0
PAGES = {
    "jobs page": "/jobs/",
    "stage page": "/stages/stage/?id=0&attempt=0",
    "executors page": "/executors/",
}


def write_log(directory: Path, tasks: int, plain: bool) -> Path:
    events = appevents.application(APP, "bench", tasks=tasks, failed=100, executors=8)
    return appevents.write(directory, APP, events, compress=not plain)


def decode_s(path: Path) -> float:
    began = time.perf_counter()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        for line in stream:
            json.loads(line)
    return time.perf_counter() - began


def fetch_s(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as resp:
        resp.read()
        assert resp.status == 200, url
    return time.perf_counter() - began


def serve(logs: Path, procs: Processes) -> str:
    port = free_port()
    args = [*command("minispark"), "history-server", "--host", "127.0.0.1"]
    args += ["--conf", f"spark.history.fs.logDirectory={logs}"]
    args += ["--conf", f"spark.history.ui.port={port}"]
    args += ["--conf", "spark.history.fs.update.interval=100ms"]
    procs.spawn(args, logs.parent / "history.log")
    web = f"http://127.0.0.1:{port}"
    until(lambda: bool(http_json(web + "/api/v1/applications")), "the log to be listed")
    return web


def listed_mtime(web: str) -> int:
    apps = http_json(web + "/api/v1/applications") or [{"attempts": [{}]}]
    return int(apps[0]["attempts"][0].get("lastUpdatedEpoch", 0))


def measure(web: str, path: Path, runs: int) -> tuple[list[float], dict[str, list[float]]]:
    loads: list[float] = []
    pages: dict[str, list[float]] = {name: [] for name in PAGES}
    for run in range(runs):
        stamp = time.time() + run + 1  # a new mtime: the listing sees a changed log
        os.utime(path, (stamp, stamp))
        until(lambda s=stamp: listed_mtime(web) == int(s * 1000), "the change to be listed")
        loads.append(fetch_s(f"{web}/api/v1/applications/{APP}/jobs"))
        for name, page in PAGES.items():
            pages[name].append(fetch_s(f"{web}/history/{APP}{page}"))
    return loads, pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="an uncompressed log")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minispark-bench-history-") as tmp:
        logs = Path(tmp) / "logs"
        logs.mkdir()
        path = write_log(logs, args.tasks, args.plain)
        size_mb = path.stat().st_size / 1e6
        baseline = statistics.median(decode_s(path) for _ in range(args.runs))
        procs = Processes()
        try:
            web = serve(logs, procs)
            loads, pages = measure(web, path, args.runs)
            procs.check_alive("history server")
        finally:
            procs.stop()
    load = statistics.median(loads)
    rows = [Row("load (s)", load, baseline, f"< {LOAD_TARGET_S:g} s", load < LOAD_TARGET_S)]
    for name, times in pages.items():
        shown = statistics.median(times)
        rows.append(Row(f"{name} (s)", shown, 0.0, f"< {PAGE_TARGET_S:g} s", shown < 1.0))
    title = f"history server: {args.tasks:,}-task log, {size_mb:.1f} MB, median of {args.runs}"
    print_table(title, "json.loads", rows)
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
