"""The programs in examples/ run through `minispark submit` on an embedded cluster and print
the right answers, checked against plain Python over the same inputs."""

from __future__ import annotations

import math
import os
import re
import runpy
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SAMPLE = EXAMPLES / "data" / "sample.txt"
HANG_GUARD_S = 300  # a guard against a hang, never a performance limit


def submit(conf_dir: Path, example: str, *args: str, cwd: Path = REPO) -> str:
    """Run ``examples/<example>`` on local-cluster[2,1,512]; its stdout, once it exited 0."""
    conf_dir.mkdir(exist_ok=True)  # empty: the host's /etc/minispark is not read
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINISPARK_")}
    env["MINISPARK_CONF_DIR"] = str(conf_dir)
    script = f"examples/{example}" if cwd == REPO else str(EXAMPLES / example)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "minispark",
            "submit",
            "--master",
            "local-cluster[2,1,512]",
            "--executor-memory",
            "256m",
            script,
            *args,
        ],
        capture_output=True,
        check=False,
        cwd=cwd,
        env=env,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert result.returncode == 0, f"{example} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


# ------------------------------------------------------------------------------ wordcount


def plain_word_counts(path: Path) -> Counter[str]:
    """The rule the example documents: lower-cased runs of [a-z0-9'], outer quotes stripped."""
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        for token in re.findall(r"[a-z0-9']+", line.lower()):
            if token.strip("'"):
                counts[token.strip("'")] += 1
    return counts


def parse_wordcount(stdout: str) -> tuple[list[tuple[str, int]], int]:
    top = [(m[2], int(m[1])) for m in re.finditer(r"^ *(\d+)  (\S+)$", stdout, re.MULTILINE)]
    distinct = re.search(r"^Distinct words: (\d+)$", stdout, re.MULTILINE)
    assert distinct, stdout
    return top, int(distinct[1])


def expected_top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:10]


