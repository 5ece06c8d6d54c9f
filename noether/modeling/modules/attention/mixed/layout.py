"""Token groups of a concatenated sequence, and the patterns between them, checked once per forward.

Everything here is plain tuples, so ``torch.compile`` traces it (building config
objects inside ``forward`` would break the graph).
"""

import collections
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from noether.core.schemas.modules.attention import AttentionPattern, TokenSpec
from noether.modeling.contract import InputError


class Group(NamedTuple):
    """A token group: its name, and its token count in ``x`` (None: its keys/values are cached)."""

    name: str
    size: int | None


class Pattern(NamedTuple):
    """Query groups attending to key/value groups."""

    query_tokens: tuple[str, ...]
    key_value_tokens: tuple[str, ...]


TokenSpecs = Sequence[TokenSpec | Mapping[str, int | None] | tuple[str, int | None]]
Patterns = Sequence[AttentionPattern | Mapping[str, Any] | tuple[Sequence[str], Sequence[str]]]


def as_token_specs(specs: TokenSpecs) -> list[Group]:
    """Token groups from TokenSpec objects, ``{name: size}`` pairs, or ``(name, size)`` tuples."""
    out = []
    for spec in specs:
        if type(spec) is Group:
            out.append(spec)
            continue
        if isinstance(spec, TokenSpec):
            out.append(Group(spec.name, spec.size))
            continue
        pair = spec if isinstance(spec, tuple) else next(iter(spec.items())) if len(spec) == 1 else None
        if pair is not None and len(pair) == 2 and pair[0] not in ("name", "size"):
            name, size = pair
            if isinstance(name, str) and (size is None or (type(size) is int and size >= 0)):
                out.append(Group(name, size))  # plainly valid: no config object, so compile traces it
                continue
        data = dict([spec]) if isinstance(spec, tuple) and len(spec) == 2 else spec
        checked = TokenSpec.from_dict(data)  # the other forms, and every error, as configs report them
        out.append(Group(checked.name, checked.size))
    return out


def as_patterns(patterns: Patterns) -> list[Pattern]:
    """Patterns from AttentionPattern objects, mappings of their fields, or ``(queries, keys)`` tuples."""
    out = []
    for p in patterns:
        if type(p) is Pattern:
            out.append(p)
        elif (
            type(p) is dict
            and len(p) == 2
            and _plain_names(p.get("query_tokens"))
            and _plain_names(p.get("key_value_tokens"))
        ):  # plainly valid: no config object (what from_dict would give, without its cost)
            out.append(Pattern(tuple(p["query_tokens"]), tuple(p["key_value_tokens"])))
        elif isinstance(p, tuple):
            out.append(Pattern(tuple(p[0]), tuple(p[1])))
        elif isinstance(p, AttentionPattern):
            out.append(Pattern(tuple(p.query_tokens), tuple(p.key_value_tokens)))
        else:
            checked = AttentionPattern.from_dict(p)
            out.append(Pattern(tuple(checked.query_tokens), tuple(checked.key_value_tokens)))
    return out


def _plain_names(names: Any) -> bool:
    return type(names) is list and len(names) > 0 and all(type(n) is str for n in names)


Span = tuple[int, int] | None


