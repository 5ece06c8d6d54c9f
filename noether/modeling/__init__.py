"""The torch half of noether: attention modules and the layers they are built from.

Needs PyTorch (``pip install 'noether-attention[torch]'``). Every config lives next to its
module class and imports without torch, so configs validate on any machine.
"""
