"""Two CPU processes (gloo), started once for every case of this module: query points split across them
equal one process for every gather, a failing rank raises on every rank, and DDP's gradients agree."""

import datetime
import itertools
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from noether.modeling.distributed import check_shares, process_group, share
from noether.modeling.models import AnchoredBranchedUPT
from noether.modeling.modules import TransformerStack
from noether.modeling.streaming import stream_queries

D = 16
STACK = {
    "depth": 2,
    "block": {"hidden_dim": D, "num_heads": 2, "mlp_expansion_factor": 2, "attention_constructor": "joint_anchor",
              "attention_arguments": {"branches": ["surface", "volume"]}},
}  # fmt: skip
ANCHORS = [("surface_anchors", 5), ("volume_anchors", 4)]
AB_UPT = {
    "hidden_dim": D, "geometry_depth": 1, "physics_blocks": ["perceiver", "cross", "joint"], "num_surface_blocks": 1,
    "num_volume_blocks": 1,
    "transformer_block_config": {"hidden_dim": D, "num_heads": 2, "mlp_expansion_factor": 2, "use_rope": True},
    "supernode_pooling_config": {"hidden_dim": D, "input_dim": 3, "radius": 0.5},
    "data_specs": {"position_dim": 3, "surface_output_dims": {"pressure": 1}, "volume_output_dims": {"velocity": 3}},
}  # fmt: skip


def stack_inputs():
    g = torch.Generator().manual_seed(3)
    anchors = torch.randn(2, 9, D, generator=g)
    queries = {
        "surface_queries": torch.randn(2, 11, D, generator=g),
        "volume_queries": torch.randn(2, 6, D, generator=g),
    }
    return anchors, queries


def model_inputs():
    g = torch.Generator().manual_seed(4)
    points = torch.rand(60, 3, generator=g)
    return {
        "geometry_position": points, "geometry_supernode_idx": torch.arange(0, 60, 6),
        "geometry_batch_idx": torch.zeros(60, dtype=torch.long),
        "surface_anchor_position": torch.rand(1, 7, 3, generator=g),
        "volume_anchor_position": torch.rand(1, 6, 3, generator=g),
        "query_surface_position": torch.rand(1, 13, 3, generator=g),
        "query_volume_position": torch.rand(1, 8, 3, generator=g),
    }  # fmt: skip


def built(kind):
    torch.manual_seed(0)
    return (TransformerStack(STACK) if kind.startswith("stack") else AnchoredBranchedUPT(AB_UPT)).eval()


def run(kind, gather, fail_on=None):
    module = built(kind)
    if fail_on is not None and dist.get_rank() == fail_on:

        def out_of_memory(*_):
            raise MemoryError("out of memory on this rank")

        for layer in module.modules():
            layer.register_forward_pre_hook(out_of_memory)
    if kind == "stack":
        anchors, queries = stack_inputs()
        return stream_queries(module, anchors, ANCHORS, queries, chunk_size=3, gather=gather)
    if kind == "stack into buffers":  # the caller's buffers, indexed by whole-group positions
        anchors, queries = stack_inputs()
        out = {group: torch.full_like(points, float("nan")) for group, points in queries.items()}
        result = stream_queries(module, anchors, ANCHORS, queries, chunk_size=3, gather=gather, out=out)
        if gather == "all":
            assert all(result[group] is out[group] for group in result)
        else:  # its share: views into the caller's buffers
            storage = {group: out[group].untyped_storage().data_ptr() for group in out}
            assert all(result[group].untyped_storage().data_ptr() == storage[group] for group in result)
        return out
    if kind == "ab_upt chunks":  # where each rank's chunks lie in the whole branch
        seen = []
        module.stream(**model_inputs(), chunk_size=4, gather=gather,
                      on_chunk=lambda branch, start, out: seen.append((branch, start, out.shape[1])))  # fmt: skip
        return seen
    return module.stream(**model_inputs(), chunk_size=4, gather=gather)


DDP_SPECS = [{"surface_anchors": 4}, {"surface_queries": 6}, {"volume_anchors": 3}, {"volume_queries": 5}]
DDP_STACK = {
    "depth": 2,
    "block": {"hidden_dim": 16, "num_heads": 2, "mlp_expansion_factor": 2, "layerscale": 0.5,
              "attention_constructor": "joint_anchor", "attention_arguments": {"branches": ["surface", "volume"]}},
}  # fmt: skip


