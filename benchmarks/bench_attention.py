"""Anchor attention speed and memory (eval, no grad, float32), AB-UPT-sized.

Setting: hidden 192, 3 heads, 4096 surface + 4096 volume anchors.

1. MixedAttention for self, cross and joint patterns with 65,536 queries per branch
   against its lower bound: the qkv projection, bare ``scaled_dot_product_attention``
   calls on pre-sliced contiguous tensors, and the output projection (paired,
   interleaved rounds; median of ratios). Target <= 1.10x.
2. Joint anchor attention over N queries per branch, one-shot vs streamed in chunks
   against a KVCache of the anchors, each in a fresh worker process: peak RSS growth
   above the inputs (and, for streaming, a preallocated output buffer the chunks are
   written into) and wall time. Targets: streaming growth <= 1/20 of one-shot's and
   flat (<= 1.2x from 65,536 to 1,048,576 queries per branch); streaming time
   <= 1.0x one-shot at 1,048,576.

Run: python benchmarks/bench_attention.py [--quick]   (needs: pip install -e '.[torch]')
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from _paired import verdict
from _streaming import ANCHORS, HEADS, HIDDEN, run, specs

from noether.modeling.modules import MixedAttention

PATTERNS = {
    "self": [
        {"query_tokens": ["surface_anchors", "surface_queries"], "key_value_tokens": ["surface_anchors"]},
        {"query_tokens": ["volume_anchors", "volume_queries"], "key_value_tokens": ["volume_anchors"]},
    ],
    "cross": [
        {"query_tokens": ["surface_anchors", "surface_queries"], "key_value_tokens": ["volume_anchors"]},
        {"query_tokens": ["volume_anchors", "volume_queries"], "key_value_tokens": ["surface_anchors"]},
    ],
    "joint": [
        {
            "query_tokens": ["surface_anchors", "surface_queries", "volume_anchors", "volume_queries"],
            "key_value_tokens": ["surface_anchors", "volume_anchors"],
        }
    ],
}


def lower_bound_fn(module: MixedAttention, x: torch.Tensor, patterns: list[dict[str, list[str]]], queries: int):
    """Projections plus bare SDPA calls on tensors sliced (contiguously) beforehand."""
    sizes = {}
    for spec in specs(queries):
        sizes.update(spec)
    offsets, start = {}, 0
    for name, size in sizes.items():
        offsets[name] = (start, start + size)
        start += size
    q, k, v = module.split_heads(module.qkv(x), 3)

    def gather(t: torch.Tensor, names: list[str]) -> torch.Tensor:
        return torch.cat([t[:, :, slice(*offsets[n])] for n in names], dim=2).contiguous()

    sliced = [(gather(q, p["query_tokens"]), gather(k, p["key_value_tokens"]), gather(v, p["key_value_tokens"]))
              for p in patterns]  # fmt: skip
    merged = torch.randn_like(x)

    def lower_bound() -> None:
        F.linear(x, module.qkv.weight, module.qkv.bias)
        for qs, ks, vs in sliced:
            F.scaled_dot_product_attention(qs, ks, vs)
        F.linear(merged, module.proj.weight, module.proj.bias)

    return lower_bound


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mixed_vs_lower_bound(queries: int, rounds: int) -> None:
    module = MixedAttention({"hidden_dim": HIDDEN, "num_heads": HEADS}).eval()
    x = torch.randn(1, 2 * (ANCHORS + queries), HIDDEN)
    print(f"MixedAttention vs lower bound, {queries:,} queries + {ANCHORS} anchors per branch ({rounds} rounds)")
    for name, patterns in PATTERNS.items():
        lower_bound = lower_bound_fn(module, x, patterns, queries)
        token_specs = specs(queries)

        def mixed(patterns=patterns, token_specs=token_specs) -> None:
            module(x, token_specs, patterns)

        mixed()
        lower_bound()
        ratios = []
        for i in range(rounds):
            a, b = (timed(mixed), timed(lower_bound)) if i % 2 == 0 else reversed((timed(lower_bound), timed(mixed)))
            ratios.append(a / b)
        ratio = statistics.median(ratios)
        print(f"  {name:6s} {ratio:5.3f}x  (target <= 1.10x) {verdict(ratio, 1.10)}")


def streaming_vs_oneshot(small: int, large: int, chunk: int) -> None:
    print(f"Joint anchor attention, one-shot vs streamed in chunks of {chunk:,} queries")
    rows = {}
    for queries in (small, large):
        for mode in ("oneshot", "stream"):
            rows[mode, queries] = run("attention", mode, queries, chunk)
            r = rows[mode, queries]
            print(f"  {mode:8s} {queries:>9,} q/branch  {r['seconds']:7.2f} s  growth {r['growth'] / 2**20:8.1f} MiB")
        # the same numbers from both paths (one value of the last output row)
        assert abs(rows["oneshot", queries]["checksum"] - rows["stream", queries]["checksum"]) < 1e-3
    share = rows["stream", large]["growth"] / rows["oneshot", large]["growth"]
    flat = rows["stream", large]["growth"] / rows["stream", small]["growth"]
    speed = rows["stream", large]["seconds"] / rows["oneshot", large]["seconds"]
    print(f"  growth streamed/one-shot at {large:,}: {share:.4f} (target <= 0.05) {verdict(share, 0.05)}")
    print(f"  streamed growth {large:,} / {small:,}: {flat:.2f}x (target <= 1.2x) {verdict(flat, 1.2)}")
    print(f"  time streamed/one-shot at {large:,}: {speed:.3f}x (target <= 1.0x) {verdict(speed, 1.0)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", choices=["mixed", "stream"], help="run one part")
    parser.add_argument("--chunk", type=int, default=16384, help="query tokens per chunk when streaming")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    queries, large, chunk = (8192, 65536, 8192) if args.quick else (65536, 1_048_576, args.chunk)
    if args.only in (None, "mixed"):
        mixed_vs_lower_bound(queries, 3 if args.quick else args.rounds)
    if args.only in (None, "stream"):
        streaming_vs_oneshot(queries, large, chunk)


if __name__ == "__main__":
    main()
