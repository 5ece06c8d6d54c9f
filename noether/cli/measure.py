"""Wall time and peak-memory growth of a piece of work (Linux /proc; elsewhere ru_maxrss),
and the peak of live tensor memory."""

import contextlib
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _peak_bytes() -> int:
    hwm = _kib("VmHWM")
    if hwm is not None:
        return hwm * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


@contextmanager
def measured() -> Iterator[dict[str, Any]]:
    """Yields a dict filled on exit with ``seconds`` and ``peak_growth`` (bytes above the RSS at entry)."""
    result: dict[str, Any] = {}
    rss = _kib("VmRSS")
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # restart the peak mark from the current RSS
    before = rss * 1024 if rss is not None else _peak_bytes()
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start
        result["peak_growth"] = max(0, _peak_bytes() - before)


def tensor_peak(fn: Callable[[], object]) -> int:
    """Peak bytes of CPU tensors allocated while ``fn`` runs and alive at once.

    The CPU analogue of ``torch.cuda.max_memory_allocated``, from the profiler's
    memory events: unlike RSS it does not count what the C allocator keeps of freed
    buffers. Profiling slows ``fn``, so time it separately.
    """
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    live = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        if str(event.device_type()) == "DeviceType.CPU":
            live += event.nbytes()
            peak = max(peak, live)
    return peak


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """The profiler logs its start and stop straight to file descriptor 2; callers run ``fn`` before, unprofiled."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