def ddp_model(case: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return TransformerStack(DDP_STACK) if case == "stack" else AnchoredBranchedUPT(AB_UPT)


def ddp_loss(module: torch.nn.Module, case: str, samples: slice) -> torch.Tensor:
    """The loss on ``samples`` of a fixed batch of 4 (each rank trains on its half)."""
    generator = torch.Generator().manual_seed(1)
    if case == "stack":
        x, target = torch.randn(4, 18, 16, generator=generator), torch.randn(4, 18, 16, generator=generator)
        return F.mse_loss(module(x[samples], token_specs=DDP_SPECS), target[samples])
    points = torch.rand(4, 30, 3, generator=generator)[samples]
    batch = points.shape[0]
    geometry = (points.flatten(0, 1), torch.arange(0, batch * 30, 3), torch.arange(batch).repeat_interleave(30))
    anchors = [torch.rand(4, n, 3, generator=generator)[samples] for n in (8, 6, 5, 7)]
    out = module(*geometry, anchors[0], anchors[1], query_surface_position=anchors[2], query_volume_position=anchors[3])
    return sum(value.square().mean() for value in out.values())


def gradients(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()])


def worker(rank, world, port, path):
    with process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                       timeout=datetime.timedelta(seconds=60)):  # fmt: skip
        for case in CASES:
            what, kind, gather = case
            try:
                if what == "ddp":
                    module = torch.nn.parallel.DistributedDataParallel(ddp_model(kind))
                    ddp_loss(module, kind, slice(rank * 2, rank * 2 + 2)).backward()
                    result = gradients(module.module)
                else:
                    result = run(kind, gather, fail_on=1 if what == "fail" else None)
            except Exception as exc:
                result = f"{type(exc).__name__}: {exc}"
            torch.save(result, f"{path}/{'-'.join(case).replace(' ', '_')}.rank{rank}.pt")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


