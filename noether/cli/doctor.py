"""``noether-attention doctor``: is every installed plugin usable? For plugin authors' CI.

Per distribution: its version and entry points; per entry point: whether its
config imports in a fresh interpreter with torch made unimportable (so ``check``
and ``info`` work without torch), whether its module builds from a small config
and runs a forward on random inputs (its ``example_inputs``, as ``bench`` uses
them), and how long each step took.
Exit status 1 when anything is broken.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

from noether.registry.discovery import PluginEntry, scan

_NO_TORCH = "import sys; sys.modules['torch'] = None; from noether._lazy import import_target; import_target({path!r})"


def _config_without_torch(entry: PluginEntry) -> tuple[str, float]:
    start = time.perf_counter()
    code = _NO_TORCH.format(path=entry.config_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # the same distributions as this process
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if result.returncode == 0:
        return "ok", seconds
    lines = result.stderr.strip().splitlines()
    return f"broken: {lines[-1] if lines else f'exit {result.returncode}'}", seconds


def _module_runs(entry: PluginEntry) -> tuple[str, float]:
    if importlib.util.find_spec("torch") is None:
        return "not checked: torch is not installed", 0.0
    import torch

    from noether.cli.bench import inputs_for
    from noether.registry import build_attention

    start = time.perf_counter()
    try:
        module = build_attention({"attention": entry.qualified, "hidden_dim": 16, "num_heads": 2}).eval()
        args, kwargs = inputs_for(module, 2, 5, 16)
        with torch.no_grad():
            out = module(*args, **kwargs)
        if out.shape[0] != 2 or out.shape[-1] != 16:
            return f"broken: forward returned shape {tuple(out.shape)}, not (2, ..., 16)", time.perf_counter() - start
    except Exception as exc:  # a doctor reports every failure, whatever it is
        message = str(exc).strip().splitlines()
        return f"broken: {type(exc).__name__}: {message[0] if message else ''}", time.perf_counter() - start
    return "ok", time.perf_counter() - start


def diagnose() -> list[dict[str, Any]]:
    found = scan()
    by_distribution: dict[tuple[str, str], list[tuple[PluginEntry, bool]]] = defaultdict(list)
    for entry in found.entries:
        by_distribution[entry.distribution, entry.version].append((entry, False))
    for entry in found.blocked:
        by_distribution[entry.distribution, entry.version].append((entry, True))
    report = []
    for (distribution, version), entries in sorted(by_distribution.items()):
        points = []
        for entry, blocked in entries:
            point: dict[str, Any] = {"name": entry.name, "config": entry.config_path}
            if blocked:
                point["status"] = f"blocked by {found.blocked_by}"
            else:
                point["config_without_torch"], point["config_seconds"] = _config_without_torch(entry)
                point["module"], point["module_seconds"] = _module_runs(entry)
                broken = any(str(v).startswith("broken") for v in point.values())
                point["status"] = "broken" if broken else "ok"
            points.append(point)
        report.append({"distribution": distribution, "version": version, "entry_points": points})
    return report


def run_doctor(args: argparse.Namespace) -> int:
    report = diagnose()
    if args.json:
        print(json.dumps(report, indent=2))
    elif not report:
        print("no attention plugins installed (entry point group noether.attention)")
    for dist in [] if args.json else report:
        print(f"{dist['distribution']} {dist['version']}")
        for point in dist["entry_points"]:
            print(f"  {point['name']} ({point['config']}): {point['status']}")
            if "module" in point:
                print(f"    config imports without torch: {point['config_without_torch']} "
                      f"({point['config_seconds']:.2f} s)")  # fmt: skip
                print(f"    module builds and runs: {point['module']} ({point['module_seconds']:.2f} s)")
    broken = any(p["status"] == "broken" for d in report for p in d["entry_points"])
    return 1 if broken else 0
