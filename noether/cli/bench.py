"""``noether-attention bench NAME...``: the same input through several implementations, side by side."""

import argparse
import statistics
from typing import Any

import yaml

from noether import install_hint
from noether.cli.measure import human_bytes, measured
from noether.cli.run import _require_torch
from noether.cli.table import table


def _options(pairs: list[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {pair!r}")
        options[key] = yaml.safe_load(value)
    return options


def run_bench(args: argparse.Namespace) -> int:
    torch = _require_torch()
    from noether.registry import attention_registry, build_attention

    options = _options(args.option)
    configs = {name: attention_registry.resolve_config(name) for name in args.names}
    unused = [
        k for k in options if not any(k in c.model_fields or c.__noether_extra__ == "allow" for c in configs.values())
    ]
    if unused:
        raise ValueError(f"--option {', '.join(unused)}: no compared implementation has such a field")
    x = torch.randn(args.batch_size, args.tokens, args.hidden_dim)
    results = []
    for name, config in configs.items():
        # each implementation gets the options its config knows (shared ones like qk_norm, or its own)
        own = {k: v for k, v in options.items() if k in config.model_fields or config.__noether_extra__ == "allow"}
        shared = {"hidden_dim": args.hidden_dim, "num_heads": args.num_heads, **own}
        module = build_attention(shared, name=name).eval()
        with torch.no_grad():
            module(x)  # warm-up
            times, growth = [], 0
            for _ in range(args.repeats):
                with measured() as m:
                    module(x)
                times.append(m["seconds"])
                growth = max(growth, m["peak_growth"])
        seconds = statistics.median(times)
        results.append((name, seconds, growth))
    fastest = min(seconds for _, seconds, _ in results)
    points = args.batch_size * args.tokens
    body = [
        (name, f"{seconds * 1e3:.1f} ms", f"{seconds / fastest:.2f}x", f"{points / seconds:,.0f}", human_bytes(growth))
        for name, seconds, growth in results
    ]
    print(f"{args.tokens:,} tokens, hidden {args.hidden_dim}, {args.num_heads} heads, batch {args.batch_size}, "
          f"median of {args.repeats}")  # fmt: skip
    print(table(("IMPLEMENTATION", "TIME", "VS FASTEST", "POINTS/S", "PEAK GROWTH"), body))
    if args.plot:
        _plot(args.plot, results)
        print(f"plot written to {args.plot}")
    return 0


def _plot(path: str, results: list[tuple[str, float, int]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        raise RuntimeError(f"--plot needs matplotlib: {install_hint('plot')}") from None
    names = [name for name, _, _ in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.barh(names, [seconds * 1e3 for _, seconds, _ in results])
    left.set_xlabel("forward time (ms)")
    right.barh(names, [growth / 2**20 for _, _, growth in results])
    right.set_xlabel("peak memory growth (MiB)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
