#!/usr/bin/env python3
"""Writes the pipeline's data set to stdout: one record per line, `<id>,<word>,<number>`.

The same arguments always give the same bytes (a seeded generator), so a result computed from it
can be checked against one computed without spotdag (reference.sh).
"""
import argparse
import random
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=120_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su"]
    out = sys.stdout
    for i in range(args.lines):
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 5)))
        out.write(f"{i:07d},{word},{rng.randint(0, 10**9)}\n")


if __name__ == "__main__":
    main()
