"""Count the words of a text file; print the 10 most common and how many distinct words.

    minispark submit --master 'local-cluster[2,1,512]' examples/wordcount.py [INPUT]

INPUT is any path or glob textFile accepts (a file, a directory of files, ``data/*.txt``);
it defaults to the sample text next to this program, ``examples/data/sample.txt``.
A word is a run of letters, digits and apostrophes, lower-cased: "Harbor" and "harbor" are
one word, "don't" is one word, and "sea." is "sea".
"""

import re
import sys
from operator import add
from pathlib import Path

from minispark import SparkConf, SparkContext

WORD = re.compile(r"[a-z0-9']+")


def words(line):
    # strip("'") so that quoted words ('tide') count as the word itself
    return [w.strip("'") for w in WORD.findall(line.lower()) if w.strip("'")]


if __name__ == "__main__":
    default = Path(__file__).resolve().parent / "data" / "sample.txt"
    path = sys.argv[1] if len(sys.argv) > 1 else str(default)

    conf = SparkConf().setAppName("wordcount")
    with SparkContext(conf=conf) as sc:
        counts = (
            sc.textFile(path)
            .flatMap(words)
            .map(lambda word: (word, 1))
            .reduceByKey(add)  # combines on each partition before the shuffle
            .cache()  # two actions below: count the words once
        )
        # Ties broken alphabetically so the output is the same on every run.
        top = counts.takeOrdered(10, key=lambda wc: (-wc[1], wc[0]))
        distinct = counts.count()

        print(f"Top {len(top)} words in {path}:")
        for word, count in top:
            print(f"{count:8d}  {word}")
        print(f"Distinct words: {distinct}")
