"""Config speed: noether (attrs + cattrs) against the equivalent pydantic v2 models.

Run: python benchmarks/bench_configs.py   (needs: pip install -e '.[bench]')
Every figure is a median of paired, interleaved ratios measured in this one run.
"""

import compileall
import enum
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Literal

import attrs
from _paired import paired_ratio, record, verdict
from pydantic import BaseModel, ConfigDict, Field, model_validator

import noether
from noether.core.schemas import Config, ValidationError, config, field
from noether.core.schemas.modules import AttentionConfig, AttentionPattern, TokenSpec

PYDANTIC_MODELS = """
import enum
import pathlib
from typing import Any, Literal
from pydantic import BaseModel, ConfigDict, Field, model_validator


class PydAttentionConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    hidden_dim: int = Field(ge=1)
    num_heads: int = Field(ge=1)
    use_rope: bool = False
    dropout: float = Field(0.0, ge=0.0, le=1.0)
    init_weights: Literal["truncnormal002", "torch", "truncnormal", "truncnormal002-identity", "torchs", "zeros"] = (
        "truncnormal002"
    )
    bias: bool = True
    head_dim: int | None = None
    qk_norm: bool = False

    @model_validator(mode="after")
    def validate_hidden_dim_and_num_heads(self):
        if self.hidden_dim % self.num_heads != 0:
            raise ValueError("hidden_dim must be divisible by num_heads")
        self.head_dim = self.hidden_dim // self.num_heads
        return self


class PydTokenSpec(BaseModel):
    name: str
    size: int | None = Field(None, ge=0)


class PydAttentionPattern(BaseModel):
    query_tokens: list[str] = Field(min_length=1)
    key_value_tokens: list[str] = Field(min_length=1)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class PydRich(BaseModel):
    model_config = ConfigDict(extra="forbid")
    color: Color = Color.RED
    path: pathlib.Path = pathlib.Path("out")
    size: tuple[int, int] = (1, 2)
    name: str = "run"


class PydLayout(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attention: PydAttentionConfig
    tokens: list[PydTokenSpec]
    patterns: list[PydAttentionPattern]
"""
namespace: dict[str, object] = {}
exec(PYDANTIC_MODELS, namespace)
PydAttentionConfig: type[BaseModel] = namespace["PydAttentionConfig"]  # type: ignore[assignment]
PydTokenSpec: type[BaseModel] = namespace["PydTokenSpec"]  # type: ignore[assignment]
PydLayout: type[BaseModel] = namespace["PydLayout"]  # type: ignore[assignment]
PydRich: type[BaseModel] = namespace["PydRich"]  # type: ignore[assignment]
Color: type[enum.Enum] = namespace["Color"]  # type: ignore[assignment]
del BaseModel, ConfigDict, Field, model_validator, Literal  # only the exec'd source uses them


@config
class Layout(Config):
    attention: AttentionConfig = field()
    tokens: list[TokenSpec] = field()
    patterns: list[AttentionPattern] = field()


@config
class Rich(Config):
    color: Color = field(default=Color.RED)  # type: ignore[valid-type]
    path: pathlib.Path = field(default=pathlib.Path("out"))
    size: tuple[int, int] = field(default=(1, 2))
    name: str = field(default="run")


def _floor(cls: type[Config], *nested: str) -> type:
    """``cls``'s fields with the same checks (its attrs converters) on a plain attrs class, built directly:
    what the design cannot go below (no cattrs, no API, no extras, no model validators). ``nested`` fields
    take values already built."""
    fields = {
        a.alias: attrs.field(converter=None if a.alias in nested else a.converter, default=a.default, kw_only=True)
        for a in attrs.fields(cls)
        if a.init and a.alias in cls.model_fields
    }
    return attrs.make_class(f"Floor{cls.__name__}", fields, slots=True)


