"""Deterministic text for the word-count benchmark: Zipf-like words, lines of 10-15 words.

    python bench/gen_text.py [--size-mb 200] [--vocabulary 10000] [--seed 42]
                             [--data-dir /var/tmp/minispark-bench] [--out PATH]

The vocabulary is ``--vocabulary`` distinct lower-case words drawn from the seed, with
English's word-length histogram (2-12 letters), so that 200 MB holds about 34 million words,
as English prose does. Word ``r`` (by rank, from 1) is drawn with probability close to
``1 / r`` (Zipf, s = 1): the distribution is quantised to 65,536 slots, each word getting
at least one, so a word is picked from two random bytes by a C-level lookup. Lines have 10
to 15 words. Generation takes a few seconds for 200 MB (one core), in 1 Mi-word chunks.

The file goes to ``--out``, or by default to ``--data-dir`` (outside the repository) under a
name made of the parameters. A file that already exists with a matching ``.json`` manifest
(same parameters, same size) is reused, not regenerated. It prints the file's path.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import string
import sys
import time
from collections.abc import Iterator
from pathlib import Path

GENERATOR_VERSION = 2
DEFAULT_DATA_DIR = Path("/var/tmp/minispark-bench")
SLOTS = 1 << 16  # the sampling table: one word per 16-bit random number
WORDS_PER_CHUNK = 1 << 20
MIN_LINE, MAX_LINE = 10, 15  # words per line
# Percent of English running words by length in letters (1-letter words folded into 2).
WORD_LENGTHS = {2: 17, 3: 21, 4: 16, 5: 11, 6: 9, 7: 8, 8: 6, 9: 4, 10: 3, 11: 2, 12: 1}


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct words, in rank order (rank 1 is the most frequent word).

    Lengths follow English's word-length histogram (2-12 letters, mean about 4.8), whatever
    the rank, so the text has about as many words per megabyte as English prose.
    """
    lengths, weights = list(WORD_LENGTHS), list(WORD_LENGTHS.values())
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        (length,) = rng.choices(lengths, weights=weights)
        word = "".join(rng.choices(string.ascii_lowercase, k=length))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def sampling_table(words: list[str]) -> list[str]:
    """``SLOTS`` entries; word of rank r fills about ``SLOTS / (r * H)`` of them, at least 1."""
    if len(words) > SLOTS:
        raise ValueError(f"at most {SLOTS} words fit the sampling table")
    weights = [1.0 / rank for rank in range(1, len(words) + 1)]
    spare = SLOTS - len(words)  # every word gets one slot; the rest go by weight
    total = sum(weights)
    shares = [w / total * spare for w in weights]
    counts = [1 + int(s) for s in shares]
    # Largest remainders get the slots that rounding down left over.
    left = SLOTS - sum(counts)
    by_remainder = sorted(range(len(words)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in by_remainder[:left]:
        counts[i] += 1
    table = [word for word, count in zip(words, counts, strict=True) for _ in range(count)]
    assert len(table) == SLOTS
    return table


def chunks(size_bytes: int, words: list[str], rng: random.Random) -> Iterator[str]:
    """Text in chunks of about ``WORDS_PER_CHUNK`` words, ``size_bytes`` in all, whole lines."""
    table = sampling_table(words)
    written = 0
    while written < size_bytes:
        picks = map(table.__getitem__, memoryview(rng.randbytes(2 * WORDS_PER_CHUNK)).cast("H"))
        lines: list[str] = []
        used = 0
        for byte in rng.randbytes(WORDS_PER_CHUNK // MIN_LINE):
            count = MIN_LINE + byte % (MAX_LINE - MIN_LINE + 1)
            used += count
            if used > WORDS_PER_CHUNK:
                break
            lines.append(" ".join(itertools.islice(picks, count)))
        text = "\n".join(lines) + "\n"
        if written + len(text) > size_bytes:  # the last chunk: stop at a line end
            text = text[: text.rfind("\n", 0, size_bytes - written) + 1]
            if not text:
                return
        written += len(text)
        yield text


def default_path(data_dir: Path, size_mb: int, vocabulary_size: int, seed: int) -> Path:
    return data_dir / f"words-{size_mb}mb-v{vocabulary_size}-s{seed}.txt"


def ensure_text(
    size_mb: int = 200,
    vocabulary_size: int = 10_000,
    seed: int = 42,
    data_dir: Path = DEFAULT_DATA_DIR,
    out: Path | None = None,
) -> Path:
    """The text file for these parameters, generated only if it is not there already."""
    path = out or default_path(data_dir, size_mb, vocabulary_size, seed)
    manifest = path.with_name(path.name + ".json")
    wanted = {
        "generator": GENERATOR_VERSION,
        "size_mb": size_mb,
        "vocabulary": vocabulary_size,
        "seed": seed,
    }
    if path.is_file() and manifest.is_file():
        try:
            found = json.loads(manifest.read_text())
        except ValueError:
            found = {}
        if {k: found.get(k) for k in wanted} == wanted and found.get("bytes") == (
            path.stat().st_size
        ):
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    words = vocabulary(vocabulary_size, rng)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="ascii", newline="\n") as f:
            for text in chunks(size_mb * 2**20, words, rng):
                f.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    manifest.write_text(json.dumps({**wanted, "bytes": path.stat().st_size}) + "\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=200, help="file size in MiB (default 200)")
    parser.add_argument("--vocabulary", type=int, default=10_000, help="distinct words")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="cache directory")
    parser.add_argument("--out", type=Path, help="write here instead of the cache directory")
    args = parser.parse_args()
    start = time.perf_counter()
    path = ensure_text(args.size_mb, args.vocabulary, args.seed, args.data_dir, args.out)
    elapsed = time.perf_counter() - start
    print(f"{path} ({path.stat().st_size / 2**20:.1f} MiB, {elapsed:.1f} s)", file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
