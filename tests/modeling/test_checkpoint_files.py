"""Checkpoint files: 1.x's trainer layout loads into the model it came from; ours is that layout; bad files
give one clear error each."""

import pytest
import torch
from test_ab_upt import config, inputs

from noether.modeling import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.modules import DotProductAttention

KIND_1X = "noether.core.schemas.models.ab_upt.AnchorBranchedUPTConfig"


def write_1x(path, model, **changes):
    """A checkpoint as 1.x's CheckpointWriter.save_model_checkpoint writes it (not through our save_checkpoint)."""
    data = {
        "state_dict": model.state_dict(),
        "checkpoint_tag": "E10_U200_S800",
        "training_iteration": {"epoch": 10, "update": 200, "sample": 800},
        "run_id": "abc123",
        "model_config": {**model.config.model_dump(), "kind": "noether.modeling.models.AnchoredBranchedUPT",
                         "name": "ab_upt"},
        "config_kind": KIND_1X,
        **changes,
    }  # fmt: skip
    torch.save(data, path)
    return path


@pytest.fixture
def model():
    return AnchoredBranchedUPT(config(conditioning={"velocity": 1})).eval()


def test_a_1x_checkpoint_loads_and_equals_the_model_it_came_from(tmp_path, model):
    path = write_1x(tmp_path / "ab_upt_cp=E10_U200_S800_model.th", model)
    for loaded in (load_checkpoint(path), AnchoredBranchedUPT.from_checkpoint(path)):
        assert type(loaded) is AnchoredBranchedUPT
        assert not loaded.training
        assert loaded.state_dict().keys() == model.state_dict().keys()
        for name, value in model.state_dict().items():
            assert torch.equal(loaded.state_dict()[name], value), name
        batch = inputs(conditioned=False)
        batch["inflow_design_parameters"] = torch.rand(2, 1)
        with torch.no_grad():
            expected, got = model(**batch), loaded(**batch)
        assert expected.keys() == got.keys()
        for name in expected:
            assert torch.equal(expected[name], got[name]), name
    checkpoint = read_checkpoint(path)
    assert (checkpoint.config_kind, checkpoint.metadata["run_id"], checkpoint.metadata["training_iteration"]) == (
        KIND_1X, "abc123", {"epoch": 10, "update": 200, "sample": 800},
    )  # fmt: skip


def test_ours_is_the_1x_layout_and_round_trips(tmp_path, model):
    path = model.save_checkpoint(tmp_path / "ours_model.th", checkpoint_tag="E1", run_id="r1")
    raw = torch.load(path, weights_only=True)
    assert sorted(raw) == sorted(["state_dict", "model_config", "config_kind", "checkpoint_tag",
                                  "training_iteration", "run_id"])  # fmt: skip
    assert (raw["config_kind"], raw["checkpoint_tag"], raw["run_id"], raw["training_iteration"]) == (
        KIND_1X, "E1", "r1", {},
    )  # fmt: skip
    assert raw["model_config"] == model.config.to_dict()
    again = AnchoredBranchedUPT.from_checkpoint(path)
    assert again.config == model.config
    assert all(torch.equal(again.state_dict()[k], v) for k, v in model.state_dict().items())


def test_map_location_builds_the_model_there(tmp_path, model):
    path = save_checkpoint(model, tmp_path / "m.th")
    loaded = AnchoredBranchedUPT.from_checkpoint(path, map_location="cpu")
    assert {p.device.type for p in loaded.parameters()} == {"cpu"}


def attention_checkpoint(path):
    """A 1.x checkpoint of a module rather than a model: its kind picks the class."""
    attention = DotProductAttention({"hidden_dim": 8, "num_heads": 2}).eval()
    torch.save({"state_dict": attention.state_dict(), "model_config": {"hidden_dim": 8, "num_heads": 2},
                "config_kind": "noether.core.schemas.modules.attention.DotProductAttentionConfig"}, path)  # fmt: skip
    return attention, path


def test_the_kind_picks_the_class_for_modules_too(tmp_path):
    attention, path = attention_checkpoint(tmp_path / "attention.th")
    loaded = load_checkpoint(path)
    assert type(loaded) is DotProductAttention
    x = torch.rand(1, 5, 8)
    assert torch.equal(loaded(x), attention(x))
    with pytest.raises(TypeError, match="DotProductAttention has no noether config"):
        save_checkpoint(loaded, tmp_path / "again.th")


def test_bad_files_name_the_file_and_the_problem(tmp_path, model):
    not_torch = tmp_path / "notes.th"
    not_torch.write_text("hello")
    bare = tmp_path / "bare.th"
    torch.save(model.state_dict(), bare)
    unknown = write_1x(tmp_path / "unknown.th", model, config_kind=KIND_1X[:-2] + "g")  # a typo: ...UPTConfg
    missing = write_1x(tmp_path / "missing.th", model, state_dict={k: v for k, v in model.state_dict().items()
                                                                  if not k.startswith("surface_decoder.")})  # fmt: skip
    extra = write_1x(tmp_path / "extra.th", model, state_dict={**model.state_dict(), "stray.weight": torch.zeros(1)})
    broken = write_1x(tmp_path / "broken.th", model, model_config={**model.config.to_dict(), "hidden_dim": -1})
    cases = [
        (tmp_path / "absent.th", "absent.th: no such checkpoint file"),
        (not_torch, "notes.th is not a checkpoint torch can load safely"),
        (bare, "bare.th holds only weights (a bare state dict): a model checkpoint has 'state_dict', 'model_config'"),
        (unknown, "unknown config_kind 'noether.core.schemas.models.ab_upt.AnchorBranchedUPTConfg'; did you mean "
                  "'noether.core.schemas.models.ab_upt.AnchorBranchedUPTConfig'"),
        (missing, "the state dict does not fit AnchoredBranchedUPT: 2 missing (surface_decoder.project.weight, "
                  "surface_decoder.project.bias) keys"),
        (extra, "the state dict does not fit AnchoredBranchedUPT: 1 unexpected (stray.weight) keys"),
        (broken, "its model_config is not a valid AnchorBranchedUPTConfig: hidden_dim: Input should be greater than"),
    ]  # fmt: skip
    for path, message in cases:
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(path)
        assert message in str(caught.value)
        assert str(path.name) in str(caught.value)
    _, attention = attention_checkpoint(tmp_path / "attention.th")
    with pytest.raises(
        CheckpointError, match=r"attention\.th holds DotProductAttention weights, not AnchoredBranchedUPT's"
    ):
        AnchoredBranchedUPT.from_checkpoint(attention)
