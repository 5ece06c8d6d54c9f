"""Paired, interleaved timing: the machine is shared and noisy, so only ratios measured
side by side in one run are meaningful (never absolute times)."""

import contextlib
import datetime
import io
import os
import pathlib
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator


def per_call(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def paired_ratio(
    candidate: Callable[[], object], baseline: Callable[[], object], *, number: int = 2000, rounds: int = 31
) -> tuple[float, float, float]:
    """Median of per-round ratios candidate/baseline, alternating which runs first.

    Returns (median ratio, median candidate seconds, median baseline seconds).
    """
    per_call(candidate, number)
    per_call(baseline, number)
    ratios, cand, base = [], [], []
    for i in range(rounds):
        if i % 2:
            b = per_call(baseline, number)
            c = per_call(candidate, number)
        else:
            c = per_call(candidate, number)
            b = per_call(baseline, number)
        ratios.append(c / b)
        cand.append(c)
        base.append(b)
    return statistics.median(ratios), statistics.median(cand), statistics.median(base)


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "MISSED"


RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    """The CPU model too: sections written on different machines of the same kind differ by up to 3x."""
    return f"{_cpu_model()} ({platform.machine()}), {os.cpu_count()} cores, Python {platform.python_version()}"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def record(section: str, command: str, header: str, rows: list[str], *, table: bool = True) -> None:
    """Replace ``section`` of benchmarks/RESULTS.md with this run's table, or with ``rows`` as they are
    (``table=False``): the latest figures only."""
    text = (
        RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nWritten by the scripts in this folder.\n"
    )
    body = (
        f"## {section}\n\n`{command}` on {machine()}, {datetime.date.today().isoformat()}.\n\n"
        + "\n".join([header, header_rule(header), *rows] if table else rows)
        + "\n"
    )
    parts = text.split("\n## ")
    kept = [p for p in parts[1:] if not p.startswith(section + "\n")]
    RESULTS.write_text("\n## ".join([parts[0].rstrip("\n") + "\n", *kept]).rstrip("\n") + "\n\n" + body)


def header_rule(header: str) -> str:
    return "|" + " --- |" * (header.count("|") - 1)


@contextlib.contextmanager
def recorded(section: str) -> Iterator[None]:
    """Print as usual and, when the run finishes, write what was printed to RESULTS.md as ``section``."""
    lines: list[str] = []
    stdout = sys.stdout

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            lines.append(text)
            return stdout.write(text)

        def flush(self) -> None:
            stdout.flush()

    sys.stdout = Tee()
    try:
        yield
    finally:
        sys.stdout = stdout
    command = "python " + " ".join(["benchmarks/" + pathlib.Path(sys.argv[0]).name, *sys.argv[1:]])
    record(section, command, "", ["```", *"".join(lines).rstrip("\n").splitlines(), "```"], table=False)
