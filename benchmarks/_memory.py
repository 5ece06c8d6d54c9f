"""Peak-memory measurement for benchmarks run in worker subprocesses (Linux /proc)."""

from pathlib import Path


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_bytes() -> int:
    return _status_kib("VmRSS") * 1024


def reset_peak() -> None:
    """Make the kernel's peak-RSS mark (VmHWM) start again from the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_bytes() -> int:
    return _status_kib("VmHWM") * 1024
