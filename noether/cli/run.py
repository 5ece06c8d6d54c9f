"""``noether-attention run FILE``: build the described module and run it on synthetic inputs."""

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from noether import install_hint
from noether.cli.files import load_file
from noether.cli.measure import human_bytes, measured
from noether.cli.spec import AttentionFile, ModelFile, StackFile, read_file, report
from noether.cli.table import pairs
from noether.core.schemas.modules.attention import TokenSpec


def seconds(value: float) -> str:
    """One format for durations in every output line."""
    return f"{value:,.2f} s" if value >= 0.1 else f"{value * 1e3:,.1f} ms"


def require_torch() -> Any:
    try:
        import torch
    except ModuleNotFoundError:
        raise RuntimeError(f"`run` needs PyTorch: {install_hint('torch')}") from None
    return torch


def timing(m: dict[str, Any], stats: dict[str, float], points: int, unit: str = "points/s") -> list[tuple[str, str]]:
    """The rows every command ends with: time (and the compile time in it, when ``stats`` of a compiled stream
    hold one), throughput (without it), peak memory."""
    work, rows = m["seconds"], [("time", seconds(m["seconds"]))]
    compiled = "compile_seconds" in stats
    if compiled:
        rows.append(("compile", f"{seconds(stats['compile_seconds'])} of it: torch.compile, once per chunk shape"))
        work = max(work - stats["compile_seconds"], 1e-9)
    throughput = f"{points / work:,.0f} {unit}" + (" (the compile left out)" if compiled else "")
    return [*rows, ("throughput", throughput), ("peak memory growth", human_bytes(m["peak_growth"]))]


def compile_stats(args: argparse.Namespace) -> dict[str, float] | None:
    """A dict for a stream to report its compile time in, when ``--compile`` is given."""
    return {} if args.compile else None


def status(args: argparse.Namespace, message: str) -> None:
    """What ``run`` is doing, on stderr, where the progress bars go (and as they do: on a terminal)."""
    if not args.no_progress and sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def run_file(args: argparse.Namespace) -> int:
    status(args, f"reading {args.file}")
    data = load_file(args.file)
    spec, problems = read_file(data)
    if problems:  # every problem, as `check` reports them
        lines = report(args.file, problems)
        raise ValueError(lines[0] if len(lines) == 1 else "\n".join([f"{len(problems)} problems", *lines]))
    if args.checkpoint and not isinstance(spec, ModelFile):
        raise ValueError("--checkpoint runs a trained model's weights: it needs a model file (model: ab_upt)")
    if args.output and not isinstance(spec, ModelFile):
        raise ValueError("--output writes a model's predictions: it needs a model file (model: ab_upt)")
    if args.output and not args.output.endswith((".npz", ".pt")):
        raise ValueError(f"--output {args.output}: write .npz or .pt")
    status(args, "importing torch")
    torch = require_torch()
    torch.manual_seed(spec.run.seed)
    with processes(torch) as (rank, world):
        if world > 1 and spec.run.chunk_size is None:
            raise ValueError(
                f"{args.file}: {world} processes split the query points of a streamed run; set run.chunk_size"
            )
        with torch.no_grad():
            if isinstance(spec, ModelFile):
                rows = run_model(spec, args, torch)
            elif isinstance(spec, StackFile):
                rows = run_stack(spec, args, torch)
            else:
                rows = run_attention(spec, args, torch)
        if world > 1:
            rows = across_ranks(rows, world, torch)
        if rank == 0:
            print(pairs(rows))
    return 0


