"""``noether-attention run`` and ``bench`` (need torch)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from noether.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"


def table(out: str) -> dict[str, str]:
    return {line[:20].strip(): line[20:].strip() for line in out.splitlines() if line.strip()}


def test_run_streams_anchor_attention_in_chunks(capsys):
    assert main(["run", str(EXAMPLES / "joint_anchor_attention.yaml"), "--queries", "2048", "--no-progress"]) == 0
    rows = table(capsys.readouterr().out)
    assert rows["module"] == "joint_anchor (JointAnchorAttention)"
    assert rows["tokens"] == "surface_anchors=4,096, surface_queries=2,048, volume_anchors=4,096, volume_queries=2,048"
    assert rows["mode"] == "anchors once, then queries in chunks of 16,384 (KV cache)"
    assert rows["output"] == "2 query groups, (1, 4,096, 192) in all"
    assert rows["time"].endswith(" s")
    assert rows["peak memory growth"].endswith("iB")


@pytest.mark.parametrize(
    ("example", "output"),
    [("dot_product_attention.json", "(1, 8192, 192)"), ("transolver_plusplus.toml", "(1, 32768, 192)")],
)
def test_run_one_shot_examples(capsys, example, output):
    assert main(["run", str(EXAMPLES / example), "--no-progress"]) == 0
    rows = table(capsys.readouterr().out)
    assert rows["output"] == output
    assert rows["mode"] == "one forward pass"


def test_run_mixed_and_perceiver(tmp_path, capsys):
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(
        "attention: mixed\nhidden_dim: 16\nnum_heads: 2\ntokens: [{a: 5}, {b: 3}]\n"
        "patterns:\n  - {query_tokens: [a, b], key_value_tokens: [a]}\n"
    )
    assert main(["run", str(mixed)]) == 0
    assert table(capsys.readouterr().out)["output"] == "(1, 8, 16)"
    perceiver = tmp_path / "perceiver.yaml"
    perceiver.write_text("attention: perceiver\nhidden_dim: 16\nnum_heads: 2\nkv_dim: 4\ntokens: [{q: 5}, {kv: 9}]\n")
    assert main(["run", str(perceiver)]) == 0
    assert table(capsys.readouterr().out)["output"] == "(1, 5, 16)"


def test_run_reports_every_problem_as_check_does_fixes_first(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("attention: dot_product\nhidden_dim: 8.5\nnum_head: 2\n")
    result = subprocess.run([sys.executable, "-m", "noether", "run", str(bad)], capture_output=True, text=True)
    check = subprocess.run([sys.executable, "-m", "noether", "check", str(bad)], capture_output=True, text=True)
    assert result.returncode == check.returncode == 1
    expected = [
        f"{bad}: num_head: Extra inputs are not permitted. Did you mean 'num_heads'?",
        f"{bad}: hidden_dim: Input should be a valid integer, got 8.5",
        f"{bad}: num_heads: Field required",
    ]
    assert result.stderr.splitlines() == ["noether-attention run: error: 3 problems", *expected]
    assert check.stdout.splitlines() == expected


def test_progress_bar_on_request(tmp_path):
    pytest.importorskip("tqdm", reason="the progress bar needs tqdm: pip install 'noether-attention[torch]'")
    small = tmp_path / "small.yaml"  # the example, narrowed: the test is about the bar, not the work
    small.write_text(narrowed(EXAMPLES / "joint_anchor_attention.yaml"))
    code = f"import sys; from noether.cli import main; sys.exit(main(['run', {str(small)!r}, '--queries', '2000']))"
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0
    assert "queries" not in result.stderr  # stderr is not a terminal: no bar
    from noether.modeling.streaming import progress_bar

    bar = progress_bar(10, True)
    bar.update(4)
    assert bar.n == 4
    assert not bar.disable
    bar.close()


def test_bench_table_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib: pip install 'noether-attention[plot]'")
    plot = tmp_path / "bench.png"
    args = ["bench", "dot_product", "transolver", "--tokens", "256", "--hidden-dim", "32", "--num-heads", "2",
            "--repeats", "1", "--option", "num_slices=8", "--plot", str(plot)]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "256 tokens per input, hidden 32, 2 heads, batch 1, median of 1"
    assert out[1].split() == ["IMPLEMENTATION", "TIME", "VS", "FASTEST", "OUTPUT", "TOKENS/S", "PEAK", "TENSORS"]
    assert [line.split()[0] for line in out[3:5]] == ["dot_product", "transolver"]
    assert "1.00x" in out[3] + out[4]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def bench_rows(capsys, *names, extra=()):
    args = ["bench", *names, "--tokens", "64", "--hidden-dim", "16", "--num-heads", "2", "--repeats", "1", *extra]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()[3:]
    return {line.split()[0]: line.split() for line in lines}


def test_bench_gives_every_attention_its_inputs(capsys):
    names = ("dot_product", "perceiver", "mixed", "self_anchor", "cross_anchor", "joint_anchor", "transolver",
             "transolver_plusplus")  # fmt: skip
    rows = bench_rows(capsys, *names, extra=["--option", "branches=[surface, volume]", "--option", "num_slices=4"])
    assert list(rows) == list(names)
    tokens_per_second = {name: float(row[5].replace(",", "")) for name, row in rows.items()}
    assert all(value > 0 for value in tokens_per_second.values())


def test_bench_memory_does_not_depend_on_order(capsys):
    forward = bench_rows(capsys, "dot_product", "joint_anchor", extra=["--option", "branches=[a, b]"])
    backward = bench_rows(capsys, "joint_anchor", "dot_product", extra=["--option", "branches=[a, b]"])
    assert forward["dot_product"][-2:] == backward["dot_product"][-2:]
    assert forward["joint_anchor"][-2:] == backward["joint_anchor"][-2:]


def test_bench_plot_without_matplotlib_fails_before_the_work(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    started = []
    monkeypatch.setattr("noether.registry.build_attention", lambda *a, **k: started.append(1))
    args = ["bench", "dot_product", "--plot", str(tmp_path / "x.png")]
    assert main(args) == 1
    assert capsys.readouterr().err == (
        "noether-attention bench: error: --plot needs matplotlib: pip install 'noether-attention[plot]'\n"
    )
    assert started == []


def test_run_block_stack_example(capsys):
    assert main(["run", str(EXAMPLES / "anchor_transformer.yaml"), "--queries", "1024", "--no-progress"]) == 0
    rows = table(capsys.readouterr().out)
    assert rows["model"] == "8 x TransformerBlock(joint_anchor), hidden 192, 3 heads"
    assert rows["inputs"] == "car"
    assert rows["mode"] == (
        "anchors into the KV cache layer by layer, then queries in chunks of 8,192 through all layers"
    )
    assert rows["output"] == "2 query groups, (1, 2,048, 192) in all"


def test_run_block_stack_one_shot(tmp_path, capsys):
    stack = tmp_path / "stack.yaml"
    stack.write_text(
        "model: transformer_stack\ndepth: 2\nblock: {hidden_dim: 16, num_heads: 2, mlp_hidden_dim: 32}\n"
        "tokens: [{points: 50}]\n"
    )
    assert main(["run", str(stack)]) == 0
    assert table(capsys.readouterr().out)["output"] == "(1, 50, 16)"


def test_bench_figure_reads_like_the_table():
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib: pip install 'noether-attention[plot]'")
    from noether.cli.bench import figure

    fig = figure("64 tokens per input", [("slow", 0.002, 0, 64), ("fast", 0.001, 2**20, 64)])
    time_axis, memory_axis = fig.axes
    assert fig._suptitle.get_text() == "64 tokens per input"
    assert [t.get_text() for t in time_axis.texts] == ["2.0 ms", "1.0 ms"]
    assert [t.get_text() for t in memory_axis.texts] == ["0.0 MiB", "1.0 MiB"]  # a zero is labelled, not blank
    ticks = sorted(time_axis.get_yticklabels(), key=lambda t: -t.get_position()[1])  # top first
    assert time_axis.yaxis_inverted()
    assert [t.get_text() for t in ticks][::-1] == ["slow", "fast"]


def narrowed(example: Path) -> str:
    """An example file at hidden 16, 2 heads, 64 anchors per branch."""
    text = example.read_text()
    for old, new in (("hidden_dim: 192", "hidden_dim: 16"), ("num_heads: 3", "num_heads: 2"),
                     ("_anchors: 4096", "_anchors: 64"), ("_anchors: 2048", "_anchors: 64")):  # fmt: skip
        text = text.replace(old, new)
    return text


def test_run_says_what_it_does_before_the_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    small = tmp_path / "small.yaml"  # the example, narrowed
    small.write_text(narrowed(EXAMPLES / "anchor_transformer.yaml"))
    assert main(["run", str(small), "--queries", "512"]) == 0
    err = capsys.readouterr().err
    for step in ("reading", "importing torch", "building 8 blocks", "making car inputs", "anchors into the KV cache"):
        assert step in err
    assert err.index("building 8 blocks") < err.index("anchors into the KV cache") < err.index("queries")


def small_model_file(tmp_path: Path, **run: object) -> Path:
    """The README's AB-UPT example, narrowed for a test."""
    import yaml

    data = yaml.safe_load((EXAMPLES / "ab_upt.yaml").read_text())
    data["hidden_dim"] = data["transformer_block_config"]["hidden_dim"] = 24
    data["supernode_pooling_config"]["hidden_dim"] = 24
    data["points"] = {"geometry": 300, "supernodes": 40, "surface_anchors": 30, "volume_anchors": 20,
                      "surface_queries": 50, "volume_queries": 70}  # fmt: skip
    data["run"] = {"chunk_size": 16, **run}
    path = tmp_path / "ab_upt.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_and_run_the_ab_upt_example(tmp_path, capsys):
    assert main(["check", str(EXAMPLES / "ab_upt.yaml")]) == 0
    assert capsys.readouterr().out.strip().endswith("ab_upt.yaml: ok")
    path = small_model_file(tmp_path)
    out_file = tmp_path / "predictions.npz"
    assert main(["run", str(path), "--no-progress", "--output", str(out_file)]) == 0
    rows = table(capsys.readouterr().out)
    assert rows["model"] == "AnchoredBranchedUPT, hidden 24, physics blocks perceiver, shared, cross, joint"
    assert rows["mode"] == "geometry and anchors once, then queries in chunks of 16 (KV cache)"
    assert rows["throughput"].endswith("query points/s")
    assert rows["written"] == f"{out_file} (8 fields)"
    import numpy as np

    saved = np.load(out_file)
    assert saved["query_volume_velocity"].shape == (1, 70, 3)
    assert saved["surface_wallshearstress"].shape == (1, 30, 3)


