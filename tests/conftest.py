"""Fixtures shared by every test directory: installed-distribution doubles built on disk."""

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from noether.registry import discovery

# Shared CI machines are slow and noisy: property tests check behaviour, not speed.
settings.register_profile("noether", deadline=None)
settings.load_profile("noether")

PLUGIN_CONFIG = """
import sys
import time

from noether.core.schemas import config, field
from noether.core.schemas.modules import AttentionConfig
from noether.registry import AttentionImplementation, hookimpl

sys.__dict__.setdefault("noether_test_imports", []).append(__name__)
time.sleep({delay})  # widens the window in which concurrent resolvers race


@config(extra="forbid")
class {cls}(AttentionConfig):
    scale: float = field(default=1.0)


@hookimpl
def {hook}():
    return {{"{name}": AttentionImplementation(module="{package}.module:Module", config={cls})}}
"""

PLUGIN_MODULE = """
import torch
from torch import nn


class Module(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.scale = nn.Parameter(torch.tensor(config.scale))

    def forward(self, x):
        return x * self.scale
"""


class Site:
    """A directory on ``sys.path`` holding distributions as pip installs them (``*.dist-info``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.packages: list[str] = []

    def distribution(
        self, name: str, entry_points: dict[str, str], files: dict[str, str], version: str = "0.1.0"
    ) -> None:
        for relative, text in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
            self.packages.append(relative.split("/")[0])
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = ["[noether.attention]", *(f"{k} = {v}" for k, v in entry_points.items())]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        discovery.refresh()

    @staticmethod
    def config_class(package: str) -> str:
        return "".join(part.title() for part in package.split("_")) + "Config"

    @classmethod
    def config_source(cls, name: str, package: str, hook: str = "noether_attention_implementations") -> str:
        return PLUGIN_CONFIG.format(cls=cls.config_class(package), hook=hook, name=name, package=package, delay=0)

    def plugin(
        self, distribution: str, name: str, package: str, *, hook: str = "noether_attention_implementations",
        delay: float = 0.0, config_source: str | None = None, version: str = "0.1.0",
    ) -> None:  # fmt: skip
        """A working plugin (unless told otherwise): config and hook in ``package.config``, module class in
        ``package.module``."""
        cls = self.config_class(package)
        source = config_source or PLUGIN_CONFIG.format(cls=cls, hook=hook, name=name, package=package, delay=delay)
        files = {f"{package}/__init__.py": "", f"{package}/config.py": source, f"{package}/module.py": PLUGIN_MODULE}
        self.distribution(distribution, {name: f"{package}.config:{cls}"}, files, version)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site-packages"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    for variable in ("NOETHER_DISABLE_PLUGIN_AUTOLOAD", "NOETHER_PLUGINS", "NOETHER_ALLOW_BUILTIN_OVERRIDE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(sys, "noether_test_imports", [], raising=False)
    discovery.refresh()
    made = Site(root)
    yield made
    for package in set(made.packages):
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]
    discovery.refresh()


@pytest.fixture
def registry():
    from noether.registry import AttentionRegistry

    return AttentionRegistry()
