"""Registry behaviour that needs no torch: listing, config resolution, failures, controls."""

import concurrent.futures
import sys
import time

import pytest

from noether.registry import (
    AttentionConflictError,
    BuiltinOverrideError,
    InvalidImplementationError,
    PluginBlockedError,
    PluginImportError,
    UnknownAttentionError,
)
from noether.registry.discovery import BUILTINS


def row(registry, name, source=None):
    return next(r for r in registry.rows() if r.name == name and (source is None or r.source == source))


def imported():
    return list(sys.noether_test_imports)


class TestListing:
    def test_builtins_listed_without_imports(self, registry):
        rows = {r.name: r for r in registry.rows() if r.source == "built-in"}
        assert set(rows) == {"dot_product", "perceiver", "transolver", "transolver_plusplus", "mixed",
                             "self_anchor", "cross_anchor", "joint_anchor"}  # fmt: skip
        assert rows["joint_anchor"].config_path == (
            "noether.modeling.modules.attention.anchor.config:JointAnchorAttentionConfig"
        )
        assert all(r.status == "ok" for r in rows.values())

    def test_plugin_listed_from_metadata_only(self, site, registry):
        site.plugin("wing-attention", "wing", "wing_attention", version="1.2.3")
        r = row(registry, "wing")
        assert (r.source, r.version, r.status) == ("wing-attention", "1.2.3", "ok")
        assert r.config_path == "wing_attention.config:WingAttentionConfig"
        assert r.qualified == "wing-attention:wing"
        assert "wing_attention" not in sys.modules
        assert imported() == []
        assert "wing" in registry.names()

    def test_scan_is_memoised_until_refresh(self, site, registry):
        site.plugin("wing-attention", "wing", "wing_attention")
        assert "wing" in registry.names()
        site.plugin("tail-attention", "tail", "tail_attention")  # the fixture refreshes; undo that to check memo
        from noether.registry import discovery

        scanned = discovery.scan()
        (site.root / "extra").mkdir()
        assert discovery.scan() is scanned
        registry.refresh()
        assert discovery.scan() is not scanned


