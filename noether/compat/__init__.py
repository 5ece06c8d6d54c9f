"""emmiai-noether 1.x compatibility: old forms adapted onto today's API in one place.

:mod:`noether.compat.calls` adapts 1.x's call forms of modules (see
:mod:`noether.modeling.contract`); old import paths live in :mod:`noether.catalog`, old
config rules in :func:`noether.core.schemas.lax`, old checkpoints in
:mod:`noether.modeling.checkpoint`.
"""