FloorAttention, FloorToken, FloorPattern = _floor(AttentionConfig), _floor(TokenSpec), _floor(AttentionPattern)
FloorLayout = _floor(Layout, "attention", "tokens", "patterns")


def floor_layout(data: dict) -> object:
    attention = {k: v for k, v in data["attention"].items() if k in AttentionConfig.model_fields}
    return FloorLayout(
        attention=FloorAttention(**attention),
        tokens=[FloorToken(name=name, size=size) for group in data["tokens"] for name, size in group.items()],
        patterns=[FloorPattern(**pattern) for pattern in data["patterns"]],
    )


RICH = {"color": "blue", "path": "runs/a", "size": [3, 4]}
ATTENTION = {"hidden_dim": 192, "num_heads": 3, "dropout": 0.1, "num_slices": 64}
TOKEN = {"surface_anchors": 4096}
PYD_TOKEN = {"name": "surface_anchors", "size": 4096}
GROUPS = {"surface_anchors": 4096, "surface_queries": 65536, "volume_anchors": 4096, "volume_queries": 65536}
PATTERNS = [
    {"query_tokens": ["surface_anchors", "surface_queries"], "key_value_tokens": ["surface_anchors"]},
    {"query_tokens": ["volume_anchors", "volume_queries"], "key_value_tokens": ["volume_anchors"]},
]
LAYOUT = {"attention": ATTENTION, "tokens": [{k: v} for k, v in GROUPS.items()], "patterns": PATTERNS}
PYD_LAYOUT = {
    "attention": ATTENTION,
    "tokens": [{"name": k, "size": v} for k, v in GROUPS.items()],
    "patterns": PATTERNS,
}
INVALID = {"hidden_dim": 192.5, "num_heads": 3, "dropout": 2.0, "num_slices": 64}


def fails(load, data) -> int:
    try:
        load(data)
    except (ValidationError, ValueError) as exc:
        return exc.error_count()  # type: ignore[attr-defined]
    raise AssertionError("invalid input accepted")


