"""Resolution down to module classes, thread safety, build_attention and the built hook (needs torch)."""

import sys
import threading
import time

import pytest
from torch import nn

from noether.core.schemas import ValidationError
from noether.core.schemas.modules import AttentionConfig
from noether.modeling.modules import DotProductAttention, JointAnchorAttention
from noether.registry import InvalidImplementationError, PluginImportError, build_attention


def test_resolve_builtin(registry):
    resolved = registry.resolve("joint_anchor")
    assert resolved.module is JointAnchorAttention
    assert resolved.qualified == "built-in:joint_anchor"
    assert registry.resolve("built-in:joint_anchor").module is JointAnchorAttention


def test_sixteen_threads_one_import_one_class(site, registry):
    site.plugin("slow-attention", "slow", "slow_attention", delay=0.3)
    barrier = threading.Barrier(16)
    results, errors = [], []

    def resolve():
        try:
            barrier.wait()
            results.append(registry.resolve("slow").module)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert errors == []
    assert len(results) == 16
    assert len({id(cls) for cls in results}) == 1
    assert sys.noether_test_imports == ["slow_attention.config"]


def test_other_plugins_resolve_while_one_imports(site, registry):
    site.plugin("slow-attention", "slow", "slow_attention", delay=1.0)
    site.plugin("fast-attention", "fast", "fast_attention")
    slow = threading.Thread(target=registry.resolve, args=("slow",))
    slow.start()
    deadline = time.monotonic() + 10
    while "slow_attention.config" not in sys.noether_test_imports:  # wait until the slow plugin is importing
        assert time.monotonic() < deadline, "the slow plugin never started importing"
        time.sleep(0.001)
    assert registry.resolve("fast").module.__module__ == "fast_attention.module"  # no registry-wide lock
    assert slow.is_alive()
    slow.join()


def test_module_class_is_validated(site, registry):
    bad_module = "class Module:\n    def __init__(self, config):\n        pass\n"
    site.plugin("plain-attention", "plain", "plain_attention")
    (site.root / "plain_attention" / "module.py").write_text(bad_module)
    with pytest.raises(InvalidImplementationError, match=r"module .* is not an nn\.Module"):
        registry.resolve("plain")
    two_args = (
        "from torch import nn\nclass Module(nn.Module):\n    def __init__(self, config, other):\n"
        "        super().__init__()\n"
    )
    site.plugin("greedy-attention", "greedy", "greedy_attention")
    (site.root / "greedy_attention" / "module.py").write_text(two_args)
    with pytest.raises(InvalidImplementationError, match=r"Module\(config\) must accept the config"):
        registry.resolve("greedy")


def test_module_class_failing_to_import(site, registry):
    site.plugin("crash-attention", "crash", "crash_attention")
    (site.root / "crash_attention" / "module.py").write_text("raise ImportError('needs a CUDA build')\n")
    assert registry.resolve_config("crash").__name__ == "CrashAttentionConfig"  # the config alone still works
    with pytest.raises(PluginImportError) as info:
        registry.resolve("crash")
    assert str(info.value) == (
        "attention 'crash-attention:crash': crash_attention.module:Module: ImportError: needs a CUDA build"
    )
    assert isinstance(info.value.__cause__, ImportError)
    row = next(r for r in registry.rows() if r.name == "crash")
    assert row.status == "broken"
    with pytest.raises(PluginImportError) as again:
        registry.resolve("crash")
    assert again.value is not info.value
    assert isinstance(again.value.__cause__, ImportError)


class TestBuild:
    def test_from_dict_with_either_key(self):
        for key in ("attention", "attention_constructor"):
            module = build_attention({key: "dot_product", "hidden_dim": 8, "num_heads": 2})
            assert isinstance(module, DotProductAttention)

    def test_from_config_object(self):
        from noether.modeling.modules import DotProductAttentionConfig

        module = build_attention(DotProductAttentionConfig(hidden_dim=8, num_heads=2, qk_norm=True))
        assert isinstance(module, DotProductAttention)
        assert module.q_norm is not None
        generic = AttentionConfig(hidden_dim=8, num_heads=2, attention="dot_product")
        assert isinstance(build_attention(generic), DotProductAttention)

    def test_concrete_config_rejects_unknown_keys(self):
        with pytest.raises(ValidationError) as info:
            build_attention({"attention": "dot_product", "hidden_dim": 8, "num_heads": 2, "window": 3})
        assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("window",), "extra_forbidden")]

    def test_generic_config_keeps_extras(self, registry):
        class Echo(nn.Module):
            def __init__(self, config):
                super().__init__()
                self.config = config

        registry.register("echo", Echo, AttentionConfig)
        module = build_attention({"attention": "echo", "hidden_dim": 8, "num_heads": 2, "window": 3}, registry=registry)
        assert module.config.window == 3
        assert type(module.config) is AttentionConfig

    def test_name_errors(self):
        with pytest.raises(ValueError, match="does not name an attention implementation"):
            build_attention({"hidden_dim": 8, "num_heads": 2})
        with pytest.raises(ValueError, match="config names two implementations"):
            build_attention({"attention": "a", "attention_constructor": "b"})
        with pytest.raises(ValueError, match=r"build_attention\(name='mixed'\) but the config says 'dot_product'"):
            build_attention({"attention": "dot_product"}, name="mixed")

    def test_built_hook(self, registry):
        from noether.registry import hookimpl

        calls = []

        class Recorder:
            @hookimpl
            def noether_attention_built(self, name, module, config):
                calls.append((name, type(module).__name__, config.hidden_dim))

        registry.add_hooks(Recorder())
        build_attention({"attention": "dot_product", "hidden_dim": 8, "num_heads": 2}, registry=registry)
        assert calls == [("built-in:dot_product", "DotProductAttention", 8)]

    def test_raising_built_hook_never_breaks_builds(self, registry):
        import warnings

        from noether.registry import hookimpl

        calls = []

        class Broken:
            @hookimpl
            def noether_attention_built(self, name, module, config):
                raise RuntimeError("logger down")

        class Recorder:
            @hookimpl
            def noether_attention_built(self, name, module, config):
                calls.append(name)

        with registry.isolated():
            registry.add_hooks(Broken())
            registry.add_hooks(Recorder())
            options = {"attention": "dot_product", "hidden_dim": 8, "num_heads": 2}
            with pytest.warns(RuntimeWarning, match="noether_attention_built raised RuntimeError: logger down"):
                assert isinstance(build_attention(options, registry=registry), DotProductAttention)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # muted: no second warning
                assert isinstance(build_attention(options, registry=registry), DotProductAttention)
            assert calls == ["built-in:dot_product", "built-in:dot_product"]
        build_attention(options, registry=registry)
        assert calls == ["built-in:dot_product", "built-in:dot_product"]  # isolated() removed the added hooks
