"""Config files: YAML, JSON or TOML, read with safe loaders only (no tags, no code), within limits.

A hostile file cannot make a check take long: only regular files are read (a FIFO, a device
or a link to one is refused unopened), at most MAX_BYTES of them, and a document whose
values (YAML aliases counted every time they are used) pass MAX_VALUES, that nests deeper
than MAX_DEPTH or refers to itself is refused before any Python object is made of it.
"""

import json
import os
import stat
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


def read_bounded(path: Path) -> str:
    """The text of a regular file of at most MAX_BYTES, checked on the open file itself."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting for a writer
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode) else "no file"
            raise ValueError(f"{path}: not a regular file ({kind}); config files are regular files")
        if info.st_size > MAX_BYTES:
            raise ValueError(f"{path}: {info.st_size:,} bytes; config files are limited to {MAX_BYTES:,}")
        data = f.read(MAX_BYTES + 1)  # a file may hold more than its size says (/proc)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path}: more than {MAX_BYTES:,} bytes; config files are limited to {MAX_BYTES:,}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _load_yaml(text: str, path: Path) -> Any:
    """YAML sized from its event stream first (libyaml when there): values counted as they are parsed,
    aliases by the size of what they name, so no node or object is made of a document past the limits."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sizes: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []  # the collections being parsed: (anchor, values before them)
    total, loader = 0, loader_class(text)
    try:
        while not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in sizes:
                    raise ValueError(f"{path}: the document refers to itself (a recursive YAML alias)")
                total += sizes[event.anchor]
            elif isinstance(event, yaml.ScalarEvent):
                total += 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                open_.append((event.anchor, total))
                total += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, before = open_.pop()
                if anchor:
                    sizes[anchor] = total - before
            if total > MAX_VALUES or len(open_) > MAX_DEPTH:
                raise ValueError(_TOO_BIG.format(path=path))
    finally:
        loader.dispose()
    return yaml.load(text, Loader=loader_class)  # a safe loader: libyaml's or PyYAML's


_TOO_BIG = (
    f"{{path}}: the document expands to more than {MAX_VALUES:,} values or nests deeper than {MAX_DEPTH} levels "
    "(YAML aliases count every time they are used)"
)


def load_file(path: str | Path) -> Any:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}")
    text = read_bounded(path)
    try:
        if suffix == ".yaml" or suffix == ".yml":
            return _load_yaml(text, path)  # sized while parsing
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except yaml.MarkedYAMLError as exc:
        raise ValueError(_yaml_error(path, _with_snippet(text, exc))) from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    except RecursionError:
        raise ValueError(_TOO_BIG.format(path=path)) from None
    check_size(data, path)  # JSON and TOML have no aliases: the parsed document is at most the file's size
    return data


def _with_snippet(text: str, exc: Any) -> Any:
    """libyaml's marks carry no excerpt: on an error (only then) the pure-Python parser finds it again."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None or mark.get_snippet() is not None:
        return exc
    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as again:
        return again
    return exc


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
                raise ValueError(_TOO_BIG.format(path=path))
        visiting.discard(key)
        sizes[key] = (total, depth)
        return total, depth

    size(data)
