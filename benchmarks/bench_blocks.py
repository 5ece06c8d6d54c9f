"""Streaming inference through 8 joint-anchor transformer blocks (hidden 192, 3 heads,
4096 + 4096 anchors, MLP x4), eval, float32, each measurement in a fresh process.

Targets: at 65,536 queries per branch streaming takes <= 1.05x the one-shot forward's
time (median of paired rounds) and <= 1/10 of its peak memory growth; streamed peak
memory is flat in the query count (<= 1.2x from 65,536 to 1,048,576 per branch).

Run: python benchmarks/bench_blocks.py [--rounds N] [--chunk C] [--quick]
"""

import argparse
import statistics

from _paired import verdict
from _streaming import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=4096, help="queries per branch and chunk")
    parser.add_argument("--quick", action="store_true", help="8,192 and 65,536 queries, for a smoke run")
    args = parser.parse_args()
    small, large, chunk = (8192, 65536, 4096) if args.quick else (65536, 1_048_576, args.chunk)
    print(f"8 joint-anchor blocks; one-shot vs streamed in chunks of {chunk:,} queries per branch")
    times, growth = [], []
    for i in range(args.rounds):
        order = ("oneshot", "stream") if i % 2 == 0 else ("stream", "oneshot")
        result = {mode: run("stack", mode, small, chunk) for mode in order}
        assert abs(result["oneshot"]["checksum"] - result["stream"]["checksum"]) < 1e-2
        times.append(result["stream"]["seconds"] / result["oneshot"]["seconds"])
        growth.append(result["stream"]["growth"] / result["oneshot"]["growth"])
        print(f"  round {i}: one-shot {result['oneshot']['seconds']:.1f} s, "
              f"{result['oneshot']['growth'] / 2**20:.0f} MiB; streamed {result['stream']['seconds']:.1f} s, "
              f"{result['stream']['growth'] / 2**20:.0f} MiB")  # fmt: skip
    time_ratio, growth_ratio = statistics.median(times), statistics.median(growth)
    streamed_small = run("stack", "stream", small, chunk)
    streamed_large = run("stack", "stream", large, chunk)
    flat = streamed_large["growth"] / streamed_small["growth"]
    rate = 2 * large / streamed_large["seconds"]
    print(f"  streamed {large:,} q/branch: {streamed_large['seconds']:.1f} s, "
          f"{streamed_large['growth'] / 2**20:.0f} MiB, {rate:,.0f} points/s")  # fmt: skip
    print(f"  time streamed/one-shot at {small:,}: {time_ratio:.3f}x (target <= 1.05x) {verdict(time_ratio, 1.05)}")
    print(f"  growth streamed/one-shot at {small:,}: {growth_ratio:.3f} (target <= 0.10) {verdict(growth_ratio, 0.10)}")
    print(f"  streamed growth {large:,} / {small:,}: {flat:.2f}x (target <= 1.2x) {verdict(flat, 1.2)}")


if __name__ == "__main__":
    main()