def test_wordcount_on_the_bundled_sample(tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()
    assert len(lines) >= 200 and sum(1 for line in lines if line.strip()) >= 200
    # Run from elsewhere: the default input is found next to the program, not in the cwd.
    stdout = submit(tmp_path / "conf", "wordcount.py", cwd=tmp_path)
    top, distinct = parse_wordcount(stdout)
    expected = plain_word_counts(SAMPLE)
    assert top == expected_top(expected), stdout
    assert distinct == len(expected)
    assert str(SAMPLE) in stdout


def test_wordcount_on_a_given_file(tmp_path: Path) -> None:
    text = tmp_path / "input.txt"
    # Ties (alpha/beta/gamma), case, punctuation, apostrophes, digits, blank lines, and
    # enough lines that the file is read as more than one partition.
    body = [
        "Alpha beta, GAMMA! alpha's 'quoted' don't 42 -- beta.",
        "",
        "gamma ALPHA   beta\ttab-separated words-with-dashes 42",
    ]
    text.write_text("\n".join(body * 400 + [f"unique{i} word{i % 13}" for i in range(500)]))
    stdout = submit(tmp_path / "conf", "wordcount.py", str(text))
    top, distinct = parse_wordcount(stdout)
    expected = plain_word_counts(text)
    assert top == expected_top(expected), stdout
    assert distinct == len(expected)


# ------------------------------------------------------------------------------------- pi


def test_pi_is_roughly_pi(tmp_path: Path) -> None:
    stdout = submit(tmp_path / "conf", "pi.py", "4")  # 400,000 darts: error ~0.003
    found = re.search(r"^Pi is roughly (3\.\d+)", stdout, re.MULTILINE)
    assert found, stdout
    assert abs(float(found[1]) - math.pi) < 0.1, stdout
    assert "400,000 darts" in stdout


# ----------------------------------------------------------------------------------- join


def test_join_revenue_per_city_and_orders_per_customer(tmp_path: Path) -> None:
    stdout = submit(tmp_path / "conf", "join.py")
    lines = [line.split() for line in stdout.splitlines()]
    # By hand from the lists in join.py: order 1010 (customer 99) has no customer and is
    # dropped by the inner join; Farah has no orders and is kept by the left outer join.
    assert lines == [
        ["Revenue", "per", "city:"],
        ["Lisbon", "174.00", "EUR"],  # Ada 25.00 + 99.00 + 10.00, Chen 40.00
        ["Faro", "150.00", "EUR"],  # Dana
        ["Porto", "59.00", "EUR"],  # Brian 12.50 + 6.00, Emeka 7.50 + 33.00
        ["Orders", "per", "customer:"],
        ["Ada", "3", "orders", "134.00", "EUR"],
        ["Brian", "2", "orders", "18.50", "EUR"],
        ["Chen", "1", "order", "40.00", "EUR"],
        ["Dana", "1", "order", "150.00", "EUR"],
        ["Emeka", "2", "orders", "40.50", "EUR"],
        ["Farah", "0", "orders", "0.00", "EUR"],
    ], stdout


# ------------------------------------------------------------------------------- pagerank


def plain_pagerank(edges: list[tuple[str, str]], iterations: int) -> dict[str, float]:
    """The example's iteration in plain Python: only pages with out-links keep a rank to
    give, and only pages that receive contributions have a rank afterwards (the join and
    the reduceByKey of the RDD version)."""
    links: defaultdict[str, list[str]] = defaultdict(list)
    for src, dst in sorted(set(edges)):
        links[src].append(dst)
    ranks = dict.fromkeys(links, 1.0)
    for _ in range(iterations):
        sums: defaultdict[str, float] = defaultdict(float)
        for page, rank in ranks.items():
            for dst in links.get(page, []):
                sums[dst] += rank / len(links[page])
        ranks = {page: 0.15 + 0.85 * total for page, total in sums.items()}
    return ranks


def parse_ranks(stdout: str, iterations: int) -> list[tuple[str, float]]:
    assert f"PageRank after {iterations} iterations:" in stdout, stdout
    return [
        (m[2], float(m[1])) for m in re.finditer(r"^ +(\d+\.\d+)  (\S+)$", stdout, re.MULTILINE)
    ]


def assert_ranks(printed: list[tuple[str, float]], expected: dict[str, float]) -> None:
    assert sorted(page for page, _ in printed) == sorted(expected)
    for page, rank in printed:
        assert math.isclose(rank, expected[page], rel_tol=0, abs_tol=1e-6), (page, rank)
    values = [rank for _, rank in printed]
    assert values == sorted(values, reverse=True)  # printed highest first


def builtin_links() -> list[tuple[str, str]]:
    module: dict[str, Any] = runpy.run_path(str(EXAMPLES / "pagerank.py"))  # not __main__
    links: list[tuple[str, str]] = module["LINKS"]
    return links


def test_pagerank_on_the_builtin_graph(tmp_path: Path) -> None:
    stdout = submit(tmp_path / "conf", "pagerank.py")
    expected = plain_pagerank(builtin_links(), 10)
    printed = parse_ranks(stdout, 10)
    assert_ranks(printed, expected)
    assert len(printed) == 8
    # Exact order too: the built-in graph has no near-ties.
    assert [page for page, _ in printed] == sorted(expected, key=lambda p: -expected[p])


def test_pagerank_iterations_and_an_edge_file(tmp_path: Path) -> None:
    stdout = submit(tmp_path / "conf", "pagerank.py", "3")
    assert_ranks(parse_ranks(stdout, 3), plain_pagerank(builtin_links(), 3))

    # A page with no in-links ("orphan") drops out; a duplicate edge counts once; a page
    # with no out-links ("sink") gets a rank but passes nothing on; junk lines are skipped.
    edges = [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a"), ("orphan", "a"), ("c", "sink")]
    lines = [f"{src} {dst}" for src, dst in edges] + ["a b", "", "not-an-edge"]
    edge_file = tmp_path / "edges.txt"
    edge_file.write_text("\n".join(lines) + "\n")
    stdout = submit(tmp_path / "conf", "pagerank.py", str(edge_file), "5")
    expected = plain_pagerank(edges, 5)
    assert "orphan" not in expected and "sink" in expected
    assert_ranks(parse_ranks(stdout, 5), expected)
