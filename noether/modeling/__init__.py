"""The torch half of noether: attention modules and the layers they are built from.

Needs PyTorch (``pip install 'noether-attention[torch]'``). Every config lives next to its
module class and imports without torch, so configs validate on any machine.
"""

from typing import TYPE_CHECKING

from noether._lazy import lazy_exports

_EXPORTS = {
    name: f"noether.modeling.checkpoint:{name}"
    for name in ("Checkpoint", "CheckpointError", "load_checkpoint", "read_checkpoint", "save_checkpoint")
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

if TYPE_CHECKING:
    from noether.modeling.checkpoint import (
        Checkpoint,
        CheckpointError,
        load_checkpoint,
        read_checkpoint,
        save_checkpoint,
    )
