"""Row rules shared by the custom GE expectations and the built-in evaluator (pure, no GE import).

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"year": [2014, 2020], "scheme_id": ["tsvm-2008", "qd132-2018"],
    ...                    "rating_code": ["tsvm", "tsvm"], "rating_rank": [1, 1]})
    >>> rating_valid_mask(df, "unit").tolist()
    [True, False]
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from analysis import ratings


@functools.lru_cache(maxsize=256)
def _expected(year: int, subject: str) -> tuple[str | None, dict[str, int]]:
    """Scheme id in force in ``year`` and its level codes → rank for ``subject``."""
    try:
        sid = ratings.scheme_for_year(year)
    except ratings.SchemeError:
        return None, {}
    levels = ratings.scheme_levels(sid, subject)  # type: ignore[arg-type]
    return sid, {lv.rating_code: int(lv.rating_rank) for lv in levels if lv.rating_rank is not None}


def rating_valid_mask(frame: pd.DataFrame, subject: str) -> pd.Series:
    """True where a rating row is a level of the scheme in force in its year.

    A row is valid when ``scheme_id`` is the scheme of ``year`` (see
    :func:`analysis.ratings.scheme_for_year`), ``rating_code`` is one of that scheme's levels for
    ``subject`` and ``rating_rank`` (when the column is present) is that level's rank. A year that
    no scheme covers, or a missing value, is invalid.

    Args:
        frame: Columns ``year``, ``scheme_id``, ``rating_code`` and optionally ``rating_rank``
            (not modified).
        subject: ``"unit"`` or ``"member"``.

    Returns:
        Boolean series aligned to ``frame.index``.
    """
    years = pd.to_numeric(frame["year"], errors="coerce")
    out = np.zeros(len(frame), dtype=bool)
    has_rank = "rating_rank" in frame.columns
    ranks = pd.to_numeric(frame["rating_rank"], errors="coerce") if has_rank else None
    codes = frame["rating_code"].astype("string")
    sids = frame["scheme_id"].astype("string")
    for y in pd.unique(years.dropna()):
        if float(y) != int(y):
            continue
        sid, levels = _expected(int(y), subject)
        if sid is None:
            continue
        sel = (years == y).to_numpy(dtype=bool, na_value=False)
        ok = (sids[sel] == sid).fillna(False).to_numpy(dtype=bool)
        code_rank = codes[sel].map(levels)
        ok &= code_rank.notna().to_numpy(dtype=bool)
        if ranks is not None:
            ok &= (ranks[sel].to_numpy(dtype=float, na_value=np.nan)
                   == code_rank.to_numpy(dtype=float, na_value=np.nan))
        out[sel] = ok
    return pd.Series(out, index=frame.index)
