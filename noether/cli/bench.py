"""``noether-attention bench NAME...``: the same workload through several implementations, side by side.

Each implementation gets the inputs it takes: its module's ``example_inputs(batch_size,
tokens)`` when it has one (key/value tokens for cross-attention, token groups for mixed and
anchor attention, each group ``--tokens`` long), else one sequence of ``--tokens`` tokens.
Memory is the peak of live tensors during one forward (the profiler's memory events), so
it does not depend on what ran before.
"""

import argparse
import functools
import statistics
import time
from typing import Any

import yaml

from noether import install_hint
from noether.cli.measure import human_bytes, tensor_peak
from noether.cli.run import require_torch
from noether.cli.table import table


def _options(pairs: list[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


def inputs_for(module: Any, batch_size: int, tokens: int, hidden_dim: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """What a forward of ``module`` takes: its own ``example_inputs``, or one sequence of tokens."""
    torch = require_torch()
    if hasattr(module, "example_inputs"):
        args, kwargs = module.example_inputs(batch_size, tokens)
        return tuple(args), dict(kwargs)
    return (torch.randn(batch_size, tokens, hidden_dim),), {}


BENCH_BRANCHES = ["surface", "volume"]
"""The branches anchor attentions are benchmarked with unless ``--option branches=...`` says otherwise."""


def bench_configs(args: argparse.Namespace) -> dict[str, Any]:
    """Each implementation's validated config for this benchmark: names, options and their values are
    checked here, before torch is imported."""
    from noether.core.schemas.errors import did_you_mean
    from noether.registry import attention_registry

    options = _options(args.option)
    classes = {name: attention_registry.resolve_config(name) for name in args.names}
    fields = sorted({f for c in classes.values() for f in c.model_fields})
    unused = [
        k for k in options if not any(k in c.model_fields or c.__noether_extra__ == "allow" for c in classes.values())
    ]
    if unused:
        hints = "".join(did_you_mean(k, fields) for k in unused)
        raise ValueError(f"--option {', '.join(unused)}: no compared implementation has such a field{hints}")
    configs = {}
    for name, config in classes.items():
        # each implementation gets the options its config knows (shared ones like qk_norm, or its own)
        own = {k: v for k, v in options.items() if k in config.model_fields or config.__noether_extra__ == "allow"}
        if "branches" in config.model_fields and "branches" not in own:
            own["branches"] = BENCH_BRANCHES
        configs[name] = config.from_dict({"hidden_dim": args.hidden_dim, "num_heads": args.num_heads, **own})
    return configs


def run_bench(args: argparse.Namespace) -> int:
    configs = bench_configs(args)
    if args.plot:
        _pyplot()  # before the work, not after it
    torch = require_torch()
    from noether.registry import build_attention

    results = []
    for name, config in configs.items():
        module = build_attention(config, name=name).eval()
        torch.manual_seed(0)
        inputs, kwargs = inputs_for(module, args.batch_size, args.tokens, args.hidden_dim)
        with torch.no_grad():
            out = module(*inputs, **kwargs)  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                module(*inputs, **kwargs)
                times.append(time.perf_counter() - start)
            peak = tensor_peak(functools.partial(module, *inputs, **kwargs))
        results.append((name, statistics.median(times), peak, out.shape[0] * out.shape[1]))
    fastest = min(seconds for _, seconds, _, _ in results)
    body = [
        (name, f"{seconds * 1e3:,.1f} ms", f"{seconds / fastest:.2f}x", f"{points / seconds:,.0f}", human_bytes(peak))
        for name, seconds, peak, points in results
    ]
    print(setting(args))
    print(table(("IMPLEMENTATION", "TIME", "VS FASTEST", "OUTPUT TOKENS/S", "PEAK TENSORS"), body))
    if args.plot:
        _plot(args.plot, setting(args), results)
        print(f"plot written to {args.plot}")
    return 0


def setting(args: argparse.Namespace) -> str:
    return (
        f"{args.tokens:,} tokens per input, hidden {args.hidden_dim}, {args.num_heads} heads, "
        f"batch {args.batch_size}, median of {args.repeats}"
    )


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        raise RuntimeError(f"--plot needs matplotlib: {install_hint('plot')}") from None
    return plt


def _plot(path: str, title: str, results: list[tuple[str, float, int, int]]) -> None:
    plt = _pyplot()
    fig = figure(title, results)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure(title: str, results: list[tuple[str, float, int, int]]) -> Any:
    """Time and memory bars in the table's order, each labelled with its value (a zero too)."""
    plt = _pyplot()
    names = [name for name, *_ in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 1.2 + 0.5 * len(names)))
    for axis, values, label, unit in (
        (left, [seconds * 1e3 for _, seconds, _, _ in results], "forward time", "ms"),
        (right, [peak / 2**20 for _, _, peak, _ in results], "peak tensor memory", "MiB"),
    ):
        bars = axis.barh(names, values)
        axis.bar_label(bars, labels=[f"{v:,.1f} {unit}" for v in values], padding=3)
        axis.invert_yaxis()  # the table's order, top to bottom
        axis.set_xlabel(f"{label} ({unit})")
        axis.set_xlim(0, max(max(values), 1e-9) * 1.35)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
