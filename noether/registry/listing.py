"""Rows of ``noether-attention list``: every implementation and its status, from metadata only."""

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import NamedTuple

from noether.registry.discovery import BUILTIN, BUILTINS, PluginEntry, env_list, scan

_VALUE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class Row(NamedTuple):
    name: str
    source: str  # "built-in", "registered", or the providing distribution
    version: str
    config_path: str
    status: str  # "ok", "conflict", "broken", "blocked", "refused", "overrides built-in"
    reason: str = ""
    qualified: str = ""  # the name that picks exactly this row


def allowed_overrides() -> set[str]:
    return env_list("NOETHER_ALLOW_BUILTIN_OVERRIDE") or set()


def plugin_claims() -> dict[str, list[PluginEntry]]:
    claims: dict[str, list[PluginEntry]] = defaultdict(list)
    for entry in scan().entries:
        claims[entry.name].append(entry)
    return claims


def malformed(entry: PluginEntry) -> str:
    if _VALUE.match(entry.config_path):
        return ""
    return f"entry point value {entry.config_path!r} must name the config class as 'module:Class'"


def rows(registered: Mapping[str, str] | None = None, failures: Mapping[str, str] | None = None) -> list[Row]:
    """``registered``: name -> config path registered in this process; ``failures``: qualified name -> reason."""
    registered, failures = registered or {}, failures or {}
    overrides = allowed_overrides()
    out = [
        Row(name, BUILTIN, "", config, "broken" if f"{BUILTIN}:{name}" in failures else "ok",
            failures.get(f"{BUILTIN}:{name}", ""), f"{BUILTIN}:{name}")
        for name, (_, config) in BUILTINS.items()
    ]  # fmt: skip
    out += [Row(name, "registered", "", config, "ok", "", name) for name, config in registered.items()]
    for name, entries in plugin_claims().items():
        for entry in entries:
            status, reason = "ok", ""
            if malformed(entry):
                status, reason = "broken", malformed(entry)
            elif entry.qualified in failures:
                status, reason = "broken", failures[entry.qualified]
            elif name in BUILTINS:
                if name in overrides:
                    status, reason = "overrides built-in", "allowed by NOETHER_ALLOW_BUILTIN_OVERRIDE"
                else:
                    status = "refused"
                    reason = f"shadows the built-in {name!r}; allow with NOETHER_ALLOW_BUILTIN_OVERRIDE={name}"
            elif len(entries) > 1:
                others = ", ".join(e.distribution for e in entries if e is not entry)
                status, reason = "conflict", f"also provided by {others}; pick one as '{entry.qualified}'"
            out.append(Row(name, entry.distribution, entry.version, entry.config_path, status, reason, entry.qualified))
    found = scan()
    for entry in found.blocked:
        reason = f"blocked by {found.blocked_by}"
        out.append(Row(entry.name, entry.distribution, entry.version, entry.config_path, "blocked", reason,
                       entry.qualified))  # fmt: skip
    return out


def names(registered: Mapping[str, str] | None = None) -> list[str]:
    """Names a config may use (unqualified), sorted."""
    usable = {r.name for r in rows(registered) if r.status not in ("blocked", "refused")}
    return sorted(usable)
