"""Paired, interleaved timing: the machine is shared and noisy, so only ratios measured
side by side in one run are meaningful (never absolute times)."""

import statistics
import time
from collections.abc import Callable


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
