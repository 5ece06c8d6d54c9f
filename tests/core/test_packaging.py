"""The distribution is named for what it is: ``noether`` on the package index is another project."""

from importlib import metadata

import noether


def test_distribution_name_is_ours_and_used_in_hints():
    assert metadata.metadata(noether.DISTRIBUTION)["Name"] == "noether-attention"
    assert noether.install_hint("torch") == "pip install 'noether-attention[torch]'"
    assert metadata.version(noether.DISTRIBUTION) == noether.__version__


def test_torch_extra_brings_numpy():
    """torch warns on every import without numpy; the extra installs it."""
    requires = metadata.requires(noether.DISTRIBUTION) or []
    torch_extra = [r.split(";")[0].strip() for r in requires if 'extra == "torch"' in r]
    assert any(r.startswith("numpy") for r in torch_extra)
    assert any(r.replace(" ", "") in ("torch<3,>=2.2", "torch>=2.2,<3") for r in torch_extra)  # a range, not a pin
