"""Which attention implementations exist, from installed metadata only.

Nothing here imports a plugin, pluggy or torch: listing reads the entry points
of the ``noether.attention`` group once per process (memoised; ``refresh()``
rescans) and the table of built-ins. An entry point's name is the name configs
use; its value is the implementation's config class (``"package.module:Class"``),
whose module is the plugin that pluggy registers on first use.

Environment, read at scan time, before any plugin could run:

* ``NOETHER_DISABLE_PLUGIN_AUTOLOAD=1``: load no plugin; installed ones are listed as blocked.
* ``NOETHER_PLUGINS=dist-a,dist-b``: load only plugins of these distributions
  (names compared case-insensitively, ``-``/``_``/``.`` alike); others are listed as
  blocked. Unset or empty: no restriction.
* ``NOETHER_ALLOW_BUILTIN_OVERRIDE=name,...``: let plugins replace these built-ins.
"""

import os
import re
import threading
from typing import NamedTuple

from noether.catalog import builtin_attention

GROUP = "noether.attention"
BUILTIN = "built-in"

BUILTINS: dict[str, tuple[str, str]] = builtin_attention()
"""Built-in name -> (module class path, config class path)."""


class PluginEntry(NamedTuple):
    """One ``noether.attention`` entry point of an installed distribution."""

    name: str
    distribution: str
    version: str
    config_path: str

    @property
    def qualified(self) -> str:
        return f"{self.distribution}:{self.name}"


class Scan(NamedTuple):
    entries: tuple[PluginEntry, ...]  # plugins that may load
    blocked: tuple[PluginEntry, ...]  # installed, but excluded by the environment
    autoload: bool
    blocked_by: str = ""  # the variable (and value) that blocks them


def normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def env_list(name: str) -> set[str] | None:
    """The comma-separated items of ``name``; None when it is unset or holds none."""
    items = {item.strip() for item in os.environ.get(name, "").split(",") if item.strip()}
    return items or None


_lock = threading.Lock()
_scan: Scan | None = None


def scan() -> Scan:
    """The installed plugin entry points, read once per process."""
    global _scan
    if _scan is None:
        with _lock:
            if _scan is None:
                _scan = _read()
    return _scan


def refresh() -> None:
    """Forget the memoised scan: the next listing reads installed metadata again."""
    global _scan
    with _lock:
        _scan = None


def _read() -> Scan:
    from importlib import metadata  # here, not at import: resolving a built-in needs neither the scan nor this

    autoload = os.environ.get("NOETHER_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower() not in ("1", "true", "yes", "on")
    allowed = env_list("NOETHER_PLUGINS")
    blocked_by = f"NOETHER_PLUGINS={os.environ.get('NOETHER_PLUGINS', '')}" if allowed else ""
    allowed = None if allowed is None else {normalize(d) for d in allowed}
    if not autoload:
        allowed, blocked_by = set(), "NOETHER_DISABLE_PLUGIN_AUTOLOAD"
    entries, blocked, seen = [], [], set()
    for ep in metadata.entry_points(group=GROUP):
        dist = ep.dist
        distribution = dist.metadata["Name"] if dist is not None else "?"
        entry = PluginEntry(ep.name, distribution, dist.version if dist is not None else "?", ep.value)
        if (entry.name, normalize(distribution)) in seen:  # one distribution seen twice on sys.path
            continue
        seen.add((entry.name, normalize(distribution)))
        if allowed is not None and normalize(distribution) not in allowed:
            blocked.append(entry)
        else:
            entries.append(entry)
    order = lambda e: (e.name, normalize(e.distribution))  # noqa: E731 - filesystem order is arbitrary
    return Scan(tuple(sorted(entries, key=order)), tuple(sorted(blocked, key=order)), autoload, blocked_by)
