"""Worker for streaming-vs-one-shot measurements: one measurement per fresh process.

python benchmarks/_streaming.py {attention|stack} {oneshot|stream} QUERIES_PER_BRANCH CHUNK [rss|tensors] [DEVICE]
prints JSON: seconds, peak memory growth above the inputs, and a checksum of the last
output row. ``rss``: the process's peak resident memory; ``tensors``: the peak of live
CPU tensors (profiled, so its time is not reported). On CUDA both are the peak of allocated
device memory above the inputs.
"""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from noether.cli.measure import measured, tensor_peak
from noether.modeling.modules import JointAnchorAttention, TransformerStack
from noether.modeling.streaming import stream_queries

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


def forward(
    kind: str, mode: str, queries: int, chunk: int, device: str = "cpu"
) -> tuple[Callable[[], torch.Tensor], list[torch.Tensor]]:
    """The call to measure and what it keeps (built beforehand, outside the measurement).

    One-shot: the full sequence in one forward. Stream: ``stream_queries`` (anchors into a
    KVCache, then query chunks through every layer) into preallocated output buffers.
    """
    torch.manual_seed(0)
    net = model(kind).to(device).eval()
    anchors = torch.randn(1, 2 * ANCHORS, HIDDEN, device=device)
    surface, volume = torch.randn(1, queries, HIDDEN, device=device), torch.randn(1, queries, HIDDEN, device=device)
    if mode == "oneshot":
        x = torch.cat([anchors[:, :ANCHORS], surface, anchors[:, ANCHORS:], volume], dim=1)
        return lambda: net(x, token_specs=specs(queries)), [x]
    out = {name: torch.zeros(1, queries, HIDDEN, device=device) for name in ("surface_queries", "volume_queries")}
    for buffer in out.values():
        buffer.fill_(0.0)  # make every page of the buffers resident before measuring

    def stream() -> torch.Tensor:
        stream_queries(net, anchors, [{"surface_anchors": ANCHORS}, {"volume_anchors": ANCHORS}],
                       {"surface_queries": surface, "volume_queries": volume}, chunk_size=chunk, out=out,
                       progress=False)  # fmt: skip
        return out["volume_queries"]

    return stream, [anchors, surface, volume]


def measure(
    kind: str, mode: str, queries: int, chunk: int, metric: str = "rss", device: str = "cpu"
) -> dict[str, float]:
    call, _inputs = forward(kind, mode, queries, chunk, device)
    if device.startswith("cuda"):  # both metrics: the peak of allocated CUDA memory above the inputs
        with torch.no_grad():
            torch.cuda.synchronize()
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
            out = call()
            torch.cuda.synchronize()
            seconds = time.perf_counter() - start
        growth = torch.cuda.max_memory_allocated() - before
        return {"seconds": seconds, "growth": growth, "checksum": float(out[0, -1].sum())}
    with torch.no_grad():
        if metric == "tensors":
            result: list[torch.Tensor] = []
            growth = tensor_peak(lambda: result.append(call()))
            return {"seconds": float("nan"), "growth": growth, "checksum": float(result[0][0, -1].sum())}
        with measured() as m:
            out = call()
    return {"seconds": m["seconds"], "growth": m["peak_growth"], "checksum": float(out[0, -1].sum())}


def run(kind: str, mode: str, queries: int, chunk: int, metric: str = "rss", device: str = "cpu") -> dict[str, float]:
    cmd = [sys.executable, str(Path(__file__)), kind, mode, str(queries), str(chunk), metric, device]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


if __name__ == "__main__":
    kind, mode, queries, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(measure(kind, mode, queries, chunk, *sys.argv[5:7])))
