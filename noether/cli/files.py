"""Config files: YAML, JSON or TOML, read with safe loaders only (no tags, no code), within limits.

A hostile file cannot make a check take long: only regular files are read (a FIFO, a device
or a link to one is refused unopened), at most MAX_BYTES of them, and a document whose
values pass MAX_VALUES, that nests deeper than MAX_DEPTH or refers to itself is refused. YAML
is refused while it is parsed, before it is built (its aliases counted every time they are
used); JSON and TOML, which cannot expand past their bytes, once parsed.
"""

import contextlib
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


_NO_KEY = object()  # also: a scalar the one-pass build leaves to PyYAML
_UNSEEN = object()
_SCALAR, _MAP_START, _SEQ_START = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_MAP_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map"})
_SEQ_TAGS = frozenset({None, "!", "tag:yaml.org,2002:seq"})
_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


def _load_yaml(text: str, path: Path) -> Any:
    """YAML in one pass over libyaml's events: values are counted as they are parsed (an alias by the
    size of what it names), so a document past the limits is refused before it is built, and a plain
    document is built from those same events, its scalars resolved and constructed by PyYAML's safe
    loader. Anything else (explicit collection tags, merge keys, unhashable keys, several documents,
    PyYAML's own error messages) is loaded by PyYAML itself once the events have shown it is within limits."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    get_event = loader.get_event
    anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, values when expanded)
    scalars: dict[tuple[Any, ...], Any] = {}  # each distinct scalar, made once
    enclosing: list[tuple[Any, str | None, int]] = []  # each open collection's parent, anchor and values before it
    root: list[Any] = []
    container: Any = root  # where the next value goes, and in a mapping the key it goes under
    key: Any = _NO_KEY
    total, building = 0, True
    try:
        while True:
            event = get_event()
            kind = type(event)
            if kind is _SCALAR:
                total += 1
                value = None
                if building:
                    form = (event.value, event.tag, event.implicit)
                    value = scalars.get(form, _UNSEEN)
                    if value is _UNSEEN:
                        value = scalars[form] = _scalar(loader, event)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
            elif kind is _MAP_START or kind is _SEQ_START:
                total += 1
                if len(enclosing) >= MAX_DEPTH:
                    raise ValueError(_TOO_BIG.format(path=path))
                value = {} if kind is _MAP_START else []
                building = building and event.tag in (_MAP_TAGS if kind is _MAP_START else _SEQ_TAGS)
            elif kind is yaml.AliasEvent:
                if event.anchor not in anchors and any(anchor == event.anchor for _, anchor, _ in enclosing):
                    raise ValueError(f"{path}: the document refers to itself (a recursive YAML alias)")
                value, size = anchors.get(event.anchor, (_NO_KEY, 0))
                total += size
            elif kind in _ENDS:
                parent, anchor, before = enclosing.pop()
                if anchor:
                    anchors[anchor] = (container, total - before)
                container, key = parent, _NO_KEY
                continue
            elif kind is yaml.StreamEndEvent:
                break
            else:
                continue
            if total > MAX_VALUES:
                raise ValueError(_TOO_BIG.format(path=path))
            if not building:
                pass  # counting only: PyYAML builds this document
            elif value is _NO_KEY:
                building = False
            elif type(container) is list:
                container.append(value)
                building = container is not root or len(root) == 1  # the stream: one document
            elif key is _NO_KEY:
                key = value
                building = not isinstance(value, (list, dict))  # an unhashable key: PyYAML refuses it in its words
            else:
                container[key] = value
                key = _NO_KEY
            if kind is _MAP_START or kind is _SEQ_START:
                enclosing.append((container, event.anchor, total - 1))
                container, key = value, _NO_KEY
    finally:
        loader.dispose()
    if building and root:
        return root[0]
    try:
        return yaml.load(text, Loader=type(loader))  # a safe loader
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar PyYAML resolves but cannot make
        raise ValueError(f"{path}: not valid YAML: {exc}") from None


def _scalar(loader: Any, event: Any) -> Any:
    """A scalar as PyYAML's safe loader makes it (immutable: the loop makes each distinct one once), or
    _NO_KEY where PyYAML is left to load the document and word its error."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR:  # PyYAML's safe constructor returns a string scalar's text as it is
        return event.value
    construct = loader.yaml_constructors.get(tag)
    if construct is not None and tag != _MERGE:
        with contextlib.suppress(Exception):
            return construct(loader, yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style))
    return _NO_KEY


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
        raise ValueError(_yaml_error(path, exc, text)) from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    except RecursionError:
        raise ValueError(_TOO_BIG.format(path=path)) from None
    check_size(data, path)
    return data


def _yaml_error(path: Path, exc: Any, text: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
    what = "; ".join(part for part in (exc.context, exc.problem) if part)
    if mark is not None and mark.get_snippet() is None:  # libyaml's marks carry no text: give them the file's
        mark = yaml.Mark(mark.name, mark.index, mark.line, mark.column, text, mark.index)
    snippet = mark.get_snippet() if mark is not None else None
    return f"{where}: not valid YAML: {what}" + (f"\n{snippet}" if snippet else "")


def check_size(data: Any, path: Path | str = "") -> None:
    """Refuse a JSON or TOML document past the limits (they have no aliases: every value is its own)."""
    if not isinstance(data, (dict, list)):
        return
    total, stack = 1, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(_TOO_BIG.format(path=path))
        children: Any = value.values() if isinstance(value, dict) else value
        total += len(value) * (2 if isinstance(value, dict) else 1)  # a mapping's keys count as values too
        if total > MAX_VALUES:
            raise ValueError(_TOO_BIG.format(path=path))
        stack += [(child, depth + 1) for child in children if isinstance(child, (dict, list))]
