"""Config files: YAML, JSON or TOML, read with safe loaders only (no tags, no code), within limits.

A hostile file cannot make a check take long: files over MAX_BYTES are refused
unread, and a loaded document whose aliases expand past MAX_VALUES values, nest
deeper than MAX_DEPTH or refer to themselves is refused before anything walks it.
"""

import json
import sys
from pathlib import Path
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 tox env
    import tomli as tomllib

SUFFIXES = (".yaml", ".yml", ".json", ".toml")
MAX_BYTES = 4 * 2**20
MAX_VALUES = 100_000
MAX_DEPTH = 64


def load_file(path: str | Path) -> Any:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{path}: {size:,} bytes; config files are limited to {MAX_BYTES:,}")
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise ValueError(_yaml_error(path, exc)) from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    check_size(data, path)
    return data


def _yaml_error(path: Path, exc: Any) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
    what = "; ".join(part for part in (exc.context, exc.problem) if part)
    snippet = mark.get_snippet() if mark is not None else None
    return f"{where}: not valid YAML: {what}" + (f"\n{snippet}" if snippet else "")


def check_size(data: Any, path: Path | str = "") -> None:
    """Refuse documents that expand (through YAML aliases) or nest past the limits, without expanding them."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (values when expanded, depth); shared objects are sized once
    visiting: set[int] = set()

    def size(value: Any) -> tuple[int, int]:
        if not isinstance(value, (dict, list)):
            return 1, 0
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise ValueError(f"{path}: the document refers to itself (a recursive YAML alias)")
        visiting.add(key)
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total, depth = 1, 0
        for child in children:
            n, d = size(child)
            total, depth = total + n, max(depth, d + 1)
            if total > MAX_VALUES or depth > MAX_DEPTH:
                raise ValueError(
                    f"{path}: the document expands to more than {MAX_VALUES:,} values or nests deeper than "
                    f"{MAX_DEPTH} levels (YAML aliases count every time they are used)"
                )
        visiting.discard(key)
        sizes[key] = (total, depth)
        return total, depth

    size(data)
