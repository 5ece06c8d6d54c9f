from collections.abc import Sequence
from typing import ClassVar

from noether.core.schemas import config, field, model_validator
from noether.core.schemas.modules.attention import AttentionConfig, AttentionPattern, TokenSpec
from noether.modeling.modules.attention.mixed.layout import TokenLayout


class UnexpectedTokenError(ValueError):
    """A token group that belongs to no configured branch."""


class MissingBranchTokensError(ValueError):
    """A configured branch without token groups."""


class MissingAnchorTokenError(ValueError):
    """A branch without its anchor group."""


def _queries(members: Sequence[TokenSpec]) -> list[str]:
    return [spec.name for spec in members if spec.size is not None]


def _branch_names(branches: list[str]) -> list[str]:
    for name in branches:
        if not name:
            raise ValueError("branch names must not be empty")
    duplicates = sorted({b for b in branches if branches.count(b) > 1})
    if duplicates:
        raise ValueError(f"branches must be distinct, repeated: {duplicates}")
    return branches


@config(extra="forbid")
class MultiBranchAnchorAttentionConfig(AttentionConfig):
    """Anchor attention over branches (domains) such as ``["surface", "volume"]``.

    The token groups of branch ``b`` are named ``b_<something>``; its anchors are
    the group ``b + anchor_suffix`` (``surface_anchors``).
    """

    branches: list[str] = field(
        min_length=1, check=_branch_names, description="Branch (domain) names.",
        json_schema={"items": {"type": "string", "minLength": 1}, "uniqueItems": True},
    )  # fmt: skip
    anchor_suffix: str = field(default="_anchors", description="Suffix naming each branch's anchor group.")

    def anchors(self, branch: str) -> str:
        return branch + self.anchor_suffix

    def branch_groups(self, specs: Sequence[TokenSpec], owner: str = "") -> dict[str, list[TokenSpec]]:
        """Token groups per branch, checking that every group and branch is accounted for."""
        owner = owner or type(self).__name__
        groups: dict[str, list[TokenSpec]] = {branch: [] for branch in self.branches}
        orphans = []
        for spec in specs:
            owners = [b for b in self.branches if spec.name == self.anchors(b) or spec.name.startswith(b + "_")]
            if owners:
                groups[max(owners, key=len)].append(spec)
            else:
                orphans.append(spec.name)
        if orphans:
            raise UnexpectedTokenError(
                f"{owner}: token groups {orphans} belong to no branch of {self.branches} "
                f"(a group of branch b is named 'b_...')"
            )
        empty = [b for b, members in groups.items() if not members]
        if empty:
            raise MissingBranchTokensError(f"{owner}: branches {empty} have no token groups in token_specs")
        anchorless = [b for b, members in groups.items() if self.anchors(b) not in {s.name for s in members}]
        if anchorless:
            names = [self.anchors(b) for b in anchorless]
            raise MissingAnchorTokenError(
                f"{owner}: branches {anchorless} lack their anchor groups {names} in token_specs"
            )
        return groups

    def patterns(self, specs: Sequence[TokenSpec], owner: str = "") -> list[AttentionPattern]:
        """Each branch's tokens attend to that branch's anchors (queries are the groups with a size)."""
        return [
            AttentionPattern(query_tokens=queries, key_value_tokens=[self.anchors(branch)])
            for branch, members in self.branch_groups(specs, owner).items()
            if (queries := _queries(members))
        ]

    def check_tokens(self, specs: Sequence[TokenSpec], patterns: Sequence[AttentionPattern] = ()) -> None:
        """The token layout rules the module applies in forward, for ``noether-attention check``."""
        TokenLayout.build(type(self).__name__, specs, self.patterns(specs), sum(s.size or 0 for s in specs))


@config(extra="forbid")
class _InterBranchConfig(MultiBranchAnchorAttentionConfig):
    """Anchor attention between branches: meaningless with fewer than two."""

    kind: ClassVar[str] = "anchor attention between branches"

    @model_validator
    def validate_at_least_two_branches(self) -> None:
        if len(self.branches) < 2:
            raise ValueError(f"{self.kind} needs at least 2 branches, got {self.branches}")


@config(extra="forbid")
class CrossAnchorAttentionConfig(_InterBranchConfig):
    """Each branch's tokens attend to the other branches' anchors."""

    kind: ClassVar[str] = "cross anchor attention"

    def patterns(self, specs: Sequence[TokenSpec], owner: str = "") -> list[AttentionPattern]:
        """Each branch's tokens attend to the anchors of every other branch."""
        return [
            AttentionPattern(
                query_tokens=queries, key_value_tokens=[self.anchors(b) for b in self.branches if b != branch]
            )
            for branch, members in self.branch_groups(specs, owner).items()
            if (queries := _queries(members))
        ]


@config(extra="forbid")
class JointAnchorAttentionConfig(_InterBranchConfig):
    """All tokens attend to the anchors of all branches."""

    kind: ClassVar[str] = "joint anchor attention"

    def patterns(self, specs: Sequence[TokenSpec], owner: str = "") -> list[AttentionPattern]:
        """All tokens attend to the anchors of all branches."""
        self.branch_groups(specs, owner)
        queries = _queries(specs)
        if not queries:
            return []
        return [AttentionPattern(query_tokens=queries, key_value_tokens=[self.anchors(b) for b in self.branches])]
