"""What a new user meets first: `check` reports every problem of a file in one pass (what `run` would
refuse included), capped; hostile files are answered quickly and in little memory."""

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noether.cli import main
from noether.cli.measure import measured

EXAMPLE_MODEL = """model: ab_upt
hidden_dim: 192
geometry_depth: 1
physics_blocks: [perceiver, crosss, dot_product]
num_surface_blocks: 2
num_volume_blocks: 2
transformer_block_config: {hidden_dim: 192, num_heads: 3, mlp_expansion_factor: 4, use_rope: true}
supernode_pooling_config: {hidden_dim: 192, input_dim: 3, radius: 0.25, max_degre: 32}
data_specs: {position_dim: 3, surface_output_dims: {pressure: 1}, volume_output_dims: {velocity: 3}}
run: {chunksize: 16384, chunk_size: 100}
"""


def check(capsys, path):
    status = main(["check", str(path)])
    return status, capsys.readouterr().out.splitlines()


def test_every_problem_at_once_fixes_first(tmp_path, capsys):
    path = tmp_path / "model.yaml"
    path.write_text(EXAMPLE_MODEL)
    status, lines = check(capsys, path)
    assert status == 1
    assert lines == [
        f"{path}: supernode_pooling_config.max_degre: Extra inputs are not permitted. Did you mean 'max_degree'?",
        f"{path}: physics_blocks.1: unknown physics block 'crosss': perceiver, shared, cross, joint or an attention "
        "name. Did you mean 'cross'?",
        f"{path}: run.chunksize: Extra inputs are not permitted. Did you mean 'chunk_size' or 'batch_size'?",
        f"{path}: physics_blocks.2: 'dot_product' is not anchor attention: query points attend to each other there, "
        "so run.chunk_size cannot stream them; use perceiver, shared, cross or joint, or leave run.chunk_size out",
    ]


def test_check_refuses_what_run_would(tmp_path, capsys):
    perceiver = tmp_path / "perceiver.yaml"
    perceiver.write_text("attention: perceiver\nhidden_dim: 8\nnum_heads: 2\n")
    huge = tmp_path / "huge.yaml"
    huge.write_text(f"attention: dot_product\nhidden_dim: {'8' * 4000}\nnum_heads: 2\n")
    assert check(capsys, perceiver)[1] == [
        f"{perceiver}: tokens: perceiver attention attends from the first token group to the others: give at least "
        "two groups, e.g. [{queries: 4096}, {context: 4096}]"
    ]
    status, lines = check(capsys, huge)
    assert status == 1
    assert f"{huge}: hidden_dim: a 4000-digit number cannot be allocated: at most 65,536" in lines
    assert all(len(line) < 400 for line in lines)  # messages are excerpts, never the whole value


def test_problems_are_capped_with_a_count(tmp_path, capsys):
    path = tmp_path / "typos.yaml"
    path.write_text("attention: dot_product\nhidden_dim: 8\nnum_heads: 2\n" + "".join(f"k{i}: 1\n" for i in range(49)))
    status, lines = check(capsys, path)
    assert status == 1
    assert len(lines) == 21
    assert lines[-1] == f"{path}: ... and 29 more problems"


