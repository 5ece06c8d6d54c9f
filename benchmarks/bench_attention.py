"""Anchor attention speed and memory (eval, no grad, float32), AB-UPT-sized.

Setting: hidden 192, 3 heads, 4096 surface + 4096 volume anchors.

1. MixedAttention (self, cross and joint patterns) and the three anchor attentions with
   65,536 queries per branch against their lower bound: the qkv projection, bare
   ``scaled_dot_product_attention`` calls on pre-sliced contiguous tensors (on CUDA held
   to the FlashAttention kernel), and the output projection (paired, interleaved
   rounds; median of ratios). Target <= 1.05x. At 64 tokens (16 anchors + 16 queries
   per branch), where Python overhead dominates, against the same maths written out by
   hand without checks, in three times as many rounds. Target <= 1.10x.
2. Joint anchor attention over N queries per branch, one-shot vs streamed in chunks
   against a KVCache of the anchors, each in a fresh worker process: peak RSS growth
   above the inputs (and, for streaming, a preallocated output buffer the chunks are
   written into) and wall time. Targets: streaming growth <= 1/20 of one-shot's and
   flat (<= 1.2x from 65,536 to 1,048,576 queries per branch); streaming time
   <= 1.0x one-shot at 1,048,576.

Run: python benchmarks/bench_attention.py [--quick] [--device cuda]   (needs: pip install -e '.[torch]')
"""

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F
from _paired import recorded, verdict
from _streaming import ANCHORS, BRANCHES, HEADS, HIDDEN, run, specs
from torch.nn.attention import SDPBackend, sdpa_kernel

from noether.modeling.modules import CrossAnchorAttention, JointAnchorAttention, MixedAttention, SelfAnchorAttention

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
ANCHOR_ATTENTIONS = {"self": SelfAnchorAttention, "cross": CrossAnchorAttention, "joint": JointAnchorAttention}


def lower_bound_fn(attention: MixedAttention, x: torch.Tensor, patterns: list[dict[str, list[str]]],
                   token_specs: list[dict[str, int | None]], flash: bool):  # fmt: skip
    """Projections plus bare SDPA calls on tensors sliced (contiguously) beforehand.

    On CUDA (``flash``) the SDPA calls are held to the FlashAttention kernel.
    """
    offsets, start = {}, 0
    for spec in token_specs:
        for name, size in spec.items():
            offsets[name] = (start, start + (size or 0))
            start += size or 0
    q, k, v = attention.split_heads(attention.qkv(x), 3)

    def gather(t: torch.Tensor, names: list[str]) -> torch.Tensor:
        return torch.cat([t[:, :, slice(*offsets[n])] for n in names], dim=2).contiguous()

    sliced = [(gather(q, p["query_tokens"]), gather(k, p["key_value_tokens"]), gather(v, p["key_value_tokens"]))
              for p in patterns]  # fmt: skip
    merged = torch.randn_like(x)
    kernel = sdpa_kernel(SDPBackend.FLASH_ATTENTION) if flash else contextlib.nullcontext()

    def lower_bound() -> None:
        F.linear(x, attention.qkv.weight, attention.qkv.bias)
        with kernel:
            for qs, ks, vs in sliced:
                F.scaled_dot_product_attention(qs, ks, vs)
        F.linear(merged, attention.proj.weight, attention.proj.bias)

    return lower_bound


