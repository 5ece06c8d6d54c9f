"""The example plugins of plugins/, pip-installed into this environment (tox env `plugins`)."""

import os
import shutil
import subprocess
import sys

import pytest

from noether.registry import attention_registry, build_attention

PLUGINS = {
    "linear": ("noether-linear-attention", "noether_linear_attention.config:LinearAttentionConfig"),
    "chunked_dot_product": (
        "noether-chunked-attention",
        "noether_chunked_attention.config:ChunkedDotProductAttentionConfig",
    ),
}


def python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("name", PLUGINS)
def test_discovered_with_distribution_version_and_config(name):
    row = next(r for r in attention_registry.rows() if r.name == name)
    distribution, config = PLUGINS[name]
    assert (row.source, row.config_path, row.status) == (distribution, config, "ok")
    assert row.version == "0.1.0"


def test_console_script_lists_them_without_importing():
    script = shutil.which("noether-attention", path=os.path.dirname(sys.executable))
    assert script is not None
    out = subprocess.run([script, "list"], capture_output=True, text=True, check=True).stdout
    for name, (distribution, _) in PLUGINS.items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert distribution in line
        assert line.endswith("ok")
    imported = python(
        "import sys; from noether.cli import main; main(['list']); "
        "print(sorted(m for m in sys.modules if m.startswith('noether_') or m == 'torch'))"
    ).splitlines()[-1]
    assert imported == "[]"


def test_resolving_one_imports_that_plugin_only():
    imported = python(
        "import sys; from noether.registry import attention_registry as r; r.resolve('linear'); "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('noether_')}))"
    )
    assert imported == "['noether_linear_attention']"


def test_used_by_name_in_configs():
    linear = build_attention({"attention": "linear", "hidden_dim": 16, "num_heads": 2})
    chunked = build_attention({"attention_constructor": "chunked_dot_product", "hidden_dim": 16, "num_heads": 2})
    assert type(linear).__name__ == "LinearAttention"
    assert type(chunked).__name__ == "ChunkedDotProductAttention"


def test_check_and_info_work_for_plugins(tmp_path):
    config = tmp_path / "linear.yaml"
    config.write_text("attention: linear\nhidden_dim: 16\nnum_heads: 2\nfeature_map: tanh\n")
    result = subprocess.run([sys.executable, "-m", "noether", "check", str(config)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout.strip() == f"{config}: feature_map: Input should be 'elu', 'relu' or 'softplus'"
    info = python("from noether.cli import main; main(['info', 'linear'])")
    assert "feature_map" in info
