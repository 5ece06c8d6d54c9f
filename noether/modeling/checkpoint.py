"""Checkpoint files in emmiai-noether 1.x's layout: any such file loads, and what we write 1.x reads.

A checkpoint is a ``torch.save``\\ d dict: ``state_dict``, ``model_config`` (the config's dump),
``config_kind`` (the import path of the config class), ``checkpoint_tag``, ``training_iteration``
and ``run_id``; 1.x's trainer writes them as ``<model>_cp=<tag>_model.th``. Loading is safe
(``torch.load(weights_only=True)``: tensors and plain data, never code) and strict.
"""

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import torch
from torch import nn

from noether._lazy import import_target
from noether.catalog import COMPONENTS, LEGACY, Component
from noether.core.schemas import Config, ValidationError
from noether.core.schemas.errors import format_loc

METADATA = ("checkpoint_tag", "training_iteration", "run_id")
M = TypeVar("M", bound="Checkpointable")


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint; the message names the file and what is wrong."""


@attrs.frozen
class Checkpoint:
    """What a checkpoint file holds."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    model_config: dict[str, Any]
    config_kind: str
    metadata: dict[str, Any]  # checkpoint_tag, training_iteration, run_id and whatever else was saved
    device: Any = None  # where its tensors were mapped to, when asked for a device


def config_kinds() -> dict[str, Component]:
    """Every ``config_kind`` a checkpoint may name -> its component: our config paths and 1.x's."""
    kinds: dict[str, Component] = {}
    for c in sorted(COMPONENTS, key=lambda c: c.attention is None):  # concrete attentions first for shared configs
        kinds.setdefault(c.config_path.replace(":", "."), c)
        for module, names in LEGACY.items():
            if c.config in names and module.startswith("noether.core.schemas"):
                kinds.setdefault(f"{module}.{c.config}", c)
    return kinds


def config_kind(config: Config) -> str:
    """The kind to write for ``config``: 1.x's import path where 1.x had the class (so 1.x reads
    the file; the path imports here too), else ours."""
    ours = f"{type(config).__module__}.{type(config).__qualname__}"
    legacy = [k for k, c in config_kinds().items() if c.config == type(config).__name__ and k != ours]
    return max(legacy, key=len) if legacy else ours


def read_checkpoint(path: str | os.PathLike[str], map_location: Any = None) -> Checkpoint:
    """The contents of a checkpoint file, checked for the layout."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # an unpickling error, a zip error, a refused global: all mean "not ours to load"
        raise CheckpointError(f"{path} is not a checkpoint torch can load safely: {exc}") from None
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{path} is not a checkpoint: it holds a {type(data).__name__}, not a dict")
    missing = [k for k in ("state_dict", "model_config", "config_kind") if k not in data]
    if missing:
        held = ("only weights (a bare state dict)" if all(isinstance(v, torch.Tensor) for v in data.values())
                else f"a dict without {', '.join(map(repr, missing))}")  # fmt: skip
        raise CheckpointError(f"{path} holds {held}: a model checkpoint has 'state_dict', 'model_config' and "
                              "'config_kind' (1.x writes them as <model>_cp=<tag>_model.th)")  # fmt: skip
    metadata = {k: v for k, v in data.items() if k not in ("state_dict", "model_config", "config_kind")}
    device = map_location if isinstance(map_location, (str, torch.device)) else None
    return Checkpoint(path, dict(data["state_dict"]), dict(data["model_config"]), str(data["config_kind"]), metadata,
                      device)  # fmt: skip


def resolve(checkpoint: Checkpoint) -> tuple[type[nn.Module], type[Config]]:
    """The module and config classes a checkpoint's ``config_kind`` names."""
    kinds = config_kinds()
    component = kinds.get(checkpoint.config_kind)
    if component is None:
        close = difflib.get_close_matches(checkpoint.config_kind, list(kinds), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise CheckpointError(f"{checkpoint.path}: unknown config_kind {checkpoint.config_kind!r}{hint}")
    return import_target(component.module_path), import_target(component.config_path)


def build(checkpoint: Checkpoint, cls: type[nn.Module] | None = None) -> nn.Module:
    """The module a checkpoint describes, its weights loaded strictly."""
    module_cls, config_cls = resolve(checkpoint)
    if cls is not None and not issubclass(module_cls, cls):
        raise CheckpointError(f"{checkpoint.path} holds {module_cls.__name__} weights, not {cls.__name__}'s")
    try:
        config = config_cls.from_dict(checkpoint.model_config)
    except ValidationError as exc:
        problems = "; ".join(f"{format_loc(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CheckpointError(f"{checkpoint.path}: its model_config is not a valid {config_cls.__name__}: "
                              f"{problems}") from None  # fmt: skip
    device = checkpoint.device
    module = module_cls(config, device=device) if device is not None else module_cls(config)
    try:
        result = module.load_state_dict(checkpoint.state_dict, strict=False)
    except RuntimeError as exc:  # shapes that do not fit: torch lists them
        raise CheckpointError(f"{checkpoint.path}: the state dict does not fit {module_cls.__name__}: {exc}") from None
    if result.missing_keys or result.unexpected_keys:
        found = (("missing", result.missing_keys), ("unexpected", result.unexpected_keys))
        parts = [f"{len(keys)} {what} ({', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''})"
                 for what, keys in found if keys]  # fmt: skip
        raise CheckpointError(f"{checkpoint.path}: the state dict does not fit {module_cls.__name__}: "
                              f"{'; '.join(parts)} keys")  # fmt: skip
    return module.eval()


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = None) -> nn.Module:
    """The model a checkpoint file holds (1.x's or ours), in eval mode: the class comes from its
    ``config_kind``, the weights load strictly."""
    return build(read_checkpoint(path, map_location))


def save_checkpoint(module: nn.Module, path: str | os.PathLike[str], **metadata: Any) -> Path:
    """Write ``module`` in 1.x's checkpoint layout: its weights, its config's dump and kind, and
    ``metadata`` (``checkpoint_tag``, ``training_iteration``, ``run_id``, anything else plain)."""
    config = getattr(module, "config", None)
    if not isinstance(config, Config):
        raise TypeError(f"{type(module).__name__} has no noether config (.config) to write beside its weights")
    defaults: dict[str, Any] = {"checkpoint_tag": "latest", "training_iteration": {}, "run_id": None}
    path = Path(path)
    data = {"state_dict": module.state_dict(), "model_config": config.to_dict(), "config_kind": config_kind(config),
            **defaults, **metadata}  # fmt: skip
    torch.save(data, path)
    return path


class Checkpointable:
    """``from_checkpoint`` and ``save_checkpoint`` for a module built from one noether config."""

    @classmethod
    def from_checkpoint(cls: type[M], path: str | os.PathLike[str], map_location: Any = None) -> M:
        """This model from a checkpoint file (1.x's ``*_model.th`` or ours), in eval mode."""
        module = build(read_checkpoint(path, map_location), cls)  # type: ignore[arg-type]
        assert isinstance(module, cls)
        return module

    def save_checkpoint(self, path: str | os.PathLike[str], **metadata: Any) -> Path:
        """Write this model in 1.x's checkpoint layout (see :func:`save_checkpoint`)."""
        assert isinstance(self, nn.Module)
        return save_checkpoint(self, path, **metadata)
