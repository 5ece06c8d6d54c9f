"""Plain-text tables for the terminal, cut to its width."""

import shutil
import sys
from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int | None = None) -> str:
    """Columns as wide as their cells; on a terminal narrower than that (or ``width``), the widest
    column is cut, its cells ending in "..." (piped output keeps every character)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    limit = width or (shutil.get_terminal_size().columns if sys.stdout.isatty() else 10**9)
    while sum(widths) + 2 * (len(widths) - 1) > limit and max(widths) > 12:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    lines = ["  ".join(_fit(cell, w).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _fit(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 3] + "..."


def pairs(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in rows)
