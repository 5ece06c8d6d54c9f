"""What a config file describes, validated without torch: an attention module and how to run it.

A file is a mapping. An attention file: ``attention`` (alias ``attention_constructor``)
names the implementation and the other keys are its options. A block-stack file:
``model: transformer_stack`` with ``depth`` and ``block`` (a TransformerBlockConfig). A
model file: ``model: ab_upt`` with the keys of AnchorBranchedUPTConfig, ``points`` and ``run``.
Both may have the reserved sections ``tokens`` (the token groups ``run`` feeds it,
``{name: size}`` each), ``patterns`` (attention patterns, for ``mixed``) and ``run``
(:class:`RunSettings`).
"""

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from noether.core.schemas import Config, ValidationError, config, field
from noether.core.schemas.errors import MAX_SHOWN, Loc, did_you_mean, format_loc
from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.registry import RegistryError, attention_registry
from noether.registry.build import NAME_KEYS

RESERVED = ("tokens", "patterns", "run")


@config
class RunSettings(Config):
    """How ``noether-attention run`` exercises the module."""

    batch_size: int = field(default=1, ge=1, description="Samples per forward pass.")
    chunk_size: int | None = field(
        default=None, ge=1, description="Query tokens per forward against the KV cache; None: one forward."
    )
    seed: int = field(default=0, description="Seed of the synthetic inputs and weights.")
    inputs: Literal["random", "car"] = field(
        default="random",
        description="random: normal features; car: points on/around a car-like body (by the group's domain), "
        "sin-cos embedded.",
    )


@attrs.frozen
class Problem:
    loc: Loc
    message: str


MAX_WIDTH, MAX_COUNT = 2**16, 2**31 - 1
"""Sizes a file may ask for: a width's square weight matrix must fit in memory, a count in an index."""


def sizes(data: Any, loc: Loc = ()) -> list[Problem]:
    """Widths (``*_dim``) and counts that cannot be allocated, before anything tries to."""
    out: list[Problem] = []
    items = data.items() if isinstance(data, (dict, Mapping)) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        if type(value) is int:
            if value <= MAX_WIDTH:  # fits either limit
                continue
            limit = MAX_WIDTH if isinstance(key, str) and key.endswith("dim") else MAX_COUNT
            if value > limit:
                shown = f"{value:,}" if value < 10**30 else f"a {len(str(value))}-digit number"
                out.append(Problem((*loc, key), f"{shown} cannot be allocated: at most {limit:,}"))
        elif isinstance(value, (dict, list, Mapping)):
            out += sizes(value, (*loc, key))
    return out