def hand_written_fn(attention: MixedAttention, x: torch.Tensor, patterns: list[dict[str, list[str]]],
                    token_specs: list[dict[str, int | None]]):  # fmt: skip
    """The same maths written out for these token groups, as a user would without the module: no checks."""
    offsets, start = {}, 0
    for spec in token_specs:
        for name, size in spec.items():
            offsets[name] = slice(start, start + (size or 0))
            start += size or 0
    heads, head_dim = attention.num_heads, attention.head_dim

    def hand_written() -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = (
            F.linear(x, attention.qkv.weight, attention.qkv.bias).view(b, n, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        )
        out = torch.empty(b, n, heads, head_dim, dtype=x.dtype, device=x.device)
        for p in patterns:
            qs = torch.cat([q[:, :, offsets[g]] for g in p["query_tokens"]], dim=2)
            ks = torch.cat([k[:, :, offsets[g]] for g in p["key_value_tokens"]], dim=2)
            vs = torch.cat([v[:, :, offsets[g]] for g in p["key_value_tokens"]], dim=2)
            result, at = F.scaled_dot_product_attention(qs, ks, vs), 0
            for g in p["query_tokens"]:
                size = offsets[g].stop - offsets[g].start
                out[:, offsets[g]] = result[:, :, at : at + size].transpose(1, 2)
                at += size
        return F.linear(out.view(b, n, heads * head_dim), attention.proj.weight, attention.proj.bias)

    return hand_written


def timed(fn, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def cases(queries: int, anchors: int, device: torch.device, dtype: torch.dtype):
    """(label, module call, its MixedAttention, patterns, token specs) for mixed and every anchor attention."""
    torch.manual_seed(0)
    token_specs = specs(queries, anchors)
    x = torch.randn(1, 2 * (anchors + queries), HIDDEN, device=device, dtype=dtype)
    options = {"hidden_dim": HIDDEN, "num_heads": HEADS}
    mixed = MixedAttention(options, device=device, dtype=dtype).eval()
    for name, patterns in PATTERNS.items():
        call = lambda p=patterns: mixed(x, token_specs=token_specs, attention_patterns=p)  # noqa: E731
        yield f"MixedAttention {name}", call, mixed, patterns, token_specs, x
    for name, cls in ANCHOR_ATTENTIONS.items():
        module = cls({**options, "branches": list(BRANCHES)}, device=device, dtype=dtype).eval()
        yield (
            f"{cls.__name__}",
            lambda m=module: m(x, token_specs=token_specs),
            module.mixed_attention,
            PATTERNS[name],
            token_specs,
            x,
        )


def paired(candidate, baseline, rounds: int, number: int, device: torch.device) -> float:
    """Median of per-round ratios, alternating which runs first; ``number`` calls per measurement."""

    def many(fn):
        return lambda: [fn() for _ in range(number)]

    candidate, baseline = many(candidate), many(baseline)
    candidate(), baseline()
    ratios = []
    for i in range(rounds):
        if i % 2 == 0:
            a, b = timed(candidate, device), timed(baseline, device)
        else:
            b, a = timed(baseline, device), timed(candidate, device)
        ratios.append(a / b)
    return statistics.median(ratios)


@torch.no_grad()
def overhead(queries: int, rounds: int, device: torch.device, dtype: torch.dtype) -> None:
    flash = device.type == "cuda"
    bound = "FlashAttention-backed SDPA" if flash else "lower bound"
    print(f"Mixed and anchor attention vs {bound}, {queries:,} queries + {ANCHORS:,} anchors per branch "
          f"({rounds} rounds, {device.type}, {dtype})")  # fmt: skip
    for label, call, attention, patterns, token_specs, x in cases(queries, ANCHORS, device, dtype):
        ratio = paired(call, lower_bound_fn(attention, x, patterns, token_specs, flash), rounds, 1, device)
        print(f"  {label:28s} {ratio:5.3f}x  (target <= 1.05x) {verdict(ratio, 1.05)}")
    small, small_rounds = 16, 3 * rounds  # a call takes ~1 ms: one round's ratio swings by ~10% on a shared machine
    print(f"Mixed and anchor attention vs hand-written maths, 64 tokens ({small} anchors + {small} queries per "
          f"branch; {small_rounds} rounds of 200 calls)")  # fmt: skip
    for label, call, attention, patterns, token_specs, x in cases(small, small, device, dtype):
        ratio = paired(call, hand_written_fn(attention, x, patterns, token_specs), small_rounds, 200, device)
        print(f"  {label:28s} {ratio:5.3f}x  (target <= 1.10x) {verdict(ratio, 1.10)}")


def streaming_vs_oneshot(small: int, large: int, chunk: int, device: str) -> None:
    print(f"Joint anchor attention, one-shot vs streamed in chunks of {chunk:,} queries")
    rows = {}
    for queries in (small, large):
        for mode in ("oneshot", "stream"):
            rows[mode, queries] = run("attention", mode, queries, chunk, device=device)
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
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (streaming memory: then allocated CUDA memory)")
    parser.add_argument(
        "--dtype", choices=["float32", "bfloat16", "float16"], help="default: float32, bfloat16 on cuda"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype or ("bfloat16" if device.type == "cuda" else "float32"))
    queries, large, chunk = (8192, 65536, 8192) if args.quick else (65536, 1_048_576, args.chunk)
    if args.only in (None, "mixed"):
        overhead(queries, 3 if args.quick else args.rounds, device, dtype)
    if args.only in (None, "stream"):
        streaming_vs_oneshot(queries, large, chunk, args.device)


if __name__ == "__main__":
    with recorded("Mixed and anchor attention, streaming memory"):
        main()
