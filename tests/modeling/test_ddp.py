"""A block stack and the AB-UPT model train under DistributedDataParallel (gloo, 2 CPU processes)."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.modules import TransformerStack

SPECS = [{"surface_anchors": 4}, {"surface_queries": 6}, {"volume_anchors": 3}, {"volume_queries": 5}]
CONFIG = {
    "depth": 2,
    "block": {"hidden_dim": 16, "num_heads": 2, "mlp_expansion_factor": 2, "layerscale": 0.5,
              "attention_constructor": "joint_anchor", "attention_arguments": {"branches": ["surface", "volume"]}},
}  # fmt: skip


AB_UPT = {
    "hidden_dim": 16, "geometry_depth": 1, "physics_blocks": ["perceiver", "cross", "joint"], "num_surface_blocks": 1,
    "num_volume_blocks": 1,
    "transformer_block_config": {"hidden_dim": 16, "num_heads": 2, "mlp_expansion_factor": 2, "use_rope": True},
    "supernode_pooling_config": {"hidden_dim": 16, "input_dim": 3, "radius": 0.5},
    "data_specs": {"position_dim": 3, "surface_output_dims": {"pressure": 1}, "volume_output_dims": {"velocity": 3}},
}  # fmt: skip


def model(case: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return TransformerStack(CONFIG) if case == "stack" else AnchoredBranchedUPT(AB_UPT)


def loss(module: torch.nn.Module, case: str, samples: slice) -> torch.Tensor:
    """The loss on ``samples`` of a fixed batch of 4 (each rank trains on its half)."""
    generator = torch.Generator().manual_seed(1)
    if case == "stack":
        x, target = torch.randn(4, 18, 16, generator=generator), torch.randn(4, 18, 16, generator=generator)
        return torch.nn.functional.mse_loss(module(x[samples], SPECS), target[samples])
    points = torch.rand(4, 30, 3, generator=generator)[samples]
    batch = points.shape[0]
    geometry = (points.flatten(0, 1), torch.arange(0, batch * 30, 3), torch.arange(batch).repeat_interleave(30))
    anchors = [torch.rand(4, n, 3, generator=generator)[samples] for n in (8, 6, 5, 7)]
    out = module(*geometry, anchors[0], anchors[1], query_surface_position=anchors[2], query_volume_position=anchors[3])
    return sum(value.square().mean() for value in out.values())


def gradients(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def worker(rank: int, world: int, port: int, path: str, case: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(model(case))
        loss(ddp, case, slice(rank * 2, rank * 2 + 2)).backward()
        torch.save(gradients(ddp.module), f"{path}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["stack", "ab_upt"])
def test_gradients_agree_across_ranks_and_with_one_process(tmp_path, case):
    mp.spawn(worker, args=(2, free_port(), str(tmp_path), case), nprocs=2, join=True)
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    torch.testing.assert_close(rank0, rank1)
    single = model(case)
    loss(single, case, slice(0, 4)).backward()
    torch.testing.assert_close(rank0, gradients(single), atol=1e-5, rtol=1e-4)
    assert rank0.abs().sum() > 0
