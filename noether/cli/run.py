"""``noether-attention run FILE``: build the described module and run it on synthetic inputs."""

import argparse
from typing import Any

from noether.cli.files import load_file
from noether.cli.measure import human_bytes, measured
from noether.cli.spec import AttentionFile, read_file
from noether.cli.table import pairs
from noether.core.schemas.errors import format_loc
from noether.core.schemas.modules.attention import TokenSpec


def _require_torch() -> Any:
    try:
        import torch
    except ModuleNotFoundError:
        raise RuntimeError("`run` needs PyTorch: pip install 'noether[torch]'") from None
    return torch


def run_file(args: argparse.Namespace) -> int:
    data = load_file(args.file)
    spec, problems = read_file(data)
    if problems:
        first = problems[0]
        more = (
            f" (and {len(problems) - 1} more; see `noether-attention check {args.file}`)" if len(problems) > 1 else ""
        )
        raise ValueError(f"{args.file}: {format_loc(first.loc)}: {first.message}{more}")
    torch = _require_torch()
    torch.manual_seed(spec.run.seed)
    with torch.no_grad():
        rows = run_attention(spec, args, torch)
    print(pairs(rows))
    return 0


def _with_queries(tokens: list[TokenSpec], size: int | None, is_anchor: Any) -> list[TokenSpec]:
    if size is None:
        return tokens
    return [t if is_anchor(t.name) else TokenSpec(name=t.name, size=size) for t in tokens]


def run_attention(spec: AttentionFile, args: argparse.Namespace, torch: Any) -> list[tuple[str, str]]:
    from noether.modeling.modules.attention.anchor.module import MultiBranchAnchorAttention
    from noether.modeling.modules.attention.mixed.module import MixedAttention
    from noether.modeling.modules.attention.perceiver.module import PerceiverAttention
    from noether.modeling.streaming import stream_queries
    from noether.registry import build_attention

    module = build_attention(spec.config, name=spec.name).eval()
    batch, dim = spec.run.batch_size, spec.config.hidden_dim
    anchor_names: set[str] = set()
    if isinstance(module, MultiBranchAnchorAttention):
        anchor_names = {module.anchors(b) for b in module.branches}
    tokens = _with_queries(spec.tokens, args.queries, lambda name: name in anchor_names)
    if not tokens:
        tokens = [TokenSpec(name="tokens", size=4096)]
    sizes = {t.name: t.size or 0 for t in tokens}
    rows = [("module", f"{spec.name} ({type(module).__name__})"),
            ("parameters", f"{sum(p.numel() for p in module.parameters()):,}"),
            ("tokens", ", ".join(f"{n}={s:,}" for n, s in sizes.items()))]  # fmt: skip
    chunk_size = spec.run.chunk_size
    if isinstance(module, MultiBranchAnchorAttention) and chunk_size is not None:
        anchors = [t for t in tokens if t.name in anchor_names]
        x_anchors = torch.randn(batch, sum(sizes[t.name] for t in anchors), dim)
        queries = {t.name: torch.randn(batch, sizes[t.name], dim) for t in tokens if t.name not in anchor_names}
        with measured() as m:
            outputs = stream_queries(module, x_anchors, anchors, queries, chunk_size=chunk_size,
                                     progress=False if args.no_progress else None)  # fmt: skip
        points = sum(o.shape[1] for o in outputs.values())
        shape = f"{len(outputs)} query groups, ({batch}, {points:,}, {dim}) in all"
        rows.append(("mode", f"anchors once, then queries in chunks of {chunk_size:,} (KV cache)"))
    else:
        total = sum(sizes.values())
        with measured() as m:
            if isinstance(module, MultiBranchAnchorAttention):
                out = module(torch.randn(batch, total, dim), tokens)
            elif isinstance(module, MixedAttention):
                out = module(torch.randn(batch, total, dim), tokens, spec.patterns)
            elif isinstance(module, PerceiverAttention):
                first = tokens[0].size or 0
                out = module(torch.randn(batch, first, dim), torch.randn(batch, total - first, module.kv_dim))
            else:
                out = module(torch.randn(batch, total, dim))
        points, shape = out.shape[1], str(tuple(out.shape))
        rows.append(("mode", "one forward pass"))
    rows += [
        ("output", shape),
        ("time", f"{m['seconds']:.3f} s"),
        ("throughput", f"{batch * points / m['seconds']:,.0f} points/s"),
        ("peak memory growth", human_bytes(m["peak_growth"])),
    ]
    return rows
