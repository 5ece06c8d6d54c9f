"""The CLI parts that need no torch: list, info, check, and error handling."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from noether.cli import main

EXAMPLES = Path(__file__).parents[2] / "examples"


SCRIPT = Path(sys.executable).with_name("noether-attention")  # the installed entry point


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "noether"]
    return subprocess.run([*command, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_list_imports_neither_torch_nor_plugins(site):
    site.plugin("wing-attention", "wing", "wing_attention", version="2.0")
    code = (
        "import sys; from noether.cli import main; main(['list', '--json']); "
        "print(sorted(m for m in sys.modules if m in ('torch', 'pluggy', 'attrs', 'cattrs') or m.startswith('wing')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**__import__("os").environ, "PYTHONPATH": str(site.root)},
    ).stdout  # fmt: skip
    listing, imported = out.rsplit("\n", 2)[0], out.rsplit("\n", 2)[1]
    assert imported == "[]"
    rows = {r["name"]: r for r in json.loads(listing)}
    assert rows["wing"]["source"] == "wing-attention"
    assert rows["wing"]["version"] == "2.0"
    assert rows["joint_anchor"]["status"] == "ok"


def test_list_table(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "SOURCE", "CONFIG", "STATUS"]
    assert any(line.startswith("joint_anchor") and line.endswith("ok") for line in out)


def test_info(capsys):
    assert main(["info", "perceiver"]) == 0
    out = capsys.readouterr().out
    assert "perceiver: noether.modeling.modules.attention.perceiver.config.PerceiverAttentionConfig" in out
    assert "Unknown keys are rejected." in out
    kv = next(line for line in out.splitlines() if line.startswith("kv_dim"))
    assert kv.split()[:4] == ["kv_dim", "int", "|", "None"]
    assert "Width of the key/value input" in kv
    hidden = next(line for line in out.splitlines() if line.startswith("hidden_dim"))
    assert "(required)" in hidden
    assert hidden.endswith(">= 1")
    assert next(line for line in out.splitlines() if line.startswith("head_dim")).endswith("(derived)")
    assert main(["info", "joint_anchor"]) == 0
    branches = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("branches"))
    assert branches.endswith("Branch (domain) names. at least 2 items")  # the rule as validation applies it


def test_check_examples():
    result = cli("check", *map(str, sorted(EXAMPLES.iterdir())))
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(line.endswith(": ok") for line in result.stdout.splitlines())


def test_check_reports_every_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "attention: joint_anchor\nhidden_dim: 64.5\nnum_heads: 'three'\nbranches: surface\nwindow: 3\n"
        "tokens:\n  - surface_anchors: -1\n  - {a: 1, b: 2}\nrun:\n  chunk_size: 0\n"
    )
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"attention": "join_anchor", "hidden_dim": 8}')
    good = tmp_path / "good.toml"
    good.write_text('attention = "dot_product"\nhidden_dim = 8\nnum_heads = 2\n')
    result = cli("check", str(bad), str(unknown), str(good))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:7] == [
        f"{bad}: hidden_dim: Input should be a valid integer, got 64.5",
        f"{bad}: num_heads: Input should be a valid integer, got 'three'",
        f"{bad}: branches: Input should be a valid list (a bare string is not a list of names), got 'surface'",
        f"{bad}: window: Extra inputs are not permitted",
        f"{bad}: tokens.0.surface_anchors: Input should be greater than or equal to 0",
        f"{bad}: tokens.1: A token group is a single {{name: size}} pair such as "
        "{'surface_anchors': 100}, or {'name': ..., 'size': ...}, got 2 keys",
        f"{bad}: run.chunk_size: Input should be greater than or equal to 1",
    ]
    assert lines[7].startswith(f"{unknown}: attention: unknown attention 'join_anchor'. Did you mean 'joint_anchor'")
    assert lines[8] == f"{good}: ok"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.yaml", "attention: [unclosed", "not valid YAML"),
        ("x.txt", "", "unsupported file type .txt"),
        ("x.yaml", "- a\n- b\n", "(root): the file should hold a mapping of options, got list"),
        ("x.yaml", "hidden_dim: 8\n", "(root): missing 'attention: <name>'"),
        ("x.yaml", "!!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ],
)
def test_check_file_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    result = cli("check", str(path))
    assert result.returncode == 1
    assert message in result.stdout


def test_errors_are_one_line_unless_debug(tmp_path):
    result = cli("info", "nope")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("noether-attention info: error: unknown attention 'nope'.")
    debug = cli("--debug", "info", "nope")
    assert "Traceback" in debug.stderr
    assert "UnknownAttentionError" in debug.stderr
    missing = cli("check", str(tmp_path / "absent.yaml"))
    assert missing.returncode == 1
    assert "No such file or directory" in missing.stdout


def test_check_block_stack_files(tmp_path):
    bad = tmp_path / "stack.yaml"
    bad.write_text(
        "model: transformer_stack\ndepth: 0\nblock:\n  hidden_dim: 16\n  num_heads: 2\n  mlp_expansion_factor: 2\n"
        "  attention_constructor: joint_anchor\n  attention_arguments: {branches: [surface], window: 3}\n"
    )
    result = cli("check", str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [  # every problem in one pass: the stack's and its attention's
        f"{bad}: depth: Input should be greater than or equal to 1",
        f"{bad}: block.attention_arguments.branches: Input should have at least 2 items, not 1",
        f"{bad}: block.attention_arguments.window: Extra inputs are not permitted",
    ]
    bad.write_text(bad.read_text().replace("depth: 0", "depth: 2").replace(", window: 3", ""))
    assert cli("check", str(bad)).stdout.splitlines() == [
        f"{bad}: block.attention_arguments.branches: Input should have at least 2 items, not 1"
    ]
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("model: resnet\ndepth: 1\nblock: {hidden_dim: 8, num_heads: 2, mlp_hidden_dim: 16}\n")
    assert cli("check", str(unknown)).stdout.splitlines() == [
        f"{unknown}: model: unknown model 'resnet'; known: transformer_stack, ab_upt"
    ]


def test_doctor_reports_a_config_that_needs_torch(site, capsys):
    from noether.cli import main

    needs_torch = "import torch\n" + site.config_source("heavy", "heavy_attention")
    site.plugin("heavy-attention", "heavy", "heavy_attention", config_source=needs_torch)
    site.plugin("wing-attention", "wing", "wing_attention")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "heavy-attention 0.1.0"
    assert out[1] == "  heavy (heavy_attention.config:HeavyAttentionConfig): broken"
    assert out[2].startswith("    config imports without torch: broken: ")
    assert "wing-attention 0.1.0" in out
    assert "  wing (wing_attention.config:WingAttentionConfig): ok" in out


class TestNewUser:
    """What a new user meets first: help, version, messages, and files written by someone else."""

    def test_version_and_help(self):
        from noether import __version__

        assert cli("--version").stdout == f"noether-attention {__version__}\n"
        help_text = cli("bench", "--help").stdout
        assert "(default: 4096)" in help_text
        assert "(default: 3)" in help_text
        assert "``" not in cli("--help").stdout + help_text

    def test_debug_after_the_subcommand(self, tmp_path):
        missing = tmp_path / "missing.yaml"
        result = cli("run", str(missing), "--debug")
        assert result.returncode == 1
        assert "Traceback" in result.stderr

    @pytest.mark.parametrize(("option", "value"), [("--repeats", "0"), ("--tokens", "-5")])
    def test_bad_numbers_fail_before_any_work(self, option, value):
        result = cli("bench", "dot_product", option, value)
        assert result.returncode == 2
        assert f"argument {option}: expected a number >= 1, got {value}" in result.stderr

    def test_yaml_error_names_file_line_and_shows_the_excerpt(self, tmp_path):
        bad = tmp_path / "bad.yaml"
        bad.write_text("attention: dot_product\nhidden_dim: [8\nnum_heads: 2\n")
        good = tmp_path / "good.yaml"
        good.write_text("attention: dot_product\nhidden_dim: 8\nnum_heads: 2\n")
        result = cli("check", str(bad), str(good))
        lines = result.stdout.splitlines()
        assert result.returncode == 1
        assert lines[0].startswith(f"{bad}: line 3, column 10: not valid YAML: ")
        assert "num_heads: 2" in lines[1]
        assert lines[2].strip() == "^"
        assert lines[-1] == f"{good}: ok"

    def test_alias_bomb_is_refused_quickly(self, tmp_path):
        levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]  # 9**9 values when expanded
        bomb = tmp_path / "bomb.yaml"
        bomb.write_text("\n".join(levels) + "\nattention: *a8\n")
        result = cli("check", str(bomb))  # its time: benchmarks/bench_files.py
        assert result.returncode == 1
        assert result.stdout == (
            f"{bomb}: the document expands to more than 100,000 values or nests deeper than 64 levels "
            "(YAML aliases count every time they are used)\n"
        )

    def test_deep_and_large_files_are_refused(self, tmp_path):
        deep = tmp_path / "deep.json"
        deep.write_text('{"attention": ' + "[" * 80 + "]" * 80 + "}")
        large = tmp_path / "large.yaml"
        large.write_text("# " + "x" * (5 * 2**20) + "\n")
        lines = cli("check", str(deep), str(large)).stdout.splitlines()
        assert lines[0].startswith(f"{deep}: the document expands to more than 100,000 values or nests deeper than 64")
        assert lines[1] == f"{large}: {large.stat().st_size:,} bytes; config files are limited to 4,194,304"

    def test_check_rejects_what_run_rejects(self, tmp_path):
        orphan = tmp_path / "orphan.yaml"
        orphan.write_text(
            "attention: joint_anchor\nhidden_dim: 8\nnum_heads: 2\nbranches: [surface, volume]\n"
            "tokens:\n  - surface_anchors: 4\n  - volume_anchors: 4\n  - wheel_queries: 8\n"
        )
        torchs = tmp_path / "torchs.yaml"
        torchs.write_text("attention: dot_product\nhidden_dim: 8\nnum_heads: 2\ninit_weights: torchs\n")
        typo = tmp_path / "typo.yaml"
        typo.write_text("attention: dot_product\nhidden_dim: 8\nnum_head: 2\n")
        lines = cli("check", str(orphan), str(torchs), str(typo)).stdout.splitlines()
        assert lines[0] == (
            f"{orphan}: tokens: JointAnchorAttentionConfig: token groups ['wheel_queries'] belong to no branch of "
            "['surface', 'volume'] (a group of branch b is named 'b_...')"
        )
        assert lines[1] == (
            f"{torchs}: init_weights: Input should be 'truncnormal002', 'torch', 'truncnormal', "
            "'truncnormal002-identity' or 'zeros'"
        )
        assert f"{typo}: num_head: Extra inputs are not permitted. Did you mean 'num_heads'?" in lines

    def test_closed_pipe_exits_quietly(self, tmp_path):
        (tmp_path / "g.json").write_text('{"attention": "dot_product", "hidden_dim": 8, "num_heads": 2}')
        script = SCRIPT if SCRIPT.exists() else f"{sys.executable} -m noether"
        command = f"{script} check {' '.join(['g.json'] * 8000)} | head -1"  # more output than a pipe holds
        result = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=tmp_path)
        assert result.stdout == "g.json: ok\n"
        assert result.stderr == ""

    def test_info_on_a_blocked_plugin_says_by_what(self, site):
        site.plugin("wing-attention", "wing", "wing_attention")
        result = cli("info", "wing", env={"PYTHONPATH": str(site.root), "NOETHER_PLUGINS": "other-dist"})
        assert result.returncode == 1
        assert result.stderr == (
            "noether-attention info: error: attention 'wing' is provided by wing-attention, "
            "which NOETHER_PLUGINS=other-dist blocks\n"
        )

    def test_tables_fit_a_width(self):
        from noether.cli.table import table

        text = table(("NAME", "TYPE"), [("x", "Literal['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']")], width=30)
        assert max(map(len, text.splitlines())) <= 30
        assert text.splitlines()[2].endswith("...")
