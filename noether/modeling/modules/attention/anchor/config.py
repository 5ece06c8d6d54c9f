import collections
from collections.abc import Callable, Sequence
from typing import ClassVar

from noether.core.schemas import config, field
from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.modeling.modules.attention.mixed.layout import Group, Pattern, TokenLayout, as_token_specs

Spec = TokenSpec | Group


class UnexpectedTokenError(ValueError):
    """A token group that belongs to no configured branch."""


class MissingBranchTokensError(ValueError):
    """A configured branch without token groups."""


class MissingAnchorTokenError(ValueError):
    """A branch without its anchor group."""


def _queries(members: Sequence[Spec]) -> tuple[str, ...]:
    return tuple(spec.name for spec in members if spec.size is not None)


def _branch_names(branches: list[str]) -> list[str]:
    for name in branches:
        if not name:
            raise ValueError("branch names must not be empty")
    duplicates = sorted(b for b, count in collections.Counter(branches).items() if count > 1)
    if duplicates:
        raise ValueError(f"branches must be distinct, repeated: {duplicates}")
    return branches


_BRANCH_NAMES = {"items": {"type": "string", "minLength": 1}, "uniqueItems": True}


@config(extra="forbid")
class MultiBranchAnchorAttentionConfig(AttentionConfig):
    """Anchor attention over branches (domains) such as ``["surface", "volume"]``.

    The token groups of branch ``b`` are named ``b_<something>``; its anchors are
    the group ``b + anchor_suffix`` (``surface_anchors``).
    """

    branches: list[str] = field(
        min_length=1, check=_branch_names, description="Branch (domain) names.", json_schema=_BRANCH_NAMES
    )
    anchor_suffix: str = field(default="_anchors", description="Suffix naming each branch's anchor group.")

    def anchors(self, branch: str) -> str:
        return branch + self.anchor_suffix

    def branch_groups(self, specs: Sequence[Spec], owner: str = "") -> dict[str, list[Spec]]:
        """Token groups per branch, checking that every group and branch is accounted for."""
        owner = owner or type(self).__name__
        groups: dict[str, list[Spec]] = {branch: [] for branch in self.branches}
        orphans = []
        for spec in specs:
            owners = [b for b in self.branches if spec.name == self.anchors(b) or spec.name.startswith(b + "_")]
            if owners:
                groups[max(owners, key=len)].append(spec)
            else:
                orphans.append(spec.name)
        problems: list[tuple[type[ValueError], str]] = []  # every problem of the layout, in one error
        if orphans:
            problems.append((UnexpectedTokenError, f"token groups {orphans} belong to no branch of {self.branches} "
                                                   "(a group of branch b is named 'b_...')"))  # fmt: skip
        empty = [b for b, members in groups.items() if not members]
        if empty:
            problems.append((MissingBranchTokensError, f"branches {empty} have no token groups in token_specs"))
        anchorless = [
            b for b, members in groups.items() if members and self.anchors(b) not in {s.name for s in members}
        ]
        if anchorless:
            names = [self.anchors(b) for b in anchorless]
            problems.append((MissingAnchorTokenError, f"branches {anchorless} lack their anchor groups {names} in "
                                                      "token_specs"))  # fmt: skip
        if problems:
            raise problems[0][0](f"{owner}: " + "; ".join(message for _, message in problems))
        return groups

    def plan(self, specs: Sequence[Spec], owner: str = "") -> list[Pattern]:
        """Each branch's tokens attend to that branch's anchors (queries are the groups with a size)."""
        return self._per_branch(specs, owner, lambda branch: (self.anchors(branch),))

    def _per_branch(self, specs: Sequence[Spec], owner: str, keys: Callable[[str], tuple[str, ...]]) -> list[Pattern]:
        """One pattern per branch with queries: its groups with a size attend to ``keys(branch)``."""
        out = []
        for branch, members in self.branch_groups(specs, owner).items():
            queries = _queries(members)  # a plain loop: torch.compile traces it (not a walrus in a comprehension)
            if queries:
                out.append(Pattern(queries, keys(branch)))
        return out

    def patterns(self, specs: Sequence[Spec], owner: str = "") -> list[AttentionPattern]:
        """The attention patterns among ``specs``, as configs (``plan`` gives them as tuples)."""
        return [AttentionPattern(query_tokens=list(q), key_value_tokens=list(kv)) for q, kv in self.plan(specs, owner)]

    def check_tokens(self, specs: Sequence[TokenSpec], patterns: Sequence[AttentionPattern] = ()) -> None:
        """The token layout rules the module applies in forward, for ``noether-attention check``."""
        groups = as_token_specs(specs)
        TokenLayout.build(type(self).__name__, groups, self.plan(groups), sum(g.size or 0 for g in groups))


@config(extra="forbid")
class _InterBranchConfig(MultiBranchAnchorAttentionConfig):
    """Anchor attention between branches: meaningless with fewer than two."""

    kind: ClassVar[str] = "anchor attention between branches"
    branches: list[str] = field(  # a field rule, so `info` and the JSON Schema state it as it is applied
        min_length=2, check=_branch_names, description="Branch (domain) names.",
        json_schema=_BRANCH_NAMES,
    )  # fmt: skip


@config(extra="forbid")
class CrossAnchorAttentionConfig(_InterBranchConfig):
    """Each branch's tokens attend to the other branches' anchors."""

    kind: ClassVar[str] = "cross anchor attention"

    def plan(self, specs: Sequence[Spec], owner: str = "") -> list[Pattern]:
        """Each branch's tokens attend to the anchors of every other branch."""
        return self._per_branch(
            specs, owner, lambda branch: tuple(self.anchors(b) for b in self.branches if b != branch)
        )


@config(extra="forbid")
class JointAnchorAttentionConfig(_InterBranchConfig):
    """All tokens attend to the anchors of all branches."""

    kind: ClassVar[str] = "joint anchor attention"

    def plan(self, specs: Sequence[Spec], owner: str = "") -> list[Pattern]:
        """All tokens attend to the anchors of all branches."""
        self.branch_groups(specs, owner)
        queries = _queries(specs)
        if not queries:
            return []
        return [Pattern(queries, tuple(self.anchors(b) for b in self.branches))]
