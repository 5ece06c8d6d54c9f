"""noether: attention building blocks for physics transformers."""

__version__ = "0.1.0"

DISTRIBUTION = "noether-attention"
"""The name on the package index (``noether`` there is an unrelated project); the import package is ``noether``."""


def install_hint(extra: str) -> str:
    """The command that installs an optional extra, for error messages."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