def test_streamed_run_writes_what_the_one_shot_run_writes(tmp_path, capsys):
    import torch

    streamed, one_shot = tmp_path / "streamed.pt", tmp_path / "one_shot.pt"
    assert main(["run", str(small_model_file(tmp_path)), "--no-progress", "--output", str(streamed)]) == 0
    assert (
        main(["run", str(small_model_file(tmp_path, chunk_size=None)), "--no-progress", "--output", str(one_shot)]) == 0
    )
    assert "one forward pass" in capsys.readouterr().out
    a, b = torch.load(streamed), torch.load(one_shot)
    assert set(a) == set(b)
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-5)


def test_compiled_run_writes_what_the_eager_run_writes_and_reports_the_compile(tmp_path, capsys):
    import torch

    eager, compiled = tmp_path / "eager.pt", tmp_path / "compiled.pt"
    path = str(small_model_file(tmp_path, chunk_size=35))  # 50 + 70 points: chunks of 35, 15 and 35, 35
    assert main(["run", path, "--no-progress", "--output", str(eager)]) == 0
    assert "compile" not in table(capsys.readouterr().out)
    assert main(["run", path, "--no-progress", "--compile", "eager", "--output", str(compiled)]) == 0  # dynamo only
    rows = table(capsys.readouterr().out)
    assert rows["compile"].endswith(" of it: torch.compile, once per chunk shape")
    assert rows["throughput"].endswith("query points/s (the compile left out)")
    a, b = torch.load(eager), torch.load(compiled)
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-5, rtol=1e-5)
    status = main(["run", path, "--no-progress", "--compile", "inductr"])
    assert status == 1
    assert "compile must be True, False or a torch.compile backend (" in capsys.readouterr().err


def test_model_file_problems_and_output_rules(tmp_path, capsys):
    path = small_model_file(tmp_path)
    text = (
        path.read_text()
        .replace("supernodes: 40", "supernodes: 400")
        .replace("num_volume_blocks: 2", "num_volume_blocks: 0")
    )
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "num_volume_blocks: Input should be greater than or equal to 1" in out
    assert "points.supernodes: more supernodes than geometry points (300)" in out
    path.write_text(small_model_file(tmp_path).read_text().replace("- joint", "- jiont"))
    assert main(["check", str(path)]) == 1
    expected = "physics_blocks.3: unknown physics block 'jiont': perceiver, shared, cross, joint or an attention name"
    assert f"{expected}. Did you mean 'joint'?" in capsys.readouterr().out
    assert main(["run", str(EXAMPLES / "anchor_transformer.yaml"), "--output", str(tmp_path / "x.npz")]) == 1
    assert "--output writes a model's predictions: it needs a model file (model: ab_upt)" in capsys.readouterr().err
    assert main(["run", str(small_model_file(tmp_path)), "--no-progress", "--output", str(tmp_path / "x.csv")]) == 1
    assert "write .npz or .pt" in capsys.readouterr().err
