"""Streaming AB-UPT across processes: 2 processes x 1 thread against 1 process x 2 threads.

The README's main example (``examples/ab_upt.yaml``) through ``noether-attention run``:
once as one process with two threads, once under ``torchrun --nproc-per-node 2`` with
one thread per process (each rank encodes the geometry and anchors, streams half of the
query points, rank 0 gathers). Rounds alternate which runs first; the figure is the
median of the per-round ratios of the run's own ``time`` line (the model call, without
start-up), next to the whole command's wall time.

Run: python benchmarks/bench_distributed.py [--queries N] [--rounds R]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _paired import recorded

EXAMPLE = Path(__file__).parents[1] / "examples" / "ab_upt.yaml"


def run(processes: int, queries: int, example: Path) -> tuple[float, float, str]:
    """(model seconds, wall seconds, peak memory line) of one ``run``."""
    threads = 2 // processes
    cli = ["-m", "noether", "run", str(example), "--no-progress", "--queries", str(queries)]
    if processes > 1:
        cli = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *cli]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *cli], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    match = re.search(r"^time\s+([\d,.]+) (m?s)$", done.stdout, re.MULTILINE)
    peak = re.search(r"^peak memory growth\s+(.*)$", done.stdout, re.MULTILINE)
    if match is None or peak is None:
        raise RuntimeError(f"no time or peak memory line in the run's output:\n{done.stdout}")
    seconds = float(match.group(1).replace(",", "")) / (1000 if match.group(2) == "ms" else 1)
    return seconds, wall, peak.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=100_000, help="query points per branch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--example", type=Path, default=EXAMPLE)
    args = parser.parse_args()
    print(f"{args.example.name}, {args.queries:,} query points per branch, {args.rounds} rounds")
    ratios, walls, times = [], [], {1: [], 2: []}
    for i in range(args.rounds):
        order = (2, 1) if i % 2 else (1, 2)
        result = {p: run(p, args.queries, args.example) for p in order}
        for p, (seconds, wall, peak) in result.items():
            times[p].append(seconds)
            label = "2 processes x 1 thread" if p == 2 else "1 process x 2 threads"
            print(f"  round {i + 1}: {label:23s} {seconds:7.2f} s (wall {wall:6.2f} s), peak growth {peak}", flush=True)
        ratios.append(result[2][0] / result[1][0])
        walls.append(result[2][1] / result[1][1])
    print(f"  median time 1 process x 2 threads: {statistics.median(times[1]):.2f} s, "
          f"2 processes x 1 thread: {statistics.median(times[2]):.2f} s")  # fmt: skip
    print(f"  2 processes / 1 process: {statistics.median(ratios):.3f}x (model call), "
          f"{statistics.median(walls):.3f}x (whole command)")  # fmt: skip


if __name__ == "__main__":
    with recorded("Across processes (torchrun)"):
        main()