HOSTILE = {
    "fifo.yaml": "a FIFO",
    "zero.yaml": "a device",
    "random.yaml": "a device",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_special_files_are_refused_unread(tmp_path, capsys, name):
    path = tmp_path / name
    if name == "fifo.yaml":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero" if name == "zero.yaml" else "/dev/urandom")
    status, lines = check(capsys, path)  # returns at all: a FIFO or a device would block or never end
    assert status == 1
    assert lines == [f"{path}: not a regular file ({HOSTILE[name]}); config files are regular files"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("list.yaml", "- x\n" * 1_000_000, "the document expands to more than 100,000 values"),
        ("keys.yaml", "attention: dot_product\nhidden_dim: 8\nnum_heads: 2\n"
                      + "".join(f"unknown_{i}: 1\n" for i in range(49_000)), "... and 48,980 more problems"),
    ],
)  # fmt: skip
def test_large_documents_are_refused_in_bounded_memory(tmp_path, capsys, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with measured() as m:
        status, lines = check(capsys, path)
    assert status == 1
    assert message in lines[-1]
    assert len(lines) <= 21
    assert m["peak_growth"] < 200 * 2**20, m  # their time is a benchmark's concern, not a test's


YAML_DOCUMENTS = [
    "a: 1\nb: [1, 2.5, yes, no, null, ~, '3', 0x1f, 1e3, .inf, 2001-12-14]\nc: {d: {e: [x, {f: g}]}}\n",
    "x: &a [1, 2]\ny: *a\nz: &b {k: v}\nw: *b\n",  # aliases: the same object, as PyYAML gives
    "m: &a [1, {p: &q 2}]\nn: {c: *a, d: [*a, *q, [*q]]}\n&k key: 1\nother: {*k : *k}\n",  # aliases nested, as keys
    "base: &base {a: 1, b: 2}\nderived:\n  <<: *base\n  b: 3\n",  # merge keys
    "s: !!set {a, b}\no: !!omap [{a: 1}]\n",
    "a: !!str 1\nb: !!int '2'\nc: !!binary aGVsbG8=\nt: 2001-12-14t21:59:43.10-05:00\n",
    "'1': a\n1: b\n1.5: f\nnull: n\na: 1\na: 2\n",
    "plain scalar\n",
    "--- 1\n...\n",
    "- - - - x\n",
    "q: 'yes'\nr: \"caf\\u00e9\"\ns: plain text\nt: !!str yes\nu: |\n  block\n",  # strings, as given
    "# only a comment\n",
    "--- 1\n--- 2\n",  # the rest are errors, worded by PyYAML
    "? [a, b]\n: c\n",
    "a: !!python/object:os.system x\n",
    "k: *undefined\n",
    "bad: 2001-13-45\n",
    "!!seq {a: 1}\n",
]


@pytest.mark.parametrize("text", YAML_DOCUMENTS)
def test_yaml_is_built_as_pyyaml_builds_it(tmp_path, text):
    """The one-pass build (sized while parsing) gives what PyYAML's safe loader gives, aliases shared alike."""
    import yaml

    from noether.cli.files import load_file

    path = tmp_path / "doc.yaml"
    path.write_text(text)
    try:
        expected = yaml.load(text, Loader=yaml.CSafeLoader)
    except Exception as exc:  # PyYAML's own error, whatever its class
        words = str(exc).splitlines()[0]
    else:
        words = None
    if words is not None:
        with pytest.raises(ValueError, match="not valid YAML") as caught:
            load_file(path)
        assert words in str(caught.value)
        return
    loaded = load_file(path)
    assert loaded == expected
    if isinstance(expected, dict) and "y" in expected:
        assert loaded["x"] is loaded["y"]


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.sampled_from(["yes", "no", "~", "0x1f", "1e3", ".inf", "2001-12-14", "<<", "=", "!x", "&a", ""]),
)  # fmt: skip


@st.composite
def _shared_documents(draw: st.DrawFn) -> Any:
    """Nested data whose collections repeat (the dumper writes them once, with an anchor, then aliases)."""
    pool: list[Any] = []
    leaves = st.one_of(_SCALARS, st.builds(lambda: pool[-1] if pool else None))

    def keep(value: Any) -> Any:
        pool.append(value)
        return value

    tree = st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(keep),
            st.dictionaries(st.one_of(st.text(max_size=4), st.integers(), st.booleans()), inner, max_size=4).map(keep),
        ),
        max_leaves=20,
    )
    return draw(tree)


@settings(max_examples=300)
@given(document=_shared_documents(), flow=st.sampled_from([None, True, False]))
def test_any_yaml_document_is_built_as_pyyaml_builds_it(tmp_path_factory, document, flow):
    import yaml

    from noether.cli.files import load_file

    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    path = tmp_path_factory.mktemp("yaml") / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_file(path) == yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nest"),  # libyaml's scanner stops at 1,000 levels, in its words
        ("a: " + "[" * 64 + "]" * 64, "nests deeper than 64 levels"),  # 65 with the mapping
        ("&r [*r]", "the document refers to itself (a recursive YAML alias)"),
    ],
)
def test_yaml_past_the_limits_is_refused_while_parsed(tmp_path, text, message):
    from noether.cli.files import load_file

    path = tmp_path / "doc.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_file(path)
    path.write_text("a: " + "[" * 63 + "]" * 63)
    assert load_file(path)["a"] is not None  # 64 levels: the limit itself is allowed


def test_bench_checks_names_options_and_values_before_torch():
    import subprocess
    import sys

    code = (
        "import sys\nfrom noether.cli import main\n"
        "for argv in (['bench', 'joint_anchor', '--option', 'branche=[a]'], ['bench', 'joint_anchr'],\n"
        "             ['bench', 'dot_product', '--option', 'qk_norm=maybe']):\n"
        "    assert main(argv) == 1\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    errors = out.stderr.splitlines()
    assert errors[0] == (
        "noether-attention bench: error: --option branche: no compared implementation has such a field. "
        "Did you mean 'branches'?"
    )
    assert "unknown attention 'joint_anchr'. Did you mean 'joint_anchor'" in errors[1]
    assert "Input should be a valid boolean (true or false), got 'maybe'" in out.stderr


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_every_format_counts_values_alike(tmp_path, suffix):
    """{"a": [0] * n} holds n + 3 values (the mapping, its key, the list, the items) in YAML and JSON alike."""
    import json

    from noether.cli.files import MAX_VALUES, load_file

    path = tmp_path / f"doc{suffix}"
    n = MAX_VALUES - 3
    path.write_text(json.dumps({"a": [0] * n}))  # JSON is YAML too
    assert len(load_file(path)["a"]) == n
    path.write_text(json.dumps({"a": [0] * (n + 1)}))
    with pytest.raises(ValueError, match=f"more than {MAX_VALUES:,} values"):
        load_file(path)