class TestResolveConfig:
    def test_builtin_config_without_torch_import_in_subprocess(self):
        import subprocess

        code = (
            "import sys; from noether.registry import attention_registry as r, discovery; "
            "c = r.resolve_config('joint_anchor'); c(hidden_dim=8, num_heads=2, branches=['a', 'b']); "
            "print(c.__name__, 'torch' in sys.modules, discovery._scan is not None)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.split() == ["JointAnchorAttentionConfig", "False", "False"]  # no plugin can replace it: no scan

    def test_plugin_config_imports_that_plugin_alone(self, site, registry):
        site.plugin("wing-attention", "wing", "wing_attention")
        site.plugin("tail-attention", "tail", "tail_attention")
        config = registry.resolve_config("wing")
        assert config.__name__ == "WingAttentionConfig"
        assert config(hidden_dim=8, num_heads=2, scale=2).scale == 2.0
        assert imported() == ["wing_attention.config"]
        assert "tail_attention" not in sys.modules
        assert registry.resolve_config("wing") is config
        assert imported() == ["wing_attention.config"]

    def test_unknown_name_lists_available_and_close_matches(self, site, registry):
        site.plugin("wing-attention", "wing", "wing_attention")
        with pytest.raises(UnknownAttentionError) as info:
            registry.resolve_config("join_anchor")
        message = str(info.value)
        assert message.startswith("unknown attention 'join_anchor'. Did you mean 'joint_anchor'")
        available = message.split("Available: ")[1].split(", ")
        assert available == sorted(available)
        assert {*BUILTINS, "wing"} <= set(available)

    @pytest.mark.parametrize("name", ["os:system", "os.path:join", "builtins:eval", "", None])
    def test_names_are_never_imported_as_paths(self, registry, name):
        with pytest.raises(UnknownAttentionError):
            registry.resolve_config(name)


class TestFailures:
    def test_plugin_raising_on_import(self, site, registry):
        site.plugin("bad-attention", "bad", "bad_attention", config_source="raise RuntimeError('no GPU found')\n")
        site.plugin("wing-attention", "wing", "wing_attention")
        with pytest.raises(PluginImportError) as info:
            registry.resolve_config("bad")
        assert str(info.value) == (
            "plugin bad-attention (entry point 'bad') failed to import bad_attention.config: RuntimeError: no GPU found"
        )
        assert isinstance(info.value.__cause__, RuntimeError)
        broken = row(registry, "bad")
        assert (broken.status, broken.reason) == ("broken", str(info.value))
        assert registry.resolve_config("wing").__name__ == "WingAttentionConfig"  # others are unaffected
        with pytest.raises(PluginImportError):  # remembered, not re-run
            registry.resolve_config("bad")

    def test_two_distributions_claiming_one_name(self, site, registry):
        site.plugin("wing-attention", "wing", "wing_attention")
        site.plugin("wing-fork", "wing", "wing_fork")
        with pytest.raises(AttentionConflictError) as info:
            registry.resolve_config("wing")
        assert str(info.value) == (
            "attention 'wing' is provided by several distributions (wing-attention, wing-fork); "
            "name one of 'wing-attention:wing', 'wing-fork:wing'"
        )
        rows = [r for r in registry.rows() if r.name == "wing"]
        assert [(r.source, r.status) for r in rows] == [("wing-attention", "conflict"), ("wing-fork", "conflict")]
        assert "pick one as 'wing-fork:wing'" in rows[1].reason
        assert registry.resolve_config("wing-fork:wing").__name__ == "WingForkConfig"
        assert registry.resolve_config("wing_attention:wing").__name__ == "WingAttentionConfig"  # normalised name
        assert imported() == ["wing_fork.config", "wing_attention.config"]

    def test_plugin_cannot_replace_builtin_unless_allowed(self, site, registry, monkeypatch):
        site.plugin("evil-attention", "dot_product", "evil_attention")
        assert registry.resolve_config("dot_product").__name__ == "DotProductAttentionConfig"
        refused = row(registry, "dot_product", "evil-attention")
        assert refused.status == "refused"
        assert "NOETHER_ALLOW_BUILTIN_OVERRIDE=dot_product" in refused.reason
        assert imported() == []
        monkeypatch.setenv("NOETHER_ALLOW_BUILTIN_OVERRIDE", "dot_product")
        fresh = type(registry)()
        with pytest.warns(UserWarning, match="plugin evil-attention replaces the built-in attention 'dot_product'"):
            assert fresh.resolve_config("dot_product").__name__ == "EvilAttentionConfig"
        assert row(fresh, "dot_product", "evil-attention").status == "overrides built-in"

    def test_misspelt_hook_is_an_error(self, site, registry):
        site.plugin("typo-attention", "typo", "typo_attention", hook="noether_attention_implementation")
        with pytest.raises(PluginImportError, match=r"plugin typo-attention .* has invalid hooks: .*unknown hook"):
            registry.resolve_config("typo")

    def test_half_valid_plugins_fail_loudly(self, site, registry):
        not_a_config = "from noether.registry import AttentionImplementation, hookimpl\nclass Cfg:\n    pass\n" \
            "@hookimpl\ndef noether_attention_implementations():\n" \
            "    return {'half': AttentionImplementation(module='x:y', config=Cfg)}\n"  # fmt: skip
        site.distribution(
            "half-attention", {"half": "half_attention:Cfg"}, {"half_attention/__init__.py": not_a_config}
        )
        with pytest.raises(InvalidImplementationError, match="is not an attrs subclass of AttentionConfig"):
            registry.resolve_config("half")
        silent = "from noether.registry import hookimpl\n@hookimpl\ndef noether_attention_implementations():\n" \
            "    return {}\n"  # fmt: skip
        site.distribution("mute-attention", {"mute": "mute_attention:Cfg"}, {"mute_attention/__init__.py": silent})
        with pytest.raises(PluginImportError, match=r"mute-attention .*mute_attention:Cfg: AttributeError"):
            registry.resolve_config("mute")
        silent_with_config = silent + "from noether.core.schemas.modules import AttentionConfig as Cfg\n"
        site.distribution(
            "hush-attention", {"hush": "hush_attention:Cfg"}, {"hush_attention/__init__.py": silent_with_config}
        )
        with pytest.raises(InvalidImplementationError, match=r"does not provide 'hush' .* \(it provides \[\]\)"):
            registry.resolve_config("hush")

    def test_malformed_entry_point(self, site, registry):
        site.distribution("odd-attention", {"odd": "odd_attention"}, {"odd_attention/__init__.py": ""})
        odd = row(registry, "odd")
        assert odd.status == "broken"
        assert "must name the config class as 'module:Class'" in odd.reason
        with pytest.raises(PluginImportError, match="must name the config class"):
            registry.resolve_config("odd")


class TestControls:
    def test_disable_autoload(self, site, registry, monkeypatch):
        site.plugin("wing-attention", "wing", "wing_attention")
        monkeypatch.setenv("NOETHER_DISABLE_PLUGIN_AUTOLOAD", "1")
        registry.refresh()
        assert "wing" not in registry.names()
        assert (row(registry, "wing").status, row(registry, "wing").reason) == (
            "blocked", "blocked by NOETHER_DISABLE_PLUGIN_AUTOLOAD"
        )  # fmt: skip
        with pytest.raises(PluginBlockedError, match="'wing' is provided by wing-attention, which "
                           "NOETHER_DISABLE_PLUGIN_AUTOLOAD blocks"):  # fmt: skip
            registry.resolve_config("wing")
        with pytest.raises(UnknownAttentionError, match=r"Available \(plugin autoloading is disabled\)"):
            registry.resolve_config("nowhere")
        assert registry.resolve_config("dot_product").__name__ == "DotProductAttentionConfig"
        assert imported() == []

    def test_allow_list(self, site, registry, monkeypatch):
        site.plugin("wing-attention", "wing", "wing_attention")
        site.plugin("tail-attention", "tail", "tail_attention")
        monkeypatch.setenv("NOETHER_PLUGINS", "Wing_Attention")
        registry.refresh()
        assert row(registry, "tail").status == "blocked"
        assert row(registry, "tail").reason == "blocked by NOETHER_PLUGINS=Wing_Attention"
        assert "tail" not in registry.names()
        with pytest.raises(PluginBlockedError, match="'tail' is provided by tail-attention, which NOETHER_PLUGINS"):
            registry.resolve_config("tail")
        with pytest.raises(PluginBlockedError, match="tail-attention is blocked by NOETHER_PLUGINS=Wing_Attention"):
            registry.resolve_config("tail-attention:tail")
        assert registry.resolve_config("wing").__name__ == "WingAttentionConfig"
        assert imported() == ["wing_attention.config"]

    @pytest.mark.parametrize("value", ["", " , "])
    def test_empty_allow_list_restricts_nothing(self, site, registry, monkeypatch, value):
        site.plugin("wing-attention", "wing", "wing_attention")
        monkeypatch.setenv("NOETHER_PLUGINS", value)
        registry.refresh()
        assert row(registry, "wing").status == "ok"
        assert registry.resolve_config("wing").__name__ == "WingAttentionConfig"


class TestPluginHooks:
    RAISING = """
from noether.core.schemas import config
from noether.core.schemas.modules import AttentionConfig
from noether.registry import hookimpl
import sys
sys.__dict__.setdefault("noether_hook_calls", []).append(__name__)


@config
class {cls}(AttentionConfig):
    pass


@hookimpl
def noether_attention_implementations():
    sys.noether_hook_calls.append("hook")
    raise RuntimeError("hook exploded")
"""

    def test_raising_hook_is_attributed_remembered_and_isolated(self, site, registry, monkeypatch):
        monkeypatch.setattr(sys, "noether_hook_calls", [], raising=False)
        source = self.RAISING.format(cls="BoomConfig")
        site.distribution("boom-attention", {"boom": "boom_attention:BoomConfig", "bang": "boom_attention:BoomConfig"},
                          {"boom_attention/__init__.py": source})  # fmt: skip
        site.plugin("wing-attention", "wing", "wing_attention")
        for name in ("boom", "boom", "bang"):
            with pytest.raises(PluginImportError, match=r"plugin boom-attention .*raised RuntimeError: hook exploded"):
                registry.resolve_config(name)
        assert sys.noether_hook_calls == ["boom_attention", "hook"]  # imported once, the hook asked once
        assert row(registry, "boom").status == "broken"
        assert registry.resolve_config("wing").__name__ == "WingAttentionConfig"
        assert registry.resolve_config("dot_product").__name__ == "DotProductAttentionConfig"

    def test_entry_point_alone_declares_a_name(self, site, registry):
        source = """
from typing import ClassVar
from noether.core.schemas import config
from noether.core.schemas.modules import AttentionConfig


@config
class OnceConfig(AttentionConfig):
    module_class: ClassVar[str] = "once_attention.module:Module"
"""
        site.distribution("once-attention", {"once": "once_attention.config:OnceConfig"},
                          {"once_attention/__init__.py": "", "once_attention/config.py": source})  # fmt: skip
        assert registry.resolve_config("once").__name__ == "OnceConfig"


class TestRegistration:
    def test_register_and_isolated_restore(self, registry):
        from noether.core.schemas.modules import AttentionConfig

        with registry.isolated():
            registry.register("mine", "torch.nn:Identity", AttentionConfig)
            assert registry.resolve_config("mine") is AttentionConfig
            assert row(registry, "mine").source == "registered"
        assert "mine" not in registry.names()
        with pytest.raises(UnknownAttentionError):
            registry.resolve_config("mine")

    def test_strings_and_builtin_protection(self, registry):
        from noether.core.schemas.modules import AttentionConfig

        config = "noether.modeling.modules.attention.dot_product.config:DotProductAttentionConfig"
        with registry.isolated():
            with pytest.raises(BuiltinOverrideError, match="'dot_product' is a built-in attention; pass override=True"):
                registry.register("dot_product", "torch.nn:Identity", config)
            with pytest.warns(UserWarning, match="replacing the built-in attention 'dot_product'"):
                registry.register("dot_product", "torch.nn:Identity", AttentionConfig, override=True)
            assert registry.resolve_config("dot_product") is AttentionConfig  # the override took effect
        assert registry.resolve_config("dot_product").__name__ == "DotProductAttentionConfig"  # and was undone
        assert set(BUILTINS) <= set(registry.names())

    @pytest.mark.parametrize("name", ["", "a:b", 3])
    def test_bad_names(self, registry, name):
        with pytest.raises(ValueError, match="attention names are non-empty strings without ':'"):
            registry.register(name, "torch.nn:Identity", "noether.core.schemas.modules:AttentionConfig")


class TestConcurrency:
    """Every lazily built object is made once, however many threads ask first (delays widen the races)."""

    def test_manager_made_once_under_racing_first_use(self, site, monkeypatch):
        import pluggy

        from noether.registry import AttentionRegistry

        made, slow_init = [], pluggy.PluginManager.__init__

        def delayed(self, *args, **kwargs):
            time.sleep(0.01)
            made.append(self)
            slow_init(self, *args, **kwargs)

        monkeypatch.setattr(pluggy.PluginManager, "__init__", delayed)
        for package in ("multi_attention", "solo_attention"):
            names = {f"{package[:4]}{i}": f"{package}.config:Config{i}" for i in range(4)}
            config = "\n".join(
                ["from noether.core.schemas import config", "from noether.core.schemas.modules import AttentionConfig",
                 "from noether.registry import AttentionImplementation, hookimpl", "import sys",
                 "sys.__dict__.setdefault('noether_test_imports', []).append(__name__)"]
                + [f"@config\nclass Config{i}(AttentionConfig):\n    pass" for i in range(4)]
                + ["@hookimpl\ndef noether_attention_implementations():",
                   "    return {n: AttentionImplementation('x:y', globals()[p.split(':')[1]])",
                   f"            for n, p in {names!r}.items()}}"]
            )  # fmt: skip
            files = {f"{package}/__init__.py": "", f"{package}/config.py": config}
            site.distribution(package.replace("_", "-"), names, files)
        wanted = [f"{p}{i}" for p in ("mult", "solo") for i in range(4)] * 2
        for _ in range(50):
            registry, made[:] = AttentionRegistry(), []
            for module in [m for m in sys.modules if m.startswith(("multi_attention", "solo_attention"))]:
                del sys.modules[module]
            sys.noether_test_imports.clear()
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                configs = list(pool.map(registry.resolve_config, wanted))
            assert [c.__name__ for c in configs] == [f"Config{i}" for i in range(4)] * 4
            assert sorted(sys.noether_test_imports) == ["multi_attention.config", "solo_attention.config"]
            assert len(made) == 1

    def test_singleton_made_once_and_keeps_every_registration(self, monkeypatch):
        import noether.registry as package
        from noether.core.schemas.modules import AttentionConfig
        from noether.registry.registry import AttentionRegistry

        slow_init = AttentionRegistry.__init__

        def delayed(self):
            time.sleep(0.005)
            slow_init(self)

        monkeypatch.setattr(AttentionRegistry, "__init__", delayed)
        for _ in range(20):
            monkeypatch.delitem(vars(package), "attention_registry", raising=False)

            def register(i: int) -> object:
                registry = package.attention_registry
                registry.register(f"mine{i}", "torch.nn:Identity", AttentionConfig)
                return registry

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                registries = set(map(id, pool.map(register, range(16))))
            assert len(registries) == 1
            assert {f"mine{i}" for i in range(16)} <= set(package.attention_registry.names())
        monkeypatch.delitem(vars(package), "attention_registry", raising=False)
