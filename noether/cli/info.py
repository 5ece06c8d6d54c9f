"""``noether-attention info NAME``: the config fields, from the config class alone (no torch)."""

import argparse
from typing import Any

from noether.cli.table import table
from noether.registry import attention_registry


def type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation).replace("typing.", "")
    return text


def run_info(args: argparse.Namespace) -> int:
    config = attention_registry.resolve_config(args.name)
    print(f"{args.name}: {config.__module__}.{config.__qualname__}")
    doc = (config.__doc__ or "").strip().split("\n\n")[0]
    if doc:
        print(doc)
    extras = "kept as extras" if config.__noether_extra__ == "allow" else "rejected"
    print(f"Unknown keys are {extras}.\n")
    body = []
    for name, info in config.model_fields.items():
        default = "(required)" if info.is_required() else repr(info.default)
        bounds = " ".join(
            part
            for part in (
                f">= {info.ge}" if info.ge is not None else "",
                f"<= {info.le}" if info.le is not None else "",
                f"at least {info.min_length} item{'s' if info.min_length != 1 else ''}" if info.min_length else "",
                "(derived)" if info.derived else "",
            )
            if part
        )
        body.append((name, type_name(info.annotation), default, " ".join(filter(None, [info.description, bounds]))))
    print(table(("FIELD", "TYPE", "DEFAULT", "DESCRIPTION"), body))
    return 0