def excerpt(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else f"{message[: limit - 5]}[...]"


def report(path: object, problems: list[Problem]) -> list[str]:
    """One line per problem, the most useful first (those that name a fix: "did you mean"), capped."""
    ordered = sorted(problems, key=lambda p: "did you mean" not in p.message.lower())
    lines = [f"{path}: {format_loc(p.loc)}: {excerpt(p.message)}" for p in ordered[:MAX_SHOWN]]
    if len(ordered) > MAX_SHOWN:
        lines.append(f"{path}: ... and {len(ordered) - MAX_SHOWN:,} more problems")
    return lines


@attrs.frozen
class AttentionFile:
    name: str
    config: Any
    tokens: list[TokenSpec]
    patterns: list[AttentionPattern]
    run: RunSettings


def _errors(exc: ValidationError, *prefix: str | int) -> list[Problem]:
    return [Problem((*prefix, *e["loc"]), e["msg"]) for e in exc.errors()]


def _load_list(items: Any, load: Any, key: str) -> tuple[list[Any], list[Problem]]:
    if not isinstance(items, list):
        return [], [Problem((key,), "should be a list")]
    out, problems = [], []
    for i, item in enumerate(items):
        try:
            out.append(load(item))
        except ValidationError as exc:
            problems += _errors(exc, key, i)
    return out, problems


def read_attention_file(data: Any) -> tuple[AttentionFile | None, list[Problem]]:
    """Validate everything a file says; every problem at once."""
    if not isinstance(data, Mapping):
        return None, [Problem((), f"the file should hold a mapping of options, got {type(data).__name__}")]
    names = {key: data[key] for key in NAME_KEYS if key in data}
    if not names:
        return None, [Problem((), "missing 'attention: <name>' (see `noether-attention list`)")]
    key, name = next(iter(names.items()))
    if len(names) > 1 and len(set(map(str, names.values()))) > 1:
        return None, [Problem((), f"'attention' and 'attention_constructor' disagree: {names}")]
    if not isinstance(name, str):
        return None, [Problem((key,), f"should name an implementation, got {name!r}")]
    problems: list[Problem] = []
    parsed_config = None
    try:
        config_class = attention_registry.resolve_config(name)
    except RegistryError as exc:
        problems.append(Problem((key,), str(exc)))
    else:
        options = {k: v for k, v in data.items() if k not in NAME_KEYS and k not in RESERVED}
        try:
            parsed_config = config_class.from_dict(options)
        except ValidationError as exc:
            problems += _errors(exc)
    tokens, patterns, run = _sections(data, problems)
    problems += sizes({k: v for k, v in data.items() if k != "run"})
    if parsed_config is not None and "kv_dim" in parsed_config.model_fields and len(tokens) < 2:
        problems.append(Problem(("tokens",), f"{name} attention attends from the first token group to the others: "
                                "give at least two groups, e.g. [{queries: 4096}, {context: 4096}]"))  # fmt: skip
    if parsed_config is not None and not problems:
        problems += _token_rules(parsed_config, tokens, patterns, ("tokens",))
    if problems or parsed_config is None:
        return None, problems
    return AttentionFile(name, parsed_config, tokens, patterns, run), []


def _token_rules(config: Any, tokens: list[TokenSpec], patterns: list[AttentionPattern], loc: Loc) -> list[Problem]:
    """A config's own rules for the token layout (``check_tokens``), as the module applies them in forward."""
    check = getattr(config, "check_tokens", None)
    if check is None or not tokens:
        return []
    try:
        check(tokens, patterns)
    except ValueError as exc:
        return [Problem(loc, str(exc))]
    return []


def _sections(data: Mapping[str, Any], problems: list[Problem]) -> tuple[list[Any], list[Any], RunSettings]:
    """The reserved sections ``tokens``, ``patterns`` and ``run``; their problems are appended."""
    tokens, token_problems = _load_list(data.get("tokens", []), TokenSpec.from_dict, "tokens")
    patterns, pattern_problems = _load_list(data.get("patterns", []), AttentionPattern.from_dict, "patterns")
    problems += token_problems + pattern_problems
    run = RunSettings()
    try:
        run = RunSettings.from_dict(data.get("run") or {})
    except ValidationError as exc:
        problems += _errors(exc, "run")
    return tokens, patterns, run


@attrs.frozen
class StackFile:
    config: Any  # TransformerStackConfig
    tokens: list[TokenSpec]
    run: RunSettings


@config
class PointCounts(Config):
    """How many synthetic points of a car ``run`` gives the AB-UPT model, per sample."""

    geometry: int = field(default=16384, ge=1, description="Surface points the geometry branch pools.")
    supernodes: int = field(default=2048, ge=1, description="Of those, the supernodes (geometry tokens).")
    surface_anchors: int = field(default=4096, ge=1, description="Anchor points on the surface.")
    volume_anchors: int = field(default=4096, ge=1, description="Anchor points in the volume.")
    surface_queries: int = field(default=0, ge=0, description="Query points on the surface.")
    volume_queries: int = field(default=0, ge=0, description="Query points in the volume.")


@attrs.frozen
class ModelFile:
    config: Any  # AnchorBranchedUPTConfig
    points: PointCounts
    run: RunSettings


MODELS = ("transformer_stack", "ab_upt")


def read_stack_file(data: Mapping[str, Any]) -> tuple[StackFile | None, list[Problem]]:
    """A block stack: ``model: transformer_stack``, ``depth``, ``block`` (TransformerBlockConfig), tokens, run."""
    from noether.modeling.modules.blocks.stack.config import TransformerStackConfig

    problems: list[Problem] = []
    if data["model"] not in MODELS:
        problems.append(Problem(("model",), f"unknown model {data['model']!r}; known: {', '.join(MODELS)}"))
    options = {k: v for k, v in data.items() if k != "model" and k not in RESERVED}
    parsed = None
    try:
        parsed = TransformerStackConfig.from_dict(options)
    except ValidationError as exc:
        problems += _errors(exc)
    attention = None
    block = parsed.block if parsed is not None else _block_alone(data.get("block"))
    if block is not None:  # the attention's own options, checked by its config class (also when depth is wrong)
        try:
            attention = attention_registry.resolve_config(block.attention_constructor).from_dict(
                block.attention_options()
            )
        except ValidationError as exc:
            problems += [Problem(("block", "attention_arguments", *p.loc), p.message) for p in _errors(exc)]
        except RegistryError as exc:
            problems.append(Problem(("block", "attention_constructor"), str(exc)))
    tokens, _, run = _sections(data, problems)
    problems += sizes(options)
    if attention is not None and not problems:
        problems += _token_rules(attention, tokens, [], ("tokens",))
    if problems or parsed is None:
        return None, problems
    return StackFile(parsed, tokens, run), []


def _block_alone(block: Any) -> Any:
    """The block of a stack whose other keys failed, when it is valid by itself (else its errors are reported)."""
    from noether.modeling.modules.blocks.transformer.config import TransformerBlockConfig

    try:
        return TransformerBlockConfig.from_dict(block) if isinstance(block, Mapping) else None
    except ValidationError:
        return None


def read_model_file(data: Mapping[str, Any]) -> tuple[ModelFile | None, list[Problem]]:
    """AB-UPT: ``model: ab_upt``, its config's keys, ``points`` (:class:`PointCounts`) and ``run``."""
    from noether.modeling.models.ab_upt.config import PHYSICS_ATTENTION, AnchorBranchedUPTConfig

    STREAMABLE = {"perceiver", *PHYSICS_ATTENTION, *PHYSICS_ATTENTION.values()}  # noqa: N806

    problems: list[Problem] = []
    options = {k: v for k, v in data.items() if k not in ("model", "points", "run")}
    parsed = points = None
    try:
        parsed = AnchorBranchedUPTConfig.from_dict(options)
    except ValidationError as exc:
        problems += _errors(exc)
    names = parsed.physics_blocks if parsed is not None else options.get("physics_blocks")
    streaming = isinstance(data.get("run"), Mapping) and data["run"].get("chunk_size") is not None
    for i, name in enumerate(names if isinstance(names, list) else ()):
        if not isinstance(name, str) or name in STREAMABLE:
            continue
        try:
            attention_registry.resolve_config(name)
        except RegistryError:
            known = ["perceiver", *PHYSICS_ATTENTION, *attention_registry.names()]
            message = f"unknown physics block {name!r}: perceiver, shared, cross, joint or an attention name"
            problems.append(Problem(("physics_blocks", i), message + did_you_mean(name, known)))
            continue
        if streaming:
            problems.append(Problem(("physics_blocks", i), f"{name!r} is not anchor attention: query points attend "
                                    "to each other there, so run.chunk_size cannot stream them; use perceiver, "
                                    "shared, cross or joint, or leave run.chunk_size out"))  # fmt: skip
    problems += sizes(options)
    try:
        points = PointCounts.from_dict(data.get("points") or {})
        if points.supernodes > points.geometry:
            problems.append(
                Problem(("points", "supernodes"), f"more supernodes than geometry points ({points.geometry})")
            )
    except ValidationError as exc:
        problems += _errors(exc, "points")
    _, _, run = _sections({"run": data.get("run")}, problems)
    if problems or parsed is None or points is None:
        return None, problems
    return ModelFile(parsed, points, run), []


def read_file(data: Any) -> tuple[Any, list[Problem]]:
    """Validate a config file of any kind this CLI understands: an attention, a block stack or a model (``model:``)."""
    if isinstance(data, Mapping) and data.get("model") == "ab_upt":
        return read_model_file(data)
    if isinstance(data, Mapping) and "model" in data:
        return read_stack_file(data)
    return read_attention_file(data)
