"""Resolving and building modules, the CLI's run and bench: they need torch."""

import pytest

pytest.importorskip("torch", reason="needs PyTorch: pip install torch (see the README)")
