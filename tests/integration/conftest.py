"""The example plugins, pip-installed (tox env `plugins`)."""

import pytest

pytest.importorskip("torch", reason="needs PyTorch: pip install torch (see the README)")
pytest.importorskip(
    "noether_linear_attention", reason="needs the example plugin: pip install ./plugins/noether-linear-attention"
)
pytest.importorskip(
    "noether_chunked_attention", reason="needs the example plugin: pip install ./plugins/noether-chunked-attention"
)
