"""Every built-in component in one table: its classes, where they live, its attention name.

The registry's built-ins, the back-compat namespace ``noether.core.schemas.modules``
and the lazy exports of ``noether.modeling.modules`` and its packages are derived
from it. Importing it imports nothing else.
"""

from typing import NamedTuple

MODULES = "noether.modeling.modules"
MODELS = "noether.modeling.models"


class Component(NamedTuple):
    """A module class and its config class, both in ``<root>.<package>`` (root: modules or models)."""

    module: str
    config: str
    package: str
    attention: str | None = None  # the registry name, for built-in attention implementations
    root: str = MODULES

    @property
    def module_path(self) -> str:
        return f"{self.root}.{self.package}.module:{self.module}"

    @property
    def config_path(self) -> str:
        return f"{self.root}.{self.package}.config:{self.config}"


COMPONENTS: tuple[Component, ...] = (
    Component("DotProductAttention", "DotProductAttentionConfig", "attention.dot_product", "dot_product"),
    Component("PerceiverAttention", "PerceiverAttentionConfig", "attention.perceiver", "perceiver"),
    Component("TransolverAttention", "TransolverAttentionConfig", "attention.transolver", "transolver"),
    Component(
        "TransolverPlusPlusAttention",
        "TransolverPlusPlusAttentionConfig",
        "attention.transolver_plusplus",
        "transolver_plusplus",
    ),
    Component("MixedAttention", "MixedAttentionConfig", "attention.mixed", "mixed"),
    Component("MultiBranchAnchorAttention", "MultiBranchAnchorAttentionConfig", "attention.anchor"),
    Component("SelfAnchorAttention", "MultiBranchAnchorAttentionConfig", "attention.anchor", "self_anchor"),
    Component("CrossAnchorAttention", "CrossAnchorAttentionConfig", "attention.anchor", "cross_anchor"),
    Component("JointAnchorAttention", "JointAnchorAttentionConfig", "attention.anchor", "joint_anchor"),
    Component("LinearProjection", "LinearProjectionConfig", "layers.linear_projection"),
    Component("RopeFrequency", "RopeFrequencyConfig", "layers.rope_frequency"),
    Component("LayerScale", "LayerScaleConfig", "layers.layer_scale"),
    Component("UnquantizedDropPath", "UnquantizedDropPathConfig", "layers.drop_path"),
    Component("ContinuousSincosEmbed", "ContinuousSincosEmbeddingConfig", "layers.continuous_sincos_embed"),
    Component("MLP", "MLPConfig", "mlp.mlp"),
    Component("UpActDownMlp", "UpActDownMLPConfig", "mlp.up_act_down_mlp"),
    Component("TransformerBlock", "TransformerBlockConfig", "blocks.transformer"),
    Component("PerceiverBlock", "PerceiverBlockConfig", "blocks.perceiver"),
    Component("TransformerStack", "TransformerStackConfig", "blocks.stack"),
    Component("ScalarsConditioner", "ScalarsConditionerConfig", "layers.scalar_conditioner"),
    Component("SupernodePooling", "SupernodePoolingConfig", "encoders.supernode_pooling"),
    Component("DeepPerceiverDecoder", "DeepPerceiverDecoderConfig", "decoders.deep_perceiver"),
    Component("AnchoredBranchedUPT", "AnchorBranchedUPTConfig", "ab_upt", root=MODELS),
)

EXTRAS: dict[str, tuple[str, str]] = {
    "KVCache": ("attention", f"{MODULES}.attention.kv_cache:KVCache"),
    "MultiHeadAttentionBase": ("attention", f"{MODULES}.attention.heads:MultiHeadAttentionBase"),
    "rope": ("layers", "noether.modeling.functional.rope:rope"),
    "ATTENTION_REGISTRY": ("attention", "noether.registry.legacy:ATTENTION_REGISTRY"),
    "Activation": ("", "noether.modeling.functional.activation:Activation"),
    "TransformerBatchNorm": (
        "layers.transformer_batchnorm",
        f"{MODULES}.layers.transformer_batchnorm.module:TransformerBatchNorm",
    ),
}
"""Other public names of the modeling packages: name -> (the package exporting it, ``"module:attr"``)."""

MODEL_EXTRAS: dict[str, tuple[str, str]] = {
    name: ("ab_upt", f"{MODELS}.ab_upt.config:{name}") for name in ("AeroDataSpecs", "FieldDimSpec")
}
"""The same for ``noether.modeling.models``: the data specs the model is built for."""


