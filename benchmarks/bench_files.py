"""``check`` on hostile and very large config files: each must be answered within 2 s and 200 MiB.

python benchmarks/bench_files.py [--rounds 3]

Each file is checked in a fresh process (so its peak memory is its own), ``rounds`` times; the
table gives the median time and the largest peak-memory growth, against the targets of issue 24.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _paired import record

from noether.cli.measure import human_bytes

SECONDS, MEMORY = 2.0, 200 * 2**20
GROUPS_SECONDS = 0.5  # issue 24 asks for "well under a second": half of one
HEAD = "attention: dot_product\nhidden_dim: 8\nnum_heads: 2\n"
LAUGHS = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


def _write(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text)


def _link(target: str) -> Callable[[Path], None]:
    return lambda path: path.symlink_to(target)


def _groups_json(path: Path) -> None:
    document = {"attention": "dot_product", "hidden_dim": 8, "num_heads": 2}
    path.write_text(json.dumps({**document, "tokens": [{f"g{i}": 4} for i in range(30_000)]}))


CASES: dict[str, tuple[str, Callable[[Path], None], float]] = {
    "a 4 MB YAML list": ("list.yaml", _write("- x\n" * 1_000_000), SECONDS),
    "a billion laughs (nested aliases)": ("laughs.yaml", _write(LAUGHS), SECONDS),
    "nesting 100,000 deep": ("deep.yaml", _write("[" * 100_000 + "]" * 100_000 + "\n"), SECONDS),
    "49,000 unknown keys": ("keys.yaml", _write(HEAD + "".join(f"unknown_{i}: 1\n" for i in range(49_000))), SECONDS),
    "hidden_dim with 4,000 digits": ("digits.yaml", _write(HEAD.replace("8", "8" * 4000, 1)), SECONDS),
    "a link to /dev/zero": ("zero.yaml", _link("/dev/zero"), SECONDS),
    "a link to /dev/urandom": ("random.yaml", _link("/dev/urandom"), SECONDS),
    "a FIFO": ("fifo.yaml", os.mkfifo, SECONDS),
    "30,000 token groups (YAML)": (
        "groups.yaml",
        _write(HEAD + "tokens:\n" + "".join(f"  - {{g{i}: 4}}\n" for i in range(30_000))),
        GROUPS_SECONDS,
    ),
    "30,000 token groups (JSON)": ("groups.json", _groups_json, GROUPS_SECONDS),
}

CHILD = """
import json, sys, contextlib, io
from noether.cli import main
from noether.cli.measure import measured
with contextlib.redirect_stdout(io.StringIO()) as out, measured() as m:
    status = main(["check", sys.argv[1]])
print(json.dumps({"status": status, "seconds": m["seconds"], "peak": m["peak_growth"],
                  "last": out.getvalue().splitlines()[-1]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case, (name, make, target) in CASES.items():
            path = Path(folder) / name
            make(path)
            runs = [
                json.loads(subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                                          check=True, timeout=60).stdout)
                for _ in range(args.rounds)
            ]  # fmt: skip
            seconds = statistics.median(r["seconds"] for r in runs)
            peak = max(r["peak"] for r in runs)
            ok = "ok" if seconds <= target and peak <= MEMORY else "MISSED"
            answer = runs[0]["last"].removeprefix(f"{path}: ")[:90]
            rows.append(
                f"| {case} | {seconds:.2f} s | {human_bytes(peak)} | {answer} | "
                f"<= {target:g} s, <= {human_bytes(MEMORY)} {ok} |"
            )
            print(rows[-1], flush=True)
    record("Config files: check on hostile files", "python benchmarks/bench_files.py",
           "| file | time (median) | peak memory growth | the answer's last line | target |", rows)  # fmt: skip


if __name__ == "__main__":
    main()
