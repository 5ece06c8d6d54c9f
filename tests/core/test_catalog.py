"""One table of built-in names (noether.catalog): everything that lists them is derived from it or held to it."""

import ast
import importlib
from pathlib import Path

import noether.core.schemas.modules as namespace
import noether.modeling.models as models
import noether.modeling.modules as modules
from noether.catalog import COMPONENTS, EXTRAS, MODEL_EXTRAS, MODELS, MODULES, builtin_attention, config_paths, exports
from noether.registry.discovery import BUILTINS


def test_registry_builtins_are_the_catalog_attentions():
    assert builtin_attention() == BUILTINS
    assert set(BUILTINS) == {c.attention for c in COMPONENTS if c.attention}


def test_back_compat_namespace_exports_every_config():
    legacy_only = {"IrregularNatAttentionConfig"}  # 1.x had the config, no module
    assert config_paths() == {k: v for k, v in namespace.MODULE_CONFIGS.items() if k not in legacy_only}
    assert legacy_only <= set(namespace.MODULE_CONFIGS)
    assert {c.config for c in COMPONENTS if c.root == MODULES} <= set(namespace.__all__)


def test_modeling_exports_every_class():
    expected = {name for c in COMPONENTS if c.root == MODULES for name in (c.module, c.config)} | set(EXTRAS)
    assert set(modules.__all__) == expected == set(exports())


def test_type_checking_imports_mirror_the_catalog():
    """The static imports type checkers read name exactly the lazily exported objects."""
    for package, root in ((modules, MODULES), (models, MODELS)):
        tree = ast.parse(Path(package.__file__).read_text())
        guarded = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
        imported = {f"{node.module}:{alias.name}" for node in guarded.body for alias in node.names}
        assert imported == set(exports(root=root).values())


def test_every_config_path_resolves_without_torch_to_one_class():
    for c in COMPONENTS:
        module, _, attr = c.config_path.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        homes = (namespace, modules) if c.root == MODULES else (models,)
        assert all(getattr(home, c.config) is cls for home in homes)
        assert cls.__name__ == c.config


def test_models_export_the_model_its_config_and_data_specs():
    expected = {name for c in COMPONENTS if c.root == MODELS for name in (c.module, c.config)} | set(MODEL_EXTRAS)
    assert set(models.__all__) == expected == set(exports(root=MODELS))
