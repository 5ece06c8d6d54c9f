from typing import ClassVar

from noether.core.schemas import config, field, model_validator
from noether.core.schemas.modules.attention import AttentionConfig


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


@config(extra="forbid")
class JointAnchorAttentionConfig(_InterBranchConfig):
    """All tokens attend to the anchors of all branches."""

    kind: ClassVar[str] = "joint anchor attention"
