"""Plugin discovery with 50 installed plugin distributions, whole processes, paired in one run.

Builds a temporary virtualenv with noether and 50 generated plugin distributions,
then times, interleaved: ``noether-attention list``; a bare interpreter that imports
``importlib.metadata`` and scans the ``noether.attention`` group once (the floor);
and eager loading of every plugin (what pytest and llm do with their entry points).
Target: list <= 1.5x the floor, importing zero plugin modules; resolving one name
imports exactly one plugin.

Run: python benchmarks/bench_registry.py   (needs network access to PyPI for the venv)
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _paired import recorded, verdict

REPO = Path(__file__).resolve().parents[1]
PLUGINS = 50
CONFIG = """
from noether.core.schemas import config, field
from noether.core.schemas.modules import AttentionConfig
from noether.registry import AttentionImplementation, hookimpl


@config(extra="forbid")
class Plugin{i}Config(AttentionConfig):
    gain: float = field(default=1.0)


@hookimpl
def noether_attention_implementations():
    return {{"plugin_{i}": AttentionImplementation(module="bench_plugin_{i}.module:Module", config=Plugin{i}Config)}}
"""


def make_venv(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    python = root / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(REPO)], check=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    for i in range(PLUGINS):
        package = site / f"bench_plugin_{i}"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "config.py").write_text(CONFIG.format(i=i))
        info = site / f"bench_plugin_{i}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: bench-plugin-{i}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            f"[noether.attention]\nplugin_{i} = bench_plugin_{i}.config:Plugin{i}Config\n"
        )
    return python


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(rounds: int = 21) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        python = make_venv(Path(tmp) / "venv")
        script = str(python.parent / "noether-attention")
        commands = {
            "list": [script, "list"],
            "floor": [str(python), "-c", "import importlib.metadata as m; m.entry_points(group='noether.attention')"],
            "eager": [str(python), "-c",
                      "import importlib.metadata as m; [e.load() for e in m.entry_points(group='noether.attention')]"],
        }  # fmt: skip
        listed = subprocess.run(
            [str(python), "-c", "import sys; from noether.cli import main; main(['list']); "
             "print(sum(m.startswith('bench_plugin') for m in sys.modules))"],
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
        assert sum(line.startswith("plugin_") for line in listed) == PLUGINS
        resolved = subprocess.run(
            [str(python), "-c", "import sys; from noether.registry import attention_registry as r; "
             "r.resolve_config('plugin_7'); print(sorted({m.split('.')[0] for m in sys.modules "
             "if m.startswith('bench_plugin')}))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        for command in commands.values():
            run(command)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for i in range(rounds):
            order = list(commands) if i % 2 == 0 else list(reversed(commands))
            for name in order:
                times[name].append(run(commands[name]))
        ratio = statistics.median(a / b for a, b in zip(times["list"], times["floor"], strict=True))
        eager = statistics.median(a / b for a, b in zip(times["eager"], times["floor"], strict=True))
        print(f"{PLUGINS} plugin distributions installed, {rounds} interleaved rounds, medians of paired ratios")
        for name, values in times.items():
            print(f"  {name:6s} {statistics.median(values) * 1e3:7.1f} ms")
        print(f"  list / floor  {ratio:5.2f}x (target <= 1.5x) {verdict(ratio, 1.5)}")
        print(f"  eager / floor {eager:5.2f}x")
        print(f"  plugin modules imported by list: {listed[-1]} (target 0)")
        print(f"  plugins imported resolving 'plugin_7': {resolved} (target exactly one)")


if __name__ == "__main__":
    with recorded("Registry: listing and resolving plugins"):
        main()
