"""What the application UI and the event log cost: no-op tasks/s and the word count.

    python bench/ui.py [--runs 3] [--tasks 2000] [--size-mb 100]

The two sides of bench/overhead.py, taking turns on ``local-cluster[2,1,1024]``: one with
``spark.ui.enabled=false`` and no event log, one with the UI on (its default) and
``spark.eventLog.enabled=true`` writing to a temporary directory, which is how a deployed
cluster with a history server runs. It prints the medians and the ratios with / without.
The issue's target: together they cost at most 5% on both (tasks/s ratio >= 0.95, word
count seconds ratio <= 1.05).
"""

from __future__ import annotations

import sys
import tempfile

from overhead import Side, arguments, compare

TARGET_COST = 0.05


def main() -> int:
    args = arguments(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as logs:
        bare = {"spark.ui.enabled": "false", "spark.eventLog.enabled": "false"}
        watched = {
            "spark.ui.enabled": "true",
            "spark.ui.port": "0",
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": logs,
        }
        compare(args, Side("UI off", bare), Side("UI+event log", watched), TARGET_COST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
