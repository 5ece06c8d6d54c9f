"""Streaming inference through 8 joint-anchor transformer blocks (hidden 192, 3 heads,
4096 + 4096 anchors, MLP x4), eval, float32, each measurement in a fresh process.

Targets: at 65,536 queries per branch streaming takes <= 1.05x the one-shot forward's
time (median of paired rounds) and <= 1/10 of its peak memory growth; streamed peak
memory is flat in the query count (<= 1.2x from 65,536 to 1,048,576 per branch).

Memory is reported two ways. Live tensors: the peak of CPU tensor bytes alive at once
(profiled; the CPU analogue of ``torch.cuda.max_memory_allocated``), which the target is
judged on. RSS: the process's peak resident memory, which also counts what glibc keeps
of freed activations (its dynamic mmap threshold keeps buffers of a few MiB in the heap).

Run: python benchmarks/bench_blocks.py [--rounds N] [--chunk C] [--quick] [--device cuda]
"""

import argparse
import statistics

from _paired import recorded, verdict
from _streaming import run

MiB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=1024, help="query (and anchor) tokens per chunk")
    parser.add_argument("--quick", action="store_true", help="8,192 and 65,536 queries, for a smoke run")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (memory: then allocated CUDA memory)")
    args = parser.parse_args()
    device = args.device
    small, large, chunk = (8192, 65536, 1024) if args.quick else (65536, 1_048_576, args.chunk)
    print(f"8 joint-anchor blocks; one-shot vs streamed in chunks of {chunk:,} tokens")
    times, rss = [], []
    for i in range(args.rounds):
        order = ("oneshot", "stream") if i % 2 == 0 else ("stream", "oneshot")
        result = {mode: run("stack", mode, small, chunk, device=device) for mode in order}
        assert abs(result["oneshot"]["checksum"] - result["stream"]["checksum"]) < 1e-2
        times.append(result["stream"]["seconds"] / result["oneshot"]["seconds"])
        rss.append((result["stream"]["growth"], result["oneshot"]["growth"]))
        print(f"  round {i}: one-shot {result['oneshot']['seconds']:.1f} s, "
              f"{result['oneshot']['growth'] / MiB:.0f} MiB RSS; streamed {result['stream']['seconds']:.1f} s, "
              f"{result['stream']['growth'] / MiB:.0f} MiB RSS")  # fmt: skip
    tensors = {mode: run("stack", mode, small, chunk, "tensors", device)["growth"] for mode in ("oneshot", "stream")}
    print(f"  live tensors at {small:,}: one-shot {tensors['oneshot'] / MiB:.0f} MiB, "
          f"streamed {tensors['stream'] / MiB:.0f} MiB")  # fmt: skip
    time_ratio = statistics.median(times)
    rss_ratio = statistics.median(stream / oneshot for stream, oneshot in rss)
    tensor_ratio = tensors["stream"] / tensors["oneshot"]
    streamed_small = statistics.median(stream for stream, _ in rss)
    streamed_large = run("stack", "stream", large, chunk, device=device)
    flat = streamed_large["growth"] / streamed_small
    rate = 2 * large / streamed_large["seconds"]
    print(f"  streamed {large:,} q/branch: {streamed_large['seconds']:.1f} s, "
          f"{streamed_large['growth'] / MiB:.0f} MiB RSS, {rate:,.0f} points/s")  # fmt: skip
    print(f"  time streamed/one-shot at {small:,}: {time_ratio:.3f}x (target <= 1.05x) {verdict(time_ratio, 1.05)}")
    print(f"  live tensors streamed/one-shot at {small:,}: {tensor_ratio:.3f} (target <= 0.10) "
          f"{verdict(tensor_ratio, 0.10)}")  # fmt: skip
    print(f"  RSS growth streamed/one-shot at {small:,}: {rss_ratio:.3f} (glibc's retained heap included)")
    print(f"  streamed RSS growth {large:,} / {small:,}: {flat:.2f}x (target <= 1.2x) {verdict(flat, 1.2)}")


if __name__ == "__main__":
    with recorded("Block stacks, one-shot vs streamed"):
        main()