class TokenLayout(NamedTuple):
    """Where each input group sits in ``x``, which groups come from the KV cache, and, worked out once per
    layout rather than per call, what the patterns need: their spans and which share one SDPA call."""

    slices: dict[str, tuple[int, int]]  # input group -> (start, stop) along the token axis
    cached: tuple[str, ...]  # groups with size None, in spec order
    order: tuple[str, ...]  # input groups in spec order
    spans: dict[tuple[str, ...], Span]  # the patterns' query and key/value groups -> span(groups)
    key_groups: frozenset[str]  # every group some pattern attends to
    batches: tuple[tuple[int, ...], ...] | None  # patterns of equal shapes; None: they depend on the cache

    @classmethod
    def build(
        cls, owner: str, specs: Sequence[Group], patterns: Sequence[Pattern] | None, num_tokens: int
    ) -> "TokenLayout":
        """The layout of ``specs`` in a sequence of ``num_tokens``; ``patterns`` are checked unless None."""
        names = [spec.name for spec in specs]
        duplicates = sorted(n for n, count in collections.Counter(names).items() if count > 1)  # linear in groups
        if duplicates:
            raise InputError(f"{owner}: token_specs name these groups more than once: {duplicates}")
        slices: dict[str, tuple[int, int]] = {}
        start = 0
        for spec in specs:
            if spec.size is not None:
                slices[spec.name] = (start, start + spec.size)
                start += spec.size
        if start != num_tokens:
            raise InputError(
                f"{owner}: Token specs total size {start} {dict((s.name, s.size) for s in specs)} "
                f"!= tensor size {num_tokens} (the tokens of x)"
            )
        layout = cls(slices, tuple(s.name for s in specs if s.size is None), tuple(slices), {}, frozenset(), None)
        if patterns is None:
            return layout
        layout.check_patterns(owner, patterns, set(names))
        return layout.planned(patterns)

    def planned(self, patterns: Sequence[Pattern]) -> "TokenLayout":
        spans = {g: _span(self.slices, g) for p in patterns for g in (p.query_tokens, p.key_value_tokens)}
        key_groups = frozenset(n for p in patterns for n in p.key_value_tokens)
        batches = None
        if key_groups.isdisjoint(self.cached):  # every shape known now: (queries, keys) of each pattern
            batches = equal_shapes([(self.tokens(p.query_tokens), self.tokens(p.key_value_tokens)) for p in patterns])
        return self._replace(spans=spans, key_groups=key_groups, batches=batches)

    def tokens(self, names: Sequence[str]) -> int:
        return sum(self.slices[n][1] - self.slices[n][0] for n in names)

    def check_patterns(self, owner: str, patterns: Sequence[Pattern], known: set[str]) -> None:
        query_of: dict[str, int] = {}
        cached = set(self.cached)
        for index, pattern in enumerate(patterns):
            unknown = [n for n in (*pattern.query_tokens, *pattern.key_value_tokens) if n not in known]
            if unknown:
                raise InputError(
                    f"{owner}: token group {unknown[0]!r} of attention pattern {index} is not defined in `token_specs`"
                    f"{f' (nor are {unknown[1:]})' if len(unknown) > 1 else ''}; token groups: {sorted(known)}"
                )
            for name in pattern.query_tokens:
                if name in cached:
                    raise InputError(
                        f"{owner}: token group {name!r} has size=None (its keys/values come from the KV cache), "
                        f"so it cannot be a query (attention pattern {index})"
                    )
                if name in query_of:
                    raise InputError(
                        f"{owner}: token group {name!r} cannot be a query in multiple attention patterns "
                        f"({query_of[name]} and {index}); each group must be the query of exactly one pattern"
                    )
                query_of[name] = index
        missing = [name for name in self.order if name not in query_of]
        if missing:
            raise InputError(
                f"{owner}: the set of query tokens must exactly match the token groups in token_specs: "
                f"{missing} are the query of no attention pattern"
            )

    def span(self, names: tuple[str, ...]) -> Span:
        """(start, stop) when ``names`` are input groups lying back to back in this order, else None."""
        return self.spans[names] if names in self.spans else _span(self.slices, names)


def equal_shapes(shapes: Sequence[tuple[int, int]]) -> tuple[tuple[int, ...], ...]:
    """Indices of the patterns whose (queries, keys) shapes are equal: each group is one SDPA call."""
    groups: dict[tuple[int, int], list[int]] = collections.defaultdict(list)
    for index, shape in enumerate(shapes):
        groups[shape].append(index)
    return tuple(map(tuple, groups.values()))


def _span(slices: Mapping[str, tuple[int, int]], names: Sequence[str]) -> Span:
    if not names or any(n not in slices for n in names):
        return None
    for before, after in itertools.pairwise(names):
        if slices[before][1] != slices[after][0]:
            return None
    return slices[names[0]][0], slices[names[-1]][1]