GATHERS = ("all", "rank0", "none")
CASES = [
    *[("stream", kind, gather) for kind in ("stack", "ab_upt") for gather in GATHERS],
    *[("stream", "stack into buffers", gather) for gather in ("all", "none")],
    ("stream", "ab_upt chunks", "none"),
    *[("ddp", case, "") for case in ("stack", "ab_upt")],
    ("fail", "stack", "all"),  # last: the others need the group as it was
]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Every case on two ranks, in one process group: starting processes that import torch is the slow part."""
    path = tmp_path_factory.mktemp("ranks")
    mp.spawn(worker, args=(2, free_port(), str(path)), nprocs=2, join=True)

    def results(*case):
        name = "-".join(case).replace(" ", "_")
        return [torch.load(path / f"{name}.rank{r}.pt", weights_only=False) for r in range(2)]

    return results


def one_process(kind):
    with torch.no_grad():
        if kind.startswith("stack"):
            anchors, queries = stack_inputs()
            return stream_queries(built(kind), anchors, ANCHORS, queries, chunk_size=3)
        return built(kind).stream(**model_inputs(), chunk_size=4)


def test_shares_are_contiguous_and_cover_every_point():
    assert [share(11, r, 2) for r in range(2)] == [(0, 6), (6, 11)]
    assert [share(10, r, 3) for r in range(3)] == [(0, 4), (4, 7), (7, 10)]
    with pytest.raises(ValueError, match=r"query groups \{'volume_queries': 1\} have fewer points than the 2 ranks"):
        check_shares("stream_queries", {"surface_queries": 5, "volume_queries": 1}, 2)


def test_process_group_yields_rank_and_world_and_ends_the_group_on_success_and_on_error(tmp_path):
    options = {"rank": 0, "world_size": 1}
    with process_group("gloo", init_method=f"file://{tmp_path}/one", **options) as ranks:
        assert ranks == (0, 1)
        assert dist.is_initialized()
    assert not dist.is_initialized()
    with (
        pytest.raises(MemoryError, match="on this rank"),
        process_group("gloo", init_method=f"file://{tmp_path}/two", **options),
    ):
        raise MemoryError("on this rank")
    assert not dist.is_initialized()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["stack", "ab_upt"])
def test_split_streaming_equals_one_process_for_every_gather(two_ranks, kind):
    expected = one_process(kind)
    for gather in GATHERS:
        rank0, rank1 = two_ranks("stream", kind, gather)
        assert isinstance(rank0, dict), rank0
        assert isinstance(rank1, dict), rank1
        for name, value in expected.items():
            query = name.startswith("query_") or name.endswith("_queries")
            if gather == "none" and query:  # each rank: its share of a query group
                first, second = share(value.shape[1], 0, 2), share(value.shape[1], 1, 2)
                torch.testing.assert_close(rank0[name], value[:, slice(*first)], atol=1e-5, rtol=1e-4)
                torch.testing.assert_close(rank1[name], value[:, slice(*second)], atol=1e-5, rtol=1e-4)
                continue
            torch.testing.assert_close(rank0[name], value, atol=1e-5, rtol=1e-4)
            if gather == "all" or not query:
                torch.testing.assert_close(rank1[name], value, atol=1e-5, rtol=1e-4)
            else:
                assert name not in rank1  # rank0 gathers: the others keep nothing of the queries
        assert set(rank0) == set(expected)


@pytest.mark.slow
def test_on_chunk_sees_positions_in_the_whole_branch(two_ranks):
    rank0, rank1 = two_ranks("stream", "ab_upt chunks", "none")
    points = {"surface": 13, "volume": 8}  # split 7 + 6 and 4 + 4
    for branch, total in points.items():
        chunks = sorted((start, size) for b, start, size in rank0 + rank1 if b == branch)
        assert [start for start, _ in chunks] == list(itertools.accumulate([0, *(size for _, size in chunks[:-1])]))
        assert sum(size for _, size in chunks) == total
    assert min(start for b, start, _ in rank1 if b == "surface") == 7


@pytest.mark.slow
def test_a_failing_rank_raises_on_every_rank_instead_of_hanging(two_ranks):
    rank0, rank1 = two_ranks("fail", "stack", "all")
    message = "RuntimeError: stream_queries failed on rank 1 of 2: rank 1: MemoryError: out of memory on this rank"
    assert rank0 == message
    assert rank1 == message


@pytest.mark.slow
def test_cli_run_under_torchrun_equals_one_process(tmp_path):
    example = (Path(__file__).parents[2] / "examples" / "ab_upt.yaml").read_text()
    smaller = [("hidden_dim: 192", "hidden_dim: 32"), ("num_heads: 3", "num_heads: 2"),
               ("geometry: 16384", "geometry: 512"), ("supernodes: 2048", "supernodes: 64"),
               ("_anchors: 4096", "_anchors: 64"), ("surface_queries: 500000", "surface_queries: 1001"),
               ("volume_queries: 500000", "volume_queries: 999"), ("chunk_size: 4096", "chunk_size: 256")]  # fmt: skip
    for old, new in smaller:
        assert old in example
        example = example.replace(old, new)
    (tmp_path / "small.yaml").write_text(example)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cli = ["-m", "noether", "run", "small.yaml", "--no-progress"]
    subprocess.run([sys.executable, *cli, "--output", "one.npz"], cwd=tmp_path, check=True, env=env)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    two = subprocess.run(
        [*torchrun, *cli, "--output", "two.npz"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("throughput") == 1  # rank 0 reports
    assert "processes           2 (torchrun, gloo), 1 thread each" in two.stdout
    subprocess.run([*torchrun, *cli, "--output", "part{rank}.npz"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)  # fmt: skip
    one, two_ = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    parts = [np.load(tmp_path / f"part{r}.npz") for r in range(2)]
    assert sorted(one) == sorted(two_) == sorted(parts[0])
    for name in one:
        np.testing.assert_allclose(two_[name], one[name], atol=1e-5, rtol=1e-4)
        joined = np.concatenate([p[name] for p in parts], axis=1) if name.startswith("query_") else parts[1][name]
        np.testing.assert_allclose(joined, one[name], atol=1e-5, rtol=1e-4)
    unstreamed = example.replace("run:\n  chunk_size: 256", "run:\n  batch_size: 1")
    (tmp_path / "unstreamed.yaml").write_text(unstreamed)
    refused = subprocess.run([*torchrun, "-m", "noether", "run", "unstreamed.yaml"], cwd=tmp_path, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert refused.returncode != 0
    assert "2 processes split the query points of a streamed run; set run.chunk_size" in refused.stderr


@pytest.mark.slow
def test_split_streaming_fills_the_callers_buffers(two_ranks):
    expected = one_process("stack")
    rank0, rank1 = two_ranks("stream", "stack into buffers", "all")
    for name, value in expected.items():
        torch.testing.assert_close(rank0[name], value, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(rank1[name], value, atol=1e-5, rtol=1e-4)
    rank0, rank1 = two_ranks("stream", "stack into buffers", "none")
    for name, value in expected.items():  # each rank filled its share; the rest is untouched
        first = slice(*share(value.shape[1], 0, 2))
        torch.testing.assert_close(rank0[name][:, first], value[:, first], atol=1e-5, rtol=1e-4)
        assert rank0[name][:, first.stop :].isnan().all()
        assert rank1[name][:, : first.stop].isnan().all()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["stack", "ab_upt"])
def test_ddp_gradients_agree_across_ranks_and_with_one_process(two_ranks, case):
    rank0, rank1 = two_ranks("ddp", case, "")
    torch.testing.assert_close(rank0, rank1)
    single = ddp_model(case)
    ddp_loss(single, case, slice(0, 4)).backward()
    torch.testing.assert_close(rank0, gradients(single), atol=1e-5, rtol=1e-4)
    assert rank0.abs().sum() > 0
