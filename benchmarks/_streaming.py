"""Worker for streaming-vs-one-shot measurements: one measurement per fresh process.

python benchmarks/_streaming.py {attention|stack} {oneshot|stream} QUERIES_PER_BRANCH CHUNK
prints JSON: seconds, peak RSS growth above the inputs, and a checksum of the last output row.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import torch
from _memory import peak_bytes, reset_peak, rss_bytes

from noether.modeling.modules import JointAnchorAttention, KVCache, TransformerStack

HIDDEN, HEADS, ANCHORS, DEPTH = 192, 3, 4096, 8
BRANCHES = ("surface", "volume")


def specs(queries: int, anchors: int | None = ANCHORS) -> list[dict[str, int | None]]:
    out: list[dict[str, int | None]] = []
    for branch in BRANCHES:
        out += [{f"{branch}_anchors": anchors}, {f"{branch}_queries": queries}]
    return out


def model(kind: str) -> torch.nn.Module:
    if kind == "attention":
        return JointAnchorAttention({"hidden_dim": HIDDEN, "num_heads": HEADS, "branches": list(BRANCHES)})
    block = {"hidden_dim": HIDDEN, "num_heads": HEADS, "mlp_expansion_factor": 4,
             "attention_constructor": "joint_anchor", "attention_arguments": {"branches": list(BRANCHES)}}  # fmt: skip
    return TransformerStack({"depth": DEPTH, "block": block})


def measure(kind: str, mode: str, queries: int, chunk: int) -> dict[str, float]:
    """One-shot: the full sequence in one forward. Stream: anchors once into a KVCache, then
    query chunks (both branches) through the model, written into a preallocated output."""
    torch.manual_seed(0)
    net = model(kind).eval()
    anchors = torch.randn(1, 2 * ANCHORS, HIDDEN)
    surface, volume = torch.randn(1, queries, HIDDEN), torch.randn(1, queries, HIDDEN)
    with torch.no_grad():
        if mode == "oneshot":
            x = torch.cat([anchors[:, :ANCHORS], surface, anchors[:, ANCHORS:], volume], dim=1)
            del surface, volume
            before = rss_bytes()
            reset_peak()
            start = time.perf_counter()
            out = net(x, specs(queries))
        else:
            out = torch.zeros(1, 2 * queries, HIDDEN)
            out.fill_(0.0)  # make every page of the buffer resident before measuring
            before = rss_bytes()
            reset_peak()
            start = time.perf_counter()
            cache = KVCache(net)
            net(anchors, [{"surface_anchors": ANCHORS}, {"volume_anchors": ANCHORS}], kv_cache=cache)
            for offset in range(0, queries, chunk):
                stop = min(offset + chunk, queries)
                x = torch.cat([surface[:, offset:stop], volume[:, offset:stop]], dim=1)
                y = net(x, specs(stop - offset, anchors=None), kv_cache=cache)
                out[:, offset:stop] = y[:, : stop - offset]
                out[:, queries + offset : queries + stop] = y[:, stop - offset :]
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "growth": peak_bytes() - before, "checksum": float(out[0, -1].sum())}


def run(kind: str, mode: str, queries: int, chunk: int) -> dict[str, float]:
    cmd = [sys.executable, str(Path(__file__)), kind, mode, str(queries), str(chunk)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


if __name__ == "__main__":
    kind, mode, queries, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(measure(kind, mode, queries, chunk)))
