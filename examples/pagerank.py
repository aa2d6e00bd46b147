"""PageRank over a small link graph, iterating with join, flatMap and reduceByKey.

    minispark submit --master 'local-cluster[2,1,512]' examples/pagerank.py [ITERATIONS]
    minispark submit --master 'local-cluster[2,1,512]' examples/pagerank.py EDGES [ITERATIONS]

ITERATIONS defaults to 10. EDGES is a text file of "page neighbour" lines, one link per
line; without it a built-in graph of eight pages is used. This is the classic formulation:
each page starts at rank 1.0, and each iteration sets

    rank(p) = 0.15 + 0.85 * sum(rank(q) / outlinks(q) for every q linking to p)

A page that no page links to drops out after the first iteration (it receives nothing).
"""

import sys
from operator import add

from minispark import SparkConf, SparkContext

DAMPING = 0.85

# (page, page it links to); every page has at least one link in and one link out.
LINKS = [
    ("home", "about"),
    ("home", "blog"),
    ("home", "shop"),
    ("about", "home"),
    ("about", "team"),
    ("blog", "home"),
    ("blog", "post-1"),
    ("blog", "post-2"),
    ("post-1", "blog"),
    ("post-1", "post-2"),
    ("post-2", "blog"),
    ("post-2", "shop"),
    ("shop", "home"),
    ("shop", "cart"),
    ("cart", "shop"),
    ("team", "about"),
    ("team", "home"),
]


def contributions(neighbours, rank):
    """A page shares its rank equally among the pages it links to."""
    for neighbour in neighbours:
        yield neighbour, rank / len(neighbours)


if __name__ == "__main__":
    args = sys.argv[1:]
    edges_file = args.pop(0) if args and not args[0].isdigit() else None
    iterations = int(args[0]) if args else 10

    conf = SparkConf().setAppName("pagerank")
    with SparkContext(conf=conf) as sc:
        if edges_file:
            edges = (
                sc.textFile(edges_file)
                .map(str.split)
                .filter(lambda parts: len(parts) == 2)  # skip blank or malformed lines
                .map(tuple)
            )
        else:
            edges = sc.parallelize(LINKS)

        # The links are read by every iteration: keep them in memory, not recomputed.
        links = edges.distinct().groupByKey().mapValues(list).cache()
        ranks = links.mapValues(lambda _: 1.0)

        for _ in range(iterations):
            contribs = links.join(ranks).flatMap(lambda page: contributions(page[1][0], page[1][1]))
            ranks = contribs.reduceByKey(add).mapValues(lambda s: (1 - DAMPING) + DAMPING * s)

        print(f"PageRank after {iterations} iterations:")
        for page, rank in sorted(ranks.collect(), key=lambda pr: (-pr[1], pr[0])):
            print(f"  {rank:.10f}  {page}")
