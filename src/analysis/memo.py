"""Values derived from pandas frames, computed once while the same frames are alive.

Every function of the package treats the frames it is given as immutable, so what it derives from
a frame (an integer coding of the units, a year's tree, a year's roll-up index) can be reused for
as long as that very frame lives. A weak reference guards against a recycled ``id``; the row count
guards against an in-place append.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class FrameMemo(Generic[T]):
    """At most ``size`` values, each keyed by the identity of some frames and an extra key; the
    oldest goes first.

    Example:
        >>> import pandas as pd
        >>> memo: FrameMemo[int] = FrameMemo(2)
        >>> df = pd.DataFrame({"a": [1, 2]})
        >>> memo((df,), lambda: int(df["a"].sum())), memo((df,), lambda: -1)
        (3, 3)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple, tuple[tuple, T]] = {}

    def __call__(self, frames: Sequence, build: Callable[[], T], extra: tuple[Hashable, ...] = ()) -> T:
        """The value kept for ``frames`` and ``extra``, or ``build()`` (then kept; an exception
        keeps nothing)."""
        key = (*(id(f) for f in frames), *extra)
        hit = self._entries.get(key)
        if hit is not None and all(r() is f and n == len(f) for (r, n), f in zip(hit[0], frames, strict=True)):
            return hit[1]
        value = build()
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (tuple((weakref.ref(f), len(f)) for f in frames), value)
        return value
