"""AB-UPT: outputs named like 1.x, streamed queries equal the one-shot forward, config rules."""

import pytest
import torch

from noether.core.schemas import ValidationError
from noether.modeling.models import AnchorBranchedUPTConfig, AnchoredBranchedUPT

H = 16


def config(physics=("perceiver", "shared", "cross", "joint"), conditioning=None, **overrides):
    return {
        "hidden_dim": H, "geometry_depth": 1, "physics_blocks": list(physics), "num_surface_blocks": 1,
        "num_volume_blocks": 2,
        "transformer_block_config": {"hidden_dim": H, "num_heads": 2, "mlp_expansion_factor": 2, "use_rope": True},
        "supernode_pooling_config": {"hidden_dim": H, "input_dim": 3, "radius": 0.4},
        "data_specs": {"position_dim": 3, "surface_output_dims": {"pressure": 1, "wallshearstress": 3},
                       "volume_output_dims": {"velocity": 3, "pressure": 1}, "conditioning_dims": conditioning},
        **overrides,
    }  # fmt: skip


def inputs(batch=2, queries=(9, 13), conditioned=False):
    g = torch.Generator().manual_seed(3)
    points = 40
    out = {
        "geometry_position": torch.rand(batch * points, 3, generator=g),
        "geometry_supernode_idx": torch.cat([torch.arange(b * points, (b + 1) * points, 5) for b in range(batch)]),
        "geometry_batch_idx": torch.arange(batch).repeat_interleave(points),
        "surface_anchor_position": torch.rand(batch, 12, 3, generator=g),
        "volume_anchor_position": torch.rand(batch, 10, 3, generator=g),
        "query_surface_position": torch.rand(batch, queries[0], 3, generator=g),
        "query_volume_position": torch.rand(batch, queries[1], 3, generator=g),
    }
    if conditioned:
        out["inflow_design_parameters"] = torch.rand(batch, 2, generator=g)
    return out


def modulated(model):
    """Give every modulation non-zero weights (they start at zero), so the condition matters."""
    for name, parameter in model.named_parameters():
        if "modulation" in name:
            torch.nn.init.normal_(parameter, std=0.1)
    return model


def test_outputs_are_1x_fields_at_anchors_and_queries():
    model = AnchoredBranchedUPT(config()).eval()
    out = model(**inputs())
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "surface_pressure": (2, 12, 1), "surface_wallshearstress": (2, 12, 3),
        "volume_velocity": (2, 10, 3), "volume_pressure": (2, 10, 1),
        "query_surface_pressure": (2, 9, 1), "query_surface_wallshearstress": (2, 9, 3),
        "query_volume_velocity": (2, 13, 3), "query_volume_pressure": (2, 13, 1),
    }  # fmt: skip
    anchors_only = model(**{k: v for k, v in inputs().items() if not k.startswith("query_")})
    for name, value in anchors_only.items():  # queries never change the anchors' predictions
        torch.testing.assert_close(value, out[name], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("physics", "chunk"),
    [(("perceiver", "shared", "cross", "joint"), 4), (("joint",), 1), (("perceiver", "cross"), 100)],
)
def test_streamed_queries_equal_the_one_shot_forward(physics, chunk):
    torch.manual_seed(0)
    model = modulated(AnchoredBranchedUPT(config(physics, conditioning={"velocity": 1, "yaw": 1}))).eval()
    data = inputs(conditioned=True)
    with torch.no_grad():
        full = model(**data)
    seen = []
    streamed = model.stream(
        **data, chunk_size=chunk, on_chunk=lambda branch, start, out: seen.append((branch, start, out))
    )
    assert set(streamed) == set(full)
    for name in full:
        torch.testing.assert_close(streamed[name], full[name], atol=1e-5, rtol=1e-5)
    branch, start, last = seen[-1]  # the stream_queries convention: a chunk's first position and its output
    assert (branch, start) == ("volume", 13 - last.shape[1])
    torch.testing.assert_close(last[..., 3:], full["query_volume_pressure"][:, start:], atol=1e-5, rtol=1e-5)
    assert len(seen) == -(-9 // chunk) + -(-13 // chunk)
    other = dict(data, inflow_design_parameters=data["inflow_design_parameters"] + 1)
    assert not torch.allclose(model(**other)["query_volume_velocity"], full["query_volume_velocity"])


def test_geometry_free_model_needs_no_geometry_batch():
    model = AnchoredBranchedUPT(config(("shared", "joint"))).eval()
    assert not model.use_geometry_branch
    data = dict(inputs(), geometry_batch_idx=None)
    torch.testing.assert_close(model.stream(**data, chunk_size=5), model(**data))


def test_config_rules():
    c = AnchorBranchedUPTConfig.from_dict(config(conditioning={"velocity": 1, "yaw": 2}))
    assert c.transformer_block_config.condition_dim == 3  # the conditioning scalars are the condition
    assert c.perceiver_block_config["modulation_linear_projection_config"]["output_dim"] == 8 * H
    with pytest.raises(ValidationError, match=r"supernode_pooling_config.hidden_dim \(8\) must match model hidden_dim"):
        AnchorBranchedUPTConfig.from_dict(config(supernode_pooling_config={"hidden_dim": 8, "input_dim": 3, "k": 4}))
    no_rope = dict(config()["transformer_block_config"], use_rope=False)
    with pytest.raises(ValidationError, match="AB-UPT requires RoPE"):
        AnchorBranchedUPTConfig.from_dict(config(transformer_block_config=no_rope))
    with pytest.raises(ValidationError) as caught:  # every field needs a channel: located at the field's name
        AnchorBranchedUPTConfig.from_dict(config(data_specs={"position_dim": 3, "surface_output_dims": {"p": 0}}))
    assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [
        (("data_specs", "surface_output_dims", "p"), "Input should be greater than or equal to 1")
    ]


def test_any_registered_attention_is_a_physics_block_but_only_anchor_attention_streams():
    model = AnchoredBranchedUPT(config(("perceiver", "dot_product"))).eval()
    assert model.mixing_blocks == ["dot_product"]
    assert model.physics_blocks[1].attention_block.__class__.__name__ == "DotProductAttention"
    out = model(**inputs())
    assert out["query_volume_velocity"].shape == (2, 13, 3)
    with pytest.raises(ValueError, match=r"physics blocks \['dot_product'\] are not anchor attention"):
        model.stream(**inputs(), chunk_size=4)