@contextlib.contextmanager
def processes(torch: Any) -> Iterator[tuple[int, int]]:
    """(rank, world size): under ``torchrun`` (WORLD_SIZE > 1) a process group for the run, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        yield 0, 1
        return
    from noether.modeling.distributed import process_group

    with process_group("gloo") as ranks:
        yield ranks


def across_ranks(rows: list[tuple[str, str]], world: int, torch: Any) -> list[tuple[str, str]]:
    """Rank 0's rows, with the process count and every rank's peak memory."""
    import torch.distributed as dist

    peaks: list[Any] = [None] * world
    dist.all_gather_object(peaks, dict(rows).get("peak memory growth"))
    threads = torch.get_num_threads()
    out = [(k, f"{v} on rank 0; per rank: {', '.join(peaks)}" if k == "peak memory growth" else v) for k, v in rows]
    return [*out, ("processes", f"{world} (torchrun, gloo), {threads} thread{'s' if threads > 1 else ''} each; "
                                "query points split across them")]  # fmt: skip


def run_model(spec: ModelFile, args: argparse.Namespace, torch: Any) -> list[tuple[str, str]]:
    from noether.modeling.models.ab_upt.module import AnchoredBranchedUPT
    from noether.modeling.synthetic import car_surface, car_volume

    if args.checkpoint:
        status(args, f"loading {args.checkpoint}")
        model = AnchoredBranchedUPT.from_checkpoint(args.checkpoint)
        weights = f"from {args.checkpoint} (the checkpoint's config; the file's points and run settings)"
    else:
        status(args, "building AB-UPT")
        model = AnchoredBranchedUPT(spec.config).eval()
        weights = "random, seeded (no --checkpoint): a try-out of the package, not a prediction"
    counts, batch = spec.points, spec.run.batch_size
    queries = {b: args.queries or getattr(counts, f"{b}_queries") for b in ("surface", "volume")}
    total = counts.geometry + counts.surface_anchors + counts.volume_anchors + sum(queries.values())
    status(args, f"making a synthetic car: {total:,} points per sample")
    g = torch.Generator().manual_seed(spec.run.seed)

    def sample(make: Any, count: int) -> Any:
        return torch.stack([make(count, g) for _ in range(batch)])

    geometry = sample(car_surface, counts.geometry)
    supernodes = (torch.arange(batch)[:, None] * counts.geometry + torch.arange(counts.supernodes)).flatten()
    inputs = {
        "geometry_position": geometry.flatten(0, 1), "geometry_supernode_idx": supernodes,
        "geometry_batch_idx": torch.arange(batch).repeat_interleave(counts.geometry),
        "surface_anchor_position": sample(car_surface, counts.surface_anchors),
        "volume_anchor_position": sample(car_volume, counts.volume_anchors),
        "query_surface_position": sample(car_surface, queries["surface"]) if queries["surface"] else None,
        "query_volume_position": sample(car_volume, queries["volume"]) if queries["volume"] else None,
    }  # fmt: skip
    if model.data_specs.condition_dim:
        inputs["inflow_design_parameters"] = torch.rand(batch, model.data_specs.condition_dim, generator=g)
    chunk = spec.run.chunk_size
    streamed = chunk is not None and any(queries.values())
    per_rank = bool(args.output) and "{rank}" in args.output
    stats = compile_stats(args)
    with measured() as m:
        if chunk is not None and streamed:
            out = model.stream(**inputs, chunk_size=chunk, progress=False if args.no_progress else None,
                               gather="none" if per_rank else "rank0", compile=args.compile, stats=stats)  # fmt: skip
        else:
            out = model(**inputs)
    query_points = batch * sum(queries.values())
    rows = [
        ("model", f"AnchoredBranchedUPT, hidden {model.config.hidden_dim}, "
                  f"physics blocks {', '.join(model.config.physics_blocks)}"),
        ("weights", weights),
        ("parameters", f"{sum(p.numel() for p in model.parameters()):,}"),
        ("points", f"geometry {counts.geometry:,} ({counts.supernodes:,} supernodes), anchors "
                   f"{counts.surface_anchors:,} + {counts.volume_anchors:,}, queries {queries['surface']:,} + "
                   f"{queries['volume']:,} (surface + volume), batch {batch}"),
        ("mode", f"geometry and anchors once, then queries in chunks of {chunk:,} (KV cache)" if streamed
                 else "one forward pass"),
        ("output", ", ".join(f"{k} {tuple(v.shape)}" for k, v in out.items())),
        *(timing(m, stats or {}, query_points, "query points/s") if query_points else
          timing(m, {}, batch * (counts.surface_anchors + counts.volume_anchors))),
    ]  # fmt: skip
    if args.output:
        from noether.modeling.distributed import rank_and_world

        rank = rank_and_world()[0]
        if per_rank or rank == 0:
            rows.append(("written", write_predictions(args.output.format(rank=rank), out, torch)))
    return rows


def write_predictions(path: str, predictions: dict[str, Any], torch: Any) -> str:
    """Save predictions by field name: ``.npz`` (numpy) or ``.pt`` (torch)."""
    if path.endswith(".pt"):
        torch.save(predictions, path)
    else:
        import numpy as np

        np.savez(path, **{k: v.numpy() for k, v in predictions.items()})
    return f"{path} ({len(predictions)} fields)"


def _features(torch: Any, inputs: str, tokens: list[TokenSpec], batch: int, dim: int) -> dict[str, Any]:
    """Synthetic features per token group: normal noise, or sin-cos embedded points of a car-like body."""
    if inputs == "random":
        return {t.name: torch.randn(batch, t.size or 0, dim) for t in tokens}
    from noether.modeling.modules.layers import ContinuousSincosEmbed, ContinuousSincosEmbeddingConfig
    from noether.modeling.synthetic import car_points

    embed = ContinuousSincosEmbed(ContinuousSincosEmbeddingConfig(hidden_dim=dim, input_dim=3))
    generator = torch.Generator().manual_seed(0)
    return {t.name: embed(torch.stack([car_points(t.domain, t.size or 0, generator) for _ in range(batch)]))
            for t in tokens}  # fmt: skip


def _streamed(
    module: Any,
    tokens: list[TokenSpec],
    anchor_names: set[str],
    features: dict[str, Any],
    chunk_size: int,
    args: argparse.Namespace,
    torch: Any,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
    from noether.modeling.streaming import stream_queries

    anchors = [t for t in tokens if t.name in anchor_names]
    x_anchors = torch.cat([features[t.name] for t in anchors], dim=1)
    queries = {t.name: features[t.name] for t in tokens if t.name not in anchor_names}
    stats = compile_stats(args)
    with measured() as m:
        outputs = stream_queries(module, x_anchors, anchors, queries, chunk_size=chunk_size, gather="rank0",
                                 progress=False if args.no_progress else None, compile=args.compile,
                                 stats=stats)  # fmt: skip
    return outputs, m, stats or {}


def run_stack(spec: StackFile, args: argparse.Namespace, torch: Any) -> list[tuple[str, str]]:
    from noether.modeling.modules.blocks.stack.module import TransformerStack

    status(args, f"building {spec.config.depth} blocks")
    model = TransformerStack(spec.config).eval()
    anchor_names = _anchor_names(model.blocks[0].attention_block)
    tokens = _with_queries(spec.tokens, args.queries, lambda name: name in anchor_names)
    if not tokens:
        raise ValueError("a block-stack file needs `tokens` to run")
    batch, dim = spec.run.batch_size, spec.config.block.hidden_dim
    status(args, f"making {spec.run.inputs} inputs: {sum(t.size or 0 for t in tokens):,} points")
    features = _features(torch, spec.run.inputs, tokens, batch, dim)
    sizes = {t.name: t.size or 0 for t in tokens}
    rows = [("model", f"{spec.config.depth} x TransformerBlock({spec.config.block.attention_constructor}), "
                      f"hidden {dim}, {spec.config.block.num_heads} heads"),
            ("parameters", f"{sum(p.numel() for p in model.parameters()):,}"),
            ("inputs", spec.run.inputs),
            ("tokens", ", ".join(f"{n}={s:,}" for n, s in sizes.items()))]  # fmt: skip
    if anchor_names and spec.run.chunk_size is not None:
        outputs, m, stats = _streamed(model, tokens, anchor_names, features, spec.run.chunk_size, args, torch)
        points = sum(o.shape[1] for o in outputs.values())
        rows += [("mode", f"anchors into the KV cache layer by layer, then queries in chunks of "
                          f"{spec.run.chunk_size:,} through all layers"),
                 ("output", f"{len(outputs)} query groups, ({batch}, {points:,}, {dim}) in all")]  # fmt: skip
    else:
        x = torch.cat([features[t.name] for t in tokens], dim=1)
        stats = {}
        with measured() as m:
            out = model(x, tokens) if anchor_names else model(x)
        points = out.shape[1]
        rows += [("mode", "one forward pass"), ("output", str(tuple(out.shape)))]
    return rows + timing(m, stats, batch * points)


def _with_queries(tokens: list[TokenSpec], size: int | None, is_anchor: Any) -> list[TokenSpec]:
    if size is None:
        return tokens
    return [t if is_anchor(t.name) else TokenSpec(name=t.name, size=size) for t in tokens]


def _anchor_names(module: Any) -> set[str]:
    """The anchor groups of an anchor attention (its ``branches``), else none."""
    return {module.anchors(b) for b in getattr(module, "branches", ())}


def run_attention(spec: AttentionFile, args: argparse.Namespace, torch: Any) -> list[tuple[str, str]]:
    from noether.modeling.contract import capabilities
    from noether.registry import build_attention

    status(args, f"building {spec.name}")
    module = build_attention(spec.config, name=spec.name).eval()
    batch, dim = spec.run.batch_size, spec.config.hidden_dim
    anchor_names = _anchor_names(module)
    tokens = _with_queries(spec.tokens, args.queries, lambda name: name in anchor_names)
    if not tokens:
        tokens = [TokenSpec(name="tokens", size=4096)]
    sizes = {t.name: t.size or 0 for t in tokens}
    rows = [("module", f"{spec.name} ({type(module).__name__})"),
            ("parameters", f"{sum(p.numel() for p in module.parameters()):,}"),
            ("tokens", ", ".join(f"{n}={s:,}" for n, s in sizes.items()))]  # fmt: skip
    chunk_size = spec.run.chunk_size
    features = _features(torch, spec.run.inputs, tokens, batch, dim)
    if anchor_names and chunk_size is not None:
        outputs, m, stats = _streamed(module, tokens, anchor_names, features, chunk_size, args, torch)
        points = sum(o.shape[1] for o in outputs.values())
        shape = f"{len(outputs)} query groups, ({batch}, {points:,}, {dim}) in all"
        rows.append(("mode", f"anchors once, then queries in chunks of {chunk_size:,} (KV cache)"))
    else:
        x = torch.cat([features[t.name] for t in tokens], dim=1)
        declared = capabilities(module)
        args_: tuple[Any, ...] = (x,)
        if declared.needs_kv:  # cross-attention: the first group attends to the others
            first = tokens[0].size or 0
            args_ = (x[:, :first], torch.randn(batch, x.shape[1] - first, module.kv_dim))
        given = {"token_specs": tokens, "attention_patterns": spec.patterns}
        kwargs = {key: value for key, value in given.items() if key in declared.accepts}
        stats = {}
        with measured() as m:
            out = module(*args_, **kwargs)
        points, shape = out.shape[1], str(tuple(out.shape))
        rows.append(("mode", "one forward pass"))
    return [*rows, ("output", shape), *timing(m, stats, batch * points)]
