import subprocess
import sys
import textwrap

import pytest

import noether.core.schemas.modules as namespace
from noether._lazy import lazy_exports


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_import_is_torch_free_and_modeling_free():
    out = run_python(
        """
        import sys
        import noether.core.schemas.modules as m
        m.AttentionConfig.from_dict({"hidden_dim": 8, "num_heads": 2})
        print(sorted(n for n in sys.modules if n == "torch" or n.startswith("noether.modeling")))
        """
    )
    assert out == "[]"


def test_unknown_name_raises_attribute_error_naming_module():
    with pytest.raises(AttributeError, match=r"module 'noether\.core\.schemas\.modules' has no attribute 'Nope'"):
        _ = namespace.Nope


def test_eager_exports_listed():
    assert {"AttentionConfig", "AttentionPattern", "TokenSpec"} <= set(namespace.__all__)
    assert set(namespace.__all__) <= set(dir(namespace))


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A test double standing in for a modeling module that defines a config."""
    pkg = tmp_path / "fake_modeling"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "thing.py").write_text(
        textwrap.dedent(
            """
            from noether.core.schemas import Config, config, field

            IMPORTS = []
            IMPORTS.append(1)

            @config
            class ThingConfig(Config):
                size: int = field(default=1)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fake_modeling.thing"
    for name in [n for n in sys.modules if n.startswith("fake_modeling")]:
        del sys.modules[name]


def test_lazy_mechanism_with_test_double(fake_package):
    namespace_dict = {"__name__": "demo.ns", "__all__": ["ThingConfig"]}
    getattr_, dir_ = lazy_exports(namespace_dict, {"ThingConfig": f"{fake_package}:ThingConfig"})
    assert fake_package not in sys.modules
    assert "ThingConfig" in dir_()
    cls = getattr_("ThingConfig")
    module = sys.modules[fake_package]
    assert cls is module.ThingConfig
    assert namespace_dict["ThingConfig"] is cls  # cached: __getattr__ is not reached again
    assert getattr_("ThingConfig") is cls
    assert module.IMPORTS == [1]
    with pytest.raises(AttributeError, match=r"module 'demo\.ns' has no attribute 'Other'"):
        getattr_("Other")


def test_missing_torch_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "needs_torch_mod.py").write_text("import torch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail like a missing install
    getattr_, _ = lazy_exports({"__name__": "demo"}, {"Thing": "needs_torch_mod:Thing"})
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'noether-attention\[torch\]'"):
        getattr_("Thing")
