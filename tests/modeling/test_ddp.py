"""A block stack trains under DistributedDataParallel (gloo, 2 CPU processes)."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from noether.modeling.modules import TransformerStack

SPECS = [{"surface_anchors": 4}, {"surface_queries": 6}, {"volume_anchors": 3}, {"volume_queries": 5}]
CONFIG = {
    "depth": 2,
    "block": {"hidden_dim": 16, "num_heads": 2, "mlp_expansion_factor": 2, "layerscale": 0.5,
              "attention_constructor": "joint_anchor", "attention_arguments": {"branches": ["surface", "volume"]}},
}  # fmt: skip


def data():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(4, 18, 16, generator=generator), torch.randn(4, 18, 16, generator=generator)


def model():
    torch.manual_seed(0)
    return TransformerStack(CONFIG)


def gradients(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def worker(rank: int, world: int, port: int, path: str) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(model())
        x, target = data()
        rows = slice(rank * 2, rank * 2 + 2)
        loss = torch.nn.functional.mse_loss(ddp(x[rows], SPECS), target[rows])
        loss.backward()
        torch.save(gradients(ddp.module), f"{path}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_gradients_agree_across_ranks_and_with_one_process(tmp_path):
    mp.spawn(worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    torch.testing.assert_close(rank0, rank1)
    single = model()
    x, target = data()
    torch.nn.functional.mse_loss(single(x, SPECS), target).backward()
    torch.testing.assert_close(rank0, gradients(single), atol=1e-5, rtol=1e-4)
    assert rank0.abs().sum() > 0