def cold_import_ratio(rounds: int = 15) -> tuple[float, bool]:
    noether_code = textwrap.dedent(
        """
        import sys
        import noether.core.schemas.modules as m
        m.AttentionConfig.from_dict({"hidden_dim": 192, "num_heads": 3, "num_slices": 64})
        sys.exit(3 if "torch" in sys.modules else 0)
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "pyd_models.py").write_text(PYDANTIC_MODELS)
        # Bytecode on both sides, as `pip install` leaves it: where PYTHONDONTWRITEBYTECODE is set (this machine),
        # an editable checkout would otherwise compile noether's sources in every run (~20 ms) and pydantic's not.
        for directory in (Path(noether.__file__).parent, Path(tmp)):
            compileall.compile_dir(directory, quiet=1)
        pyd_code = textwrap.dedent(
            """
            import pyd_models
            pyd_models.PydAttentionConfig.model_validate({"hidden_dim": 192, "num_heads": 3, "num_slices": 64})
            """
        )
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, *sys.path])}

        def run(code: str) -> tuple[float, int]:
            start = time.perf_counter()
            rc = subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode
            return time.perf_counter() - start, rc

        ratios, torch_free = [], True
        for i in range(rounds):
            first, second = (noether_code, pyd_code) if i % 2 else (pyd_code, noether_code)
            a, rc_a = run(first)
            b, rc_b = run(second)
            (n, rc), p = ((a, rc_a), b) if i % 2 else ((b, rc_b), a)
            torch_free &= rc == 0
            ratios.append(n / p)
        return statistics.median(ratios), torch_free


def main() -> None:
    cfg, pyd_cfg = AttentionConfig.from_dict(ATTENTION), PydAttentionConfig.model_validate(ATTENTION)
    spec, pyd_spec = TokenSpec.from_dict(TOKEN), PydTokenSpec.model_validate(PYD_TOKEN)
    layout, pyd_layout = Layout.from_dict(LAYOUT), PydLayout.model_validate(PYD_LAYOUT)
    assert cfg.num_slices == 64
    assert pyd_cfg.num_slices == 64  # type: ignore[attr-defined]
    assert fails(AttentionConfig.from_dict, INVALID) == 2 == fails(PydAttentionConfig.model_validate, INVALID)

    cases = [
        ("from_dict AttentionConfig (+1 extra)", lambda: AttentionConfig.from_dict(ATTENTION),
         lambda: PydAttentionConfig.model_validate(ATTENTION), 2.5),
        ("from_dict TokenSpec", lambda: TokenSpec.from_dict(TOKEN),
         lambda: PydTokenSpec.model_validate(PYD_TOKEN), 2.5),
        ("from_dict Enum + Path + tuple", lambda: Rich.from_dict(RICH), lambda: PydRich.model_validate(RICH), 2.5),
        ("from_dict nested layout", lambda: Layout.from_dict(LAYOUT),
         lambda: PydLayout.model_validate(PYD_LAYOUT), 2.5),
        ("to_dict AttentionConfig", lambda: cfg.to_dict(), lambda: pyd_cfg.model_dump(), 1.0),
        ("to_dict TokenSpec", lambda: spec.to_dict(), lambda: pyd_spec.model_dump(), 1.0),
        ("to_dict nested layout", lambda: layout.to_dict(), lambda: pyd_layout.model_dump(), 1.0),
        ("round trip nested layout", lambda: Layout.from_dict(layout.to_dict()),
         lambda: PydLayout.model_validate(pyd_layout.model_dump()), 2.5),
        ("invalid, 2 errors reported", lambda: fails(AttentionConfig.from_dict, INVALID),
         lambda: fails(PydAttentionConfig.model_validate, INVALID), 6.0),
    ]  # fmt: skip
    print(f"{'case':40s} {'noether':>10s} {'pydantic':>10s} {'ratio':>7s} {'target':>7s}")
    rows = []
    for name, candidate, baseline, target in cases:
        ratio, c, b = paired_ratio(candidate, baseline)
        print(f"{name:40s} {c * 1e6:8.2f}us {b * 1e6:8.2f}us {ratio:6.2f}x {target:6.2f}x {verdict(ratio, target)}")
        rows.append(
            f"| {name} | {c * 1e6:.2f} us | {b * 1e6:.2f} us | {ratio:.2f}x | <= {target}x {verdict(ratio, target)} |"
        )
    # Not a target: the same field checks on plain attrs classes, built directly, show how much of a ratio is the
    # design's floor (attrs' __init__ and the checks) and how much is the config engine around it.
    ratio, c, b = paired_ratio(lambda: floor_layout(LAYOUT), lambda: PydLayout.model_validate(PYD_LAYOUT))
    name = "floor: nested, plain attrs + checks"
    print(f"{name:40s} {c * 1e6:8.2f}us {b * 1e6:8.2f}us {ratio:6.2f}x {'-':>7s}")
    rows.append(f"| {name} | {c * 1e6:.2f} us | {b * 1e6:.2f} us | {ratio:.2f}x | (no target) |")
    ratio, torch_free = cold_import_ratio()
    print(f"{'cold import + first from_dict (process)':40s} {'':10s} {'':10s} {ratio:6.2f}x {0.6:6.2f}x "
          f"{verdict(ratio, 0.6)}  torch imported: {not torch_free}")  # fmt: skip
    rows.append(f"| cold import + first from_dict (torch imported: {not torch_free}) | | | {ratio:.2f}x "
                f"| <= 0.6x {verdict(ratio, 0.6)} |")  # fmt: skip
    record(f"Configs (Python {sys.version_info.major}.{sys.version_info.minor})",
           "python benchmarks/bench_configs.py", "| case | noether | pydantic 2 | ratio | target |", rows)  # fmt: skip


if __name__ == "__main__":
    main()