def exports(package: str = "", root: str = MODULES) -> dict[str, str]:
    """Public name -> ``"module:attr"`` of every class under ``<root>.<package>`` (root: modules or models)."""

    def within(home: str) -> bool:
        return not package or home == package or home.startswith(f"{package}.")

    out: dict[str, str] = {}
    for c in COMPONENTS:
        if c.root == root and within(c.package):
            out[c.module] = c.module_path
            out[c.config] = c.config_path
    extras = EXTRAS if root == MODULES else MODEL_EXTRAS
    out.update({name: target for name, (home, target) in extras.items() if within(home)})
    return out


_ANCHOR = "noether.modeling.modules.attention.anchor.config"
_SCHEMAS = "noether.core.schemas.modules"

LEGACY: dict[str, tuple[str, ...]] = {
    f"{_SCHEMAS}.attention": (
        "DotProductAttentionConfig", "PerceiverAttentionConfig", "TransolverAttentionConfig",
        "TransolverPlusPlusAttentionConfig", "IrregularNatAttentionConfig", "MixedAttentionConfig",
        "MultiBranchAnchorAttentionConfig", "CrossAnchorAttentionConfig", "JointAnchorAttentionConfig",
    ),
    f"{_SCHEMAS}.blocks": ("TransformerBlockConfig", "PerceiverBlockConfig"),
    f"{_SCHEMAS}.mlp": ("MLPConfig", "UpActDownMLPConfig"),
    f"{_SCHEMAS}.encoders": ("SupernodePoolingConfig",),
    f"{_SCHEMAS}.decoders": ("DeepPerceiverDecoderConfig",),
    f"{_SCHEMAS}.layers": (
        "ContinuousSincosEmbeddingConfig", "UnquantizedDropPathConfig", "LayerScaleConfig",
        "LinearProjectionConfig", "RopeFrequencyConfig",
    ),
    f"{_SCHEMAS}.layers.continuous_sincos_embedding": ("ContinuousSincosEmbeddingConfig",),
    f"{_SCHEMAS}.layers.drop_path": ("UnquantizedDropPathConfig",),
    f"{_SCHEMAS}.layers.layer_scale": ("LayerScaleConfig",),
    f"{_SCHEMAS}.layers.linear_projection": ("LinearProjectionConfig",),
    f"{_SCHEMAS}.layers.rope_frequency": ("RopeFrequencyConfig",),
    f"{_SCHEMAS}.layers.scalar_conditioner": ("ScalarsConditionerConfig",),
    f"{MODULES}.activations": ("Activation",),
    f"{MODULES}.attention.anchor_attention": (
        "CrossAnchorAttention", "JointAnchorAttention", "MultiBranchAnchorAttention", "SelfAnchorAttention",
    ),
    f"{MODULES}.attention.anchor_attention.cross": ("CrossAnchorAttention",),
    f"{MODULES}.attention.anchor_attention.joint": ("JointAnchorAttention",),
    f"{MODULES}.attention.anchor_attention.self_anchor": ("SelfAnchorAttention",),
    f"{MODULES}.attention.anchor_attention.mixed": ("MixedAttention", "rope"),  # 1.x imported rope here: tests patch it
    f"{MODULES}.attention.anchor_attention.multi_branch": (
        "MultiBranchAnchorAttention", "MissingBranchTokensError", "MissingAnchorTokenError", "UnexpectedTokenError",
    ),
    f"{MODULES}.mlp.upactdown_mlp": ("UpActDownMlp",),
    "noether.core.schemas.models": ("AnchorBranchedUPTConfig",),
    "noether.core.schemas.models.ab_upt": ("AnchorBranchedUPTConfig",),
    "noether.core.schemas.dataset": ("AeroDataSpecs", "FieldDimSpec"),
}  # fmt: skip
"""emmiai-noether 1.x module path -> the public names it had; those modules re-export them from here."""

_LEGACY_ONLY = {
    "IrregularNatAttentionConfig": "noether.modeling.modules.attention.irregular_nat:IrregularNatAttentionConfig",
    **{
        name: f"{_ANCHOR}:{name}"
        for name in ("MissingBranchTokensError", "MissingAnchorTokenError", "UnexpectedTokenError")
    },
}


def legacy_exports(module: str) -> dict[str, str]:
    """Name -> ``"module:attr"`` of what the emmiai-noether 1.x module ``module`` exported."""
    known = {**exports(), **exports(root=MODELS), **_LEGACY_ONLY}
    return {name: known[name] for name in LEGACY[module]}


def config_paths() -> dict[str, str]:
    """Config class name -> ``"module:attr"`` of the modules: what the back-compat namespace re-exports."""
    return {c.config: c.config_path for c in COMPONENTS if c.root == MODULES}


def builtin_attention() -> dict[str, tuple[str, str]]:
    """Registry name -> (module class path, config class path) of the built-in attention implementations."""
    return {c.attention: (c.module_path, c.config_path) for c in COMPONENTS if c.attention}
