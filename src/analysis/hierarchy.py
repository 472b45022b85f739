"""The unit tree over time: validity, subtrees, leaves, closure tables and merges.

The canonical ``units`` table has one row per unit × validity period: ``unit_id``, ``unit_name``,
``parent_id`` (null for a root), ``unit_level`` (``cap_tren``, ``co_so``, ``chi_bo``),
``unit_kind``, ``valid_from_year`` and ``valid_to_year`` (inclusive; null = still active). A unit
id may have several rows with disjoint validity (renamed, or moved under another parent).

Merges are data too: a ``merges`` frame (``from_unit_id``, ``to_unit_id``, ``year``) says that
``from_unit``'s last year was ``year - 1`` and its people and figures continue in ``to_unit`` from
``year``. :func:`comparable_map` and :func:`rebase` use it to restate earlier years on today's
units ("so sánh được" / comparable).

Roll-ups are vectorised through :func:`closure`: merge leaf facts on ``unit_id``, group by
``ancestor_id`` and sum numerators and denominators (never average rates).

Every function is pure (frames in, frames or lists out, inputs never modified). Errors are
:class:`HierarchyError` with Vietnamese messages naming the unit ids and years; the English text
is in ``HierarchyError.message_en`` and in each problem dict.

Open-ended validity. Where a list of years must be finite (``years_active``, the year lists of
problems), open-ended rows count up to the table's *horizon*: the largest year the table names
(``valid_from_year`` or ``valid_to_year``), plus one year when a row ends before an open one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.config import MAX_YEAR
from analysis.memo import FrameMemo
from analysis.schema import UNIT_LEVELS

__all__ = [
    "UNIT_COLUMNS",
    "HierarchyError",
    "closure",
    "closure_all_years",
    "comparable_map",
    "descendants_at_level",
    "find_hierarchy_problems",
    "find_merge_problems",
    "format_years",
    "known_unit_ids",
    "leaf_ids",
    "rebase",
    "subtree_ids",
    "unit_name",
    "units_in_year",
    "validate_units",
    "years_active",
]

#: Columns of the canonical units table this module needs.
UNIT_COLUMNS = ("unit_id", "unit_name", "parent_id", "unit_level", "valid_from_year",
                "valid_to_year")
_MERGE_COLUMNS = ("from_unit_id", "to_unit_id", "year")
_OPEN = np.iinfo(np.int64).max  # valid_to_year of an open-ended row


class HierarchyError(ValueError):
    """An invalid unit tree, an unknown or inactive unit, or inconsistent merges.

    Attributes:
        message_vi: Vietnamese message (also ``str(error)``).
        message_en: English message.
        problems: The problem dicts (see :func:`find_hierarchy_problems`), if any.
    """

    def __init__(self, message_vi: str, message_en: str | None = None,
                 problems: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        self.message_en = message_en or message_vi
        self.problems = list(problems)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def format_years(years: Iterable[int], open_from: int | None = None) -> str:
    """Compress years into ranges: ``[2014, 2015, 2016, 2019]`` → ``"2014–2016, 2019"``.

    Args:
        years: Years (any order, duplicates allowed).
        open_from: If the last range reaches this year and continues without end, it is shown
            as ``"2021–"``.

    Example:
        >>> format_years([2016, 2014, 2015, 2019])
        '2014–2016, 2019'
        >>> format_years([2020, 2021], open_from=2021)
        '2020–'
    """
    ys = sorted({int(y) for y in years})
    if not ys:
        return ""
    parts: list[list[int]] = [[ys[0], ys[0]]]
    for y in ys[1:]:
        if y == parts[-1][1] + 1:
            parts[-1][1] = y
        else:
            parts.append([y, y])
    texts = []
    for i, (a, b) in enumerate(parts):
        if open_from is not None and i == len(parts) - 1 and b >= open_from:
            texts.append(f"{a}–")
        else:
            texts.append(str(a) if a == b else f"{a}–{b}")
    return ", ".join(texts)


def _ids_text(ids: Iterable[str]) -> str:
    return ", ".join(f"'{u}'" for u in ids)


def _require_columns(df: pd.DataFrame, columns: Iterable[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise HierarchyError(f"Bảng {table} thiếu cột: {', '.join(missing)}",
                             f"Table {table} lacks columns: {', '.join(missing)}")



class _Prep:
    """The units table as integer codes: ids factorised once (sorted, so code order = id order).

    ``frame`` has ``uc`` (unit code, -1 if null), ``pc`` (parent code, -1 if null),
    ``valid_from_year`` / ``valid_to_year`` (int64, :data:`_OPEN` if null), ``from_missing`` and
    ``row`` (position in the original table).
    """

    def __init__(self, units: pd.DataFrame) -> None:
        _require_columns(units, ("unit_id", "parent_id", "valid_from_year", "valid_to_year"),
                         "units")
        self.units = units
        n = len(units)
        both = pd.concat([_as_text(units["unit_id"]), _as_text(units["parent_id"])],
                         ignore_index=True)
        codes, uniques = pd.factorize(both, sort=True, use_na_sentinel=True)
        self._uniques = uniques
        self.names = np.asarray(uniques, dtype=object)
        vfrom = _year_array(units["valid_from_year"])
        self.frame = pd.DataFrame({
            "uc": codes[:n].astype(np.int64),
            "pc": codes[n:].astype(np.int64),
            "valid_from_year": _with_open(vfrom),
            "valid_to_year": _with_open(_year_array(units["valid_to_year"])),
            "from_missing": np.isnan(vfrom),
            "row": np.arange(n, dtype=np.int64),
        })
        self._string_names: Any = None

    def code(self, unit_id: Any) -> int:
        """Code of ``unit_id`` (-1 if it appears nowhere)."""
        key = str(unit_id)
        pos = int(np.searchsorted(self.names, key)) if len(self.names) else 0
        if pos < len(self.names) and self.names[pos] == key:
            return pos
        return -1

    def rows_of(self, unit_id: Any) -> pd.DataFrame:
        """Rows of one unit id."""
        code = self.code(unit_id)
        return self.frame[self.frame["uc"] == code] if code >= 0 else self.frame.iloc[:0]

    def name(self, code: int) -> str:
        return str(self.names[code])

    def string_ids(self, codes: np.ndarray) -> Any:
        """A ``string`` array of the ids at ``codes``."""
        if self._string_names is None:
            uniq = self._uniques
            if isinstance(getattr(uniq, "dtype", None), pd.StringDtype):
                self._string_names = pd.array(uniq, dtype=uniq.dtype)
            else:
                self._string_names = pd.array([str(x) for x in self.names], dtype="string")
        return self._string_names.take(codes)

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        """Values of an original column at table positions ``rows`` (object, None for null)."""
        col = self.units[name].iloc[rows]
        return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)


def _as_text(col: pd.Series) -> pd.Series:
    """Ids as ``string`` (ids compare as text; integral numbers lose a trailing ``.0``)."""
    col = col.reset_index(drop=True)
    if isinstance(col.dtype, pd.StringDtype):
        return col
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        num = pd.to_numeric(col)
        if ((num.dropna() % 1) == 0).all():
            return num.astype("Int64").astype("string")
    return col.astype(object).where(col.isna(), col.astype(str)).astype("string")


def _year_array(col: pd.Series) -> np.ndarray:
    """Years as float64 with NaN for missing (exact for any realistic year)."""
    return pd.to_numeric(col, errors="coerce").astype("Float64").to_numpy(
        dtype=np.float64, na_value=np.nan)


def _with_open(years: np.ndarray) -> np.ndarray:
    """int64 years with :data:`_OPEN` where missing."""
    missing = np.isnan(years)
    out = np.nan_to_num(years, nan=0.0).astype(np.int64)
    out[missing] = _OPEN
    return out


def _active(frame: pd.DataFrame, year: int) -> np.ndarray:
    return ((frame["valid_from_year"].to_numpy() <= year)
            & (year <= frame["valid_to_year"].to_numpy())
            & (frame["uc"].to_numpy() >= 0))


def _horizon(frame: pd.DataFrame) -> int:
    vf = frame["valid_from_year"].to_numpy()
    vt = frame["valid_to_year"].to_numpy()
    finite_from = vf[vf != _OPEN]
    finite_to = vt[vt != _OPEN]
    cands = [int(finite_from.max())] if finite_from.size else []
    if finite_to.size:
        cands.append(int(finite_to.max()) + (1 if (vt == _OPEN).any() else 0))
    return max(cands) if cands else 0


class _Tree:
    """The forest of one year: unit codes sorted (= ids sorted), parent positions (-1 roots)."""

    def __init__(self, prep: _Prep, rows: pd.DataFrame, year: int) -> None:
        self.prep = prep
        self.year = year
        self.uc = rows["uc"].to_numpy()
        self.table_rows = rows["row"].to_numpy()
        pc = rows["pc"].to_numpy()
        pos_of_code = np.full(len(prep.names), -1, dtype=np.int64)
        pos_of_code[self.uc] = np.arange(len(self.uc))
        self.has_parent = pc >= 0
        pidx = np.where(self.has_parent, pos_of_code[np.where(self.has_parent, pc, 0)], -1)
        self.missing_parent = self.has_parent & (pidx < 0)
        self.pidx = np.where(self.missing_parent, -1, pidx)
        self.parent_codes = pc
        self._pos_of_code = pos_of_code

    def __len__(self) -> int:
        return len(self.uc)

    def ids(self, mask: np.ndarray) -> list[str]:
        """Sorted ids of the positions in ``mask``."""
        return [str(x) for x in self.prep.names[self.uc[mask]]]

    def position(self, unit_id: str) -> int:
        code = self.prep.code(unit_id)
        pos = int(self._pos_of_code[code]) if code >= 0 else -1
        if pos < 0:
            raise HierarchyError(f"Đơn vị '{unit_id}' không hoạt động trong năm {self.year}",
                                 f"Unit '{unit_id}' is not active in {self.year}")
        return pos

    def stuck(self) -> np.ndarray:
        """Positions whose ancestor chain never reaches a root (on or leading into a cycle)."""
        n = len(self)
        if n == 0:
            self._landing = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=bool)
        jump = np.append(np.where(self.pidx < 0, n, self.pidx), n)
        steps = 1
        while steps <= n:
            jump = jump[jump]
            steps *= 2
        self._landing = jump[:n]
        return jump[:n] != n

    def cycles(self) -> list[list[str]]:
        """Each cycle as its unit ids in parent order, starting from the smallest id."""
        stuck = self.stuck()
        seen: set[int] = set()
        cycles: list[list[str]] = []
        for start in sorted(set(self._landing[stuck].tolist())):
            if start in seen:
                continue
            cyc = [start]
            node = int(self.pidx[start])
            while node != start:
                cyc.append(node)
                node = int(self.pidx[node])
            seen.update(cyc)
            ids = [self.prep.name(int(self.uc[i])) for i in cyc]
            k = ids.index(min(ids))
            cycles.append(ids[k:] + ids[:k])
        return sorted(cycles)

    def subtree_mask(self, pos: int) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        mask[pos] = True
        has_parent = self.pidx >= 0
        safe = np.where(has_parent, self.pidx, 0)
        while True:
            new = mask | (has_parent & mask[safe])
            if (new == mask).all():
                return mask
            mask = new

    def has_children(self) -> np.ndarray:
        valid = self.pidx[self.pidx >= 0]
        return np.bincount(valid, minlength=len(self)) > 0


def _tree_from(prep: _Prep, frame: pd.DataFrame, year: int, strict: bool = True) -> _Tree:
    rows = frame[_active(frame, int(year))].sort_values(["uc", "valid_from_year"],
                                                        kind="mergesort")
    dup = rows["uc"].duplicated(keep=False).to_numpy()
    if strict and dup.any():
        ids = sorted({prep.name(c) for c in rows["uc"].to_numpy()[dup]})
        raise HierarchyError(
            f"Đơn vị {_ids_text(ids)} có nhiều hơn một dòng hiệu lực trong năm {year}",
            f"Units {_ids_text(ids)} have more than one valid row in {year}")
    rows = rows[~rows["uc"].duplicated(keep="first")]
    tree = _Tree(prep, rows, int(year))
    if strict and tree.missing_parent.any():
        bad = tree.ids(tree.missing_parent)
        raise HierarchyError(
            f"Đơn vị {_ids_text(bad)} có đơn vị cấp trên không tồn tại hoặc không hoạt động "
            f"trong năm {year}",
            f"Units {_ids_text(bad)} have a parent unknown or inactive in {year}")
    return tree


#: What is derived from a units frame, kept while that frame is alive (:class:`FrameMemo`): its
#: integer coding, each year's tree, each year's active rows in code order.
_PREPS: FrameMemo[_Prep] = FrameMemo(8)
_TREES: FrameMemo[_Tree] = FrameMemo(64)
_ACTIVE_ROWS: FrameMemo[np.ndarray] = FrameMemo(64)


def _prep_for(units: pd.DataFrame) -> _Prep:
    """The integer-coded form of ``units``, reused while the same frame is alive."""
    return _PREPS((units,), lambda: _Prep(units))


def _tree(units: pd.DataFrame, year: int) -> _Tree:
    def build() -> _Tree:
        prep = _prep_for(units)
        return _tree_from(prep, prep.frame, year)

    return _TREES((units,), build, (int(year),))


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _problem(check: str, unit_ids: Iterable[str], years: Iterable[int], vi: str,
             en: str) -> dict[str, Any]:
    return {"check": check, "unit_ids": sorted({str(u) for u in unit_ids}),
            "years": sorted({int(y) for y in years}), "message_vi": vi, "message_en": en,
            "severity": "critical"}


def find_hierarchy_problems(units: pd.DataFrame) -> list[dict[str, Any]]:
    """Return every problem of the units table (empty list when valid).

    Checks (``check`` values): ``missing-columns``, ``missing-id``, ``missing-from-year``,
    ``duplicate-key`` (same unit_id and valid_from_year), ``empty-validity``
    (valid_to < valid_from), ``overlapping-validity`` (two rows of one unit valid the same
    year), ``invalid-level`` (unit_level not in cap_tren/co_so/chi_bo), ``unknown-parent``
    (parent id in no row), ``inactive-parent`` (parent not active in a year the child is),
    ``cycle`` (a unit is its own ancestor in some year).

    Returns:
        Dicts with ``check``, ``unit_ids`` (sorted), ``years`` (sorted; open-ended validity up to
        the table's horizon), ``message_vi``, ``message_en``, ``severity`` (always
        ``"critical"``), sorted by check then unit ids.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "b"], "unit_name": ["A", "B"],
        ...                   "parent_id": [None, "x"], "unit_level": ["co_so", "chi_bo"],
        ...                   "valid_from_year": [2010, 2010], "valid_to_year": [None, None]})
        >>> [p["check"] for p in find_hierarchy_problems(u)]
        ['unknown-parent']
    """
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        return [_problem("missing-columns", [], [],
                         f"Bảng units thiếu cột: {', '.join(missing)}",
                         f"Table units lacks columns: {', '.join(missing)}")]
    prep = _prep_for(units)
    frame = prep.frame
    name = prep.name
    problems: list[dict[str, Any]] = []

    no_id = frame["uc"] < 0
    if no_id.any():
        rows = (frame.loc[no_id, "row"] + 1).tolist()
        problems.append(_problem("missing-id", [], [],
                                 f"Thiếu unit_id ở các dòng {rows}",
                                 f"Missing unit_id in rows {rows}"))
    no_from = frame["from_missing"] & ~no_id
    if no_from.any():
        ids = sorted({name(c) for c in frame.loc[no_from, "uc"]})
        problems.append(_problem("missing-from-year", ids, [],
                                 f"Thiếu valid_from_year của đơn vị {_ids_text(ids)}",
                                 f"Missing valid_from_year for units {_ids_text(ids)}"))
    ok = frame[~no_id & ~frame["from_missing"]]

    dup = ok.duplicated(["uc", "valid_from_year"], keep=False)
    for (uc, vf), _g in ok[dup].groupby(["uc", "valid_from_year"], sort=True):
        uid = name(uc)
        problems.append(_problem(
            "duplicate-key", [uid], [vf],
            f"Đơn vị '{uid}' có nhiều dòng cùng valid_from_year {vf}",
            f"Unit '{uid}' has several rows with valid_from_year {vf}"))

    empty = ok["valid_to_year"] < ok["valid_from_year"]
    for r in ok[empty].itertuples():
        uid = name(r.uc)
        problems.append(_problem(
            "empty-validity", [uid], [r.valid_from_year, r.valid_to_year],
            f"Đơn vị '{uid}': valid_to_year {r.valid_to_year} nhỏ hơn valid_from_year "
            f"{r.valid_from_year} (không hiệu lực năm nào)",
            f"Unit '{uid}': valid_to_year {r.valid_to_year} is before valid_from_year "
            f"{r.valid_from_year} (valid in no year)"))
    ok = ok[~empty]

    horizon = _horizon(ok) if len(ok) else 0
    srt = ok[~ok.duplicated(["uc", "valid_from_year"])].sort_values(
        ["uc", "valid_from_year"], kind="mergesort")
    prev_to = srt.groupby("uc", sort=False)["valid_to_year"].shift()
    prev_from = srt.groupby("uc", sort=False)["valid_from_year"].shift()
    overlap = prev_to.notna() & (srt["valid_from_year"] <= prev_to.fillna(-1))
    for r, pf, pt in zip(srt[overlap].itertuples(), prev_from[overlap], prev_to[overlap],
                         strict=True):
        uid = name(r.uc)
        end = int(min(pt, r.valid_to_year))
        years = range(int(r.valid_from_year), min(end, horizon) + 1)
        shown = format_years(years, open_from=horizon if end == _OPEN else None)
        problems.append(_problem(
            "overlapping-validity", [uid], years,
            f"Đơn vị '{uid}' có hai dòng cùng hiệu lực trong các năm {shown} "
            f"(dòng từ {int(pf)} và dòng từ {r.valid_from_year})",
            f"Unit '{uid}' has two rows valid in {shown} (rows from {int(pf)} and "
            f"from {r.valid_from_year})"))

    levels = units["unit_level"].iloc[ok["row"].to_numpy()]
    bad_level = (~levels.isin(UNIT_LEVELS) | levels.isna()).to_numpy()
    if bad_level.any():
        bad = pd.DataFrame({"uc": ok["uc"].to_numpy()[bad_level],
                            "level": levels.astype(object).to_numpy()[bad_level]})
        for uc, g in bad.groupby("uc", sort=True):
            uid = name(uc)
            vals = sorted({str(v) for v in g["level"]})
            problems.append(_problem(
                "invalid-level", [uid], [],
                f"Đơn vị '{uid}' có unit_level không hợp lệ: {', '.join(vals)} "
                f"(cho phép: {', '.join(UNIT_LEVELS)})",
                f"Unit '{uid}' has an invalid unit_level: {', '.join(vals)} "
                f"(allowed: {', '.join(UNIT_LEVELS)})"))

    is_unit = np.zeros(len(prep.names), dtype=bool)
    is_unit[ok["uc"].to_numpy()] = True
    pc = ok["pc"].to_numpy()
    unknown = (pc >= 0) & ~is_unit[np.where(pc >= 0, pc, 0)]
    pairs = sorted({(name(u), name(p)) for u, p in zip(ok["uc"].to_numpy()[unknown],
                                                        pc[unknown], strict=True)})
    for uid, pid in pairs:
        problems.append(_problem(
            "unknown-parent", [uid], [],
            f"Đơn vị '{uid}' có đơn vị cấp trên '{pid}' không có trong bảng units",
            f"Unit '{uid}' has parent '{pid}', which is not in the units table"))

    if len(ok):
        problems.extend(_per_year_problems(prep, ok, is_unit))
    order = {"missing-columns": 0}
    problems.sort(key=lambda p: (order.get(p["check"], 1), p["check"], p["unit_ids"],
                                 p["years"]))
    return problems


def _epochs(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """Year spans [start, end] in which the set of active rows does not change."""
    vf = frame["valid_from_year"].to_numpy()
    vt = frame["valid_to_year"].to_numpy()
    if len(vf) == 0:
        return []
    bounds = set(vf[vf != _OPEN].tolist()) | {int(t) + 1 for t in vt[vt != _OPEN].tolist()}
    starts = sorted(bounds)
    horizon = _horizon(frame)
    spans = []
    for i, s in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else horizon
        if s <= horizon and end >= s:
            spans.append((s, end))
    return spans


def _per_year_problems(prep: _Prep, ok: pd.DataFrame,
                       is_unit: np.ndarray) -> list[dict[str, Any]]:
    horizon = _horizon(ok)
    open_ended = bool((ok["valid_to_year"] == _OPEN).any())
    inactive: dict[tuple[int, int], set[int]] = {}
    cycles: dict[tuple[str, ...], set[int]] = {}
    for start, end in _epochs(ok):
        tree = _tree_from(prep, ok, start, strict=False)
        years = range(start, end + 1)
        for pos in np.flatnonzero(tree.missing_parent):
            pc = int(tree.parent_codes[pos])
            if is_unit[pc]:
                inactive.setdefault((int(tree.uc[pos]), pc), set()).update(years)
        if len(tree):
            for cyc in tree.cycles():
                cycles.setdefault(tuple(cyc), set()).update(years)
    out = []
    for (uc, pc), ys in sorted(inactive.items(), key=lambda kv: (prep.name(kv[0][0]),
                                                                 prep.name(kv[0][1]))):
        uid, pid = prep.name(uc), prep.name(pc)
        shown = format_years(ys, open_from=horizon if open_ended else None)
        out.append(_problem(
            "inactive-parent", [uid], ys,
            f"Đơn vị '{uid}' hoạt động nhưng đơn vị cấp trên '{pid}' không hoạt động trong "
            f"các năm {shown}",
            f"Unit '{uid}' is active but its parent '{pid}' is not, in {shown}"))
    for cyc, ys in sorted(cycles.items()):
        shown = format_years(ys, open_from=horizon if open_ended else None)
        path = " → ".join([*cyc, cyc[0]])
        out.append(_problem(
            "cycle", cyc, ys,
            f"Chu trình trong cây đơn vị: {path} (các năm {shown})",
            f"Cycle in the unit tree: {path} (years {shown})"))
    return out


def validate_units(units: pd.DataFrame, lang: str = "vi") -> None:
    """Raise :class:`HierarchyError` if the units table has any problem.

    The message lists up to ten problems (all of them are in ``error.problems``); see
    :func:`find_hierarchy_problems` for the checks.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "b"], "unit_name": ["A", "B"],
        ...                   "parent_id": ["b", "a"], "unit_level": ["co_so", "chi_bo"],
        ...                   "valid_from_year": [2010, 2010], "valid_to_year": [2012, 2012]})
        >>> validate_units(u)
        Traceback (most recent call last):
        ...
        analysis.hierarchy.HierarchyError: Chu trình trong cây đơn vị: a → b → a (các năm 2010–2012)
    """
    problems = find_hierarchy_problems(units)
    if not problems:
        return
    vi = [p["message_vi"] for p in problems[:10]]
    en = [p["message_en"] for p in problems[:10]]
    if len(problems) > 10:
        vi.append(f"… và {len(problems) - 10} lỗi khác")
        en.append(f"… and {len(problems) - 10} more")
    err = HierarchyError("\n".join(vi), "\n".join(en), problems)
    if lang == "en":
        err.args = (err.message_en,)
    raise err


# ---------------------------------------------------------------------------------------------
# The tree of one year
# ---------------------------------------------------------------------------------------------


def units_in_year(units: pd.DataFrame, year: int) -> pd.DataFrame:
    """Return the rows active in ``year``, one per unit_id, sorted by unit_id.

    Raises:
        HierarchyError: A unit has two rows valid in ``year``.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "a"], "parent_id": [None, None],
        ...                   "valid_from_year": [2010, 2015], "valid_to_year": [2014, None]})
        >>> units_in_year(u, 2016)["valid_from_year"].tolist()
        [2015]
    """
    def build() -> np.ndarray:
        prep = _prep_for(units)
        frame = prep.frame
        sel = frame[_active(frame, int(year))]
        dup = sel["uc"].duplicated(keep=False).to_numpy()
        if dup.any():
            ids = sorted({prep.name(c) for c in sel["uc"].to_numpy()[dup]})
            raise HierarchyError(
                f"Đơn vị {_ids_text(ids)} có nhiều hơn một dòng hiệu lực trong năm {year}",
                f"Units {_ids_text(ids)} have more than one valid row in {year}")
        return sel.sort_values("uc", kind="mergesort")["row"].to_numpy()

    return units.iloc[_ACTIVE_ROWS((units,), build, (int(year),))].reset_index(drop=True)


def subtree_ids(units: pd.DataFrame, unit_id: str, year: int) -> list[str]:
    """Return ``unit_id`` and its descendants in the tree of ``year``, sorted.

    Raises:
        HierarchyError: ``unit_id`` is not active in ``year``, or the tree of that year is invalid.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a", "b"], "parent_id": [None, "r", "a"],
        ...                   "valid_from_year": [2010] * 3, "valid_to_year": [None] * 3})
        >>> subtree_ids(u, "a", 2014)
        ['a', 'b']
    """
    tree = _tree(units, year)
    mask = tree.subtree_mask(tree.position(unit_id))
    return tree.ids(mask)


def leaf_ids(units: pd.DataFrame, unit_id: str, year: int) -> list[str]:
    """Return the active units of the subtree of ``unit_id`` that have no active children.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a", "b", "c"], "parent_id": [None, "r", "a", "r"],
        ...                   "valid_from_year": [2010] * 4, "valid_to_year": [None] * 4})
        >>> leaf_ids(u, "r", 2014)
        ['b', 'c']
    """
    tree = _tree(units, year)
    mask = tree.subtree_mask(tree.position(unit_id)) & ~tree.has_children()
    return tree.ids(mask)


def descendants_at_level(units: pd.DataFrame, unit_id: str, year: int, level: str) -> list[str]:
    """Return the units of ``unit_id``'s subtree (itself included) at ``unit_level == level``.

    The unit itself is included when it is at that level, so the grassroots organisations
    (``co_so``) under a ``co_so`` unit are ``[unit_id]``.

    Raises:
        ValueError: ``level`` is not one of ``cap_tren``, ``co_so``, ``chi_bo``.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a", "b"], "parent_id": [None, "r", "a"],
        ...                   "unit_level": ["cap_tren", "co_so", "chi_bo"],
        ...                   "valid_from_year": [2010] * 3, "valid_to_year": [None] * 3})
        >>> descendants_at_level(u, "r", 2014, "chi_bo")
        ['b']
    """
    if level not in UNIT_LEVELS:
        raise ValueError(f"Cấp đơn vị '{level}' không hợp lệ (cho phép: {', '.join(UNIT_LEVELS)})")
    _require_columns(units, ("unit_level",), "units")
    tree = _tree(units, year)
    mask = tree.subtree_mask(tree.position(unit_id))
    levels = units["unit_level"].iloc[tree.table_rows]
    mask &= (levels == level).to_numpy(dtype=bool, na_value=False)
    return tree.ids(mask)


def _closure_arrays(tree: _Tree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(tree)
    if tree.stuck().any():
        names = "; ".join(" → ".join([*c, c[0]]) for c in tree.cycles())
        raise HierarchyError(f"Chu trình trong cây đơn vị năm {tree.year}: {names}",
                             f"Cycle in the unit tree in {tree.year}: {names}")
    anc_parts = [np.arange(n)]
    unit_parts = [np.arange(n)]
    depth_parts = [np.zeros(n, dtype=np.int64)]
    cur = tree.pidx.copy()
    units_idx = np.arange(n)
    depth = 0
    while True:
        keep = cur >= 0
        if not keep.any():
            break
        depth += 1
        cur, units_idx = cur[keep], units_idx[keep]
        anc_parts.append(cur)
        unit_parts.append(units_idx)
        depth_parts.append(np.full(len(cur), depth, dtype=np.int64))
        cur = tree.pidx[cur]
    anc = np.concatenate(anc_parts)
    uni = np.concatenate(unit_parts)
    dep = np.concatenate(depth_parts)
    order = np.lexsort((uni, anc))  # positions are sorted like ids
    return anc[order], uni[order], dep[order]


def _closure_frame(tree: _Tree) -> pd.DataFrame:
    anc, uni, dep = _closure_arrays(tree)
    return pd.DataFrame({
        "ancestor_id": tree.prep.string_ids(tree.uc[anc]),
        "unit_id": tree.prep.string_ids(tree.uc[uni]),
        "depth": dep,
    })


def closure(units: pd.DataFrame, year: int) -> pd.DataFrame:
    """Return the ancestor closure of the tree of ``year``.

    One row per (ancestor, unit) pair with ``ancestor_id`` equal to the unit or above it,
    including depth-0 self rows; sorted by ancestor_id then unit_id. Roll up leaf facts with
    ``facts.merge(closure(...), on="unit_id").groupby("ancestor_id")[counts].sum()``.

    Raises:
        HierarchyError: Duplicate rows, a missing/inactive parent or a cycle in ``year``.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a"], "parent_id": [None, "r"],
        ...                   "valid_from_year": [2010] * 2, "valid_to_year": [None] * 2})
        >>> closure(u, 2014).values.tolist()
        [['a', 'a', 0], ['r', 'a', 1], ['r', 'r', 0]]
    """
    return _closure_frame(_tree(units, year))


def closure_all_years(units: pd.DataFrame, years: Iterable[int]) -> pd.DataFrame:
    """Return :func:`closure` for each year, stacked with a ``year`` column first.

    Years whose set of active rows is identical share one computation.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a"], "parent_id": [None, "r"],
        ...                   "valid_from_year": [2010, 2015], "valid_to_year": [None] * 2})
        >>> closure_all_years(u, [2014, 2015]).groupby("year").size().to_dict()
        {2014: 1, 2015: 3}
    """
    prep = _prep_for(units)
    cache: dict[bytes, pd.DataFrame] = {}
    parts = []
    for year in sorted({int(y) for y in years}):
        sig = _active(prep.frame, year).tobytes()
        if sig not in cache:
            cache[sig] = _closure_frame(_tree_from(prep, prep.frame, year))
        part = cache[sig]
        parts.append(pd.DataFrame({"year": np.full(len(part), year, dtype=np.int64),
                                   "ancestor_id": part["ancestor_id"].array,
                                   "unit_id": part["unit_id"].array,
                                   "depth": part["depth"].to_numpy()}))
    if not parts:
        return pd.DataFrame({"year": pd.Series(dtype="int64"),
                             "ancestor_id": pd.Series(dtype="string"),
                             "unit_id": pd.Series(dtype="string"),
                             "depth": pd.Series(dtype="int64")})
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Merges and comparable series
# ---------------------------------------------------------------------------------------------


def find_merge_problems(units: pd.DataFrame, merges: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the inconsistencies between ``merges`` and ``units`` (empty list when consistent).

    Checks: ``merge-columns``, ``merge-self`` (a unit merged into itself), ``merge-unknown``
    (a unit id in no row), ``merge-duplicate`` (a unit merged more than once),
    ``merge-source-years`` (from_unit's last active year is not ``year - 1``),
    ``merge-target-inactive`` (to_unit not active in ``year``), ``merge-cycle``.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "b"], "parent_id": [None, None],
        ...                   "valid_from_year": [2010, 2010], "valid_to_year": [2018, None]})
        >>> find_merge_problems(u, pd.DataFrame({"from_unit_id": ["a"], "to_unit_id": ["b"],
        ...                                      "year": [2019]}))
        []
    """
    missing = [c for c in _MERGE_COLUMNS if c not in merges.columns]
    if missing:
        return [_problem("merge-columns", [], [], f"Bảng merges thiếu cột: {', '.join(missing)}",
                         f"Table merges lacks columns: {', '.join(missing)}")]
    prep = _prep_for(units)
    problems: list[dict[str, Any]] = []
    m = merges[list(_MERGE_COLUMNS)]
    counts = m["from_unit_id"].astype(str).value_counts()
    for uid in sorted(counts[counts > 1].index):
        ys = m.loc[m["from_unit_id"].astype(str) == uid, "year"].tolist()
        problems.append(_problem(
            "merge-duplicate", [uid], ys,
            f"Đơn vị '{uid}' được sáp nhập nhiều lần (năm {format_years(ys)})",
            f"Unit '{uid}' is merged more than once (years {format_years(ys)})"))
    frame = prep.frame[prep.frame["uc"] >= 0]
    n_codes = max(len(prep.names), 1)
    last_to = np.full(n_codes, -1, dtype=np.int64)
    np.maximum.at(last_to, frame["uc"].to_numpy(), frame["valid_to_year"].to_numpy())
    src_ids = m["from_unit_id"].astype(str).tolist()
    dst_ids = m["to_unit_id"].astype(str).tolist()
    merge_years = pd.to_numeric(m["year"]).astype("int64").tolist()
    src_codes = [prep.code(u) for u in src_ids]
    dst_codes = [prep.code(u) for u in dst_ids]
    # which (to_unit, year) pairs have an active row: one vectorised join
    pairs = pd.DataFrame({"uc": dst_codes, "year": merge_years}).drop_duplicates()
    joined = pairs.merge(frame[["uc", "valid_from_year", "valid_to_year"]], on="uc")
    act = joined[(joined["valid_from_year"] <= joined["year"])
                 & (joined["year"] <= joined["valid_to_year"])]
    active_pairs = set(zip(act["uc"].tolist(), act["year"].tolist(), strict=True))
    for src, dst, year, sc, dc in zip(src_ids, dst_ids, merge_years, src_codes, dst_codes,
                                      strict=True):
        if src == dst:
            problems.append(_problem("merge-self", [src], [year],
                                     f"Đơn vị '{src}' được sáp nhập vào chính nó năm {year}",
                                     f"Unit '{src}' is merged into itself in {year}"))
            continue
        unknown = [u for u, c in ((src, sc), (dst, dc)) if c < 0 or last_to[c] < 0]
        if unknown:
            problems.append(_problem(
                "merge-unknown", unknown, [year],
                f"Sáp nhập năm {year} nêu đơn vị không có trong bảng units: {_ids_text(unknown)}",
                f"Merge of {year} names units not in the units table: {_ids_text(unknown)}"))
            continue
        last = int(last_to[sc])
        if last != year - 1:
            shown = "vẫn hoạt động" if last == _OPEN else f"năm cuối {last}"
            shown_en = "still active" if last == _OPEN else f"last year {last}"
            problems.append(_problem(
                "merge-source-years", [src], [year],
                f"Đơn vị '{src}' sáp nhập vào '{dst}' năm {year} nên năm hoạt động cuối phải là "
                f"{year - 1}, nhưng bảng units ghi: {shown}",
                f"Unit '{src}' merges into '{dst}' in {year}, so its last active year must be "
                f"{year - 1}, but the units table says: {shown_en}"))
        if (dc, year) not in active_pairs:
            problems.append(_problem(
                "merge-target-inactive", [dst], [year],
                f"Đơn vị nhận sáp nhập '{dst}' không hoạt động năm {year}",
                f"Merge target '{dst}' is not active in {year}"))
    succ = dict(zip(m["from_unit_id"].astype(str), m["to_unit_id"].astype(str), strict=True))
    reported: set[str] = set()
    for start in sorted(succ):
        path, node = [start], succ[start]
        while node in succ and node not in path:
            path.append(node)
            node = succ[node]
        if node in path and not reported & set(path):
            cyc = path[path.index(node):]
            reported.update(cyc)
            problems.append(_problem(
                "merge-cycle", cyc, [],
                f"Chuỗi sáp nhập khép vòng: {' → '.join([*cyc, node])}",
                f"Merges form a cycle: {' → '.join([*cyc, node])}"))
    return problems


def comparable_map(units: pd.DataFrame, merges: pd.DataFrame, target_year: int) -> pd.DataFrame:
    """Map every unit-year before ``target_year`` to its successor as of ``target_year``.

    Units merged (in a year ≤ ``target_year``) into another are mapped to it, following chains
    (A→C in 2019, C→D in 2021: A's years map to D for a target of 2021 or later, to C for 2019 or
    2020). Other units map to themselves. Re-base earlier years with :func:`rebase`; label such
    figures "so sánh được" (comparable).

    Returns:
        Columns ``year`` (Int64), ``unit_id``, ``comparable_unit_id`` (string), sorted by year then
        unit_id.

    Raises:
        HierarchyError: ``merges`` is inconsistent with ``units`` (see :func:`find_merge_problems`).

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "b"], "parent_id": [None, None],
        ...                   "valid_from_year": [2017, 2017], "valid_to_year": [2018, None]})
        >>> mg = pd.DataFrame({"from_unit_id": ["a"], "to_unit_id": ["b"], "year": [2019]})
        >>> comparable_map(u, mg, 2020).values.tolist()
        [[2017, 'a', 'b'], [2017, 'b', 'b'], [2018, 'a', 'b'], [2018, 'b', 'b'], [2019, 'b', 'b']]
    """
    problems = find_merge_problems(units, merges)
    if problems:
        raise HierarchyError("\n".join(p["message_vi"] for p in problems),
                             "\n".join(p["message_en"] for p in problems), problems)
    target = int(target_year)
    prep = _prep_for(units)
    frame = prep.frame[(prep.frame["uc"] >= 0) & ~prep.frame["from_missing"]]
    start = frame["valid_from_year"].to_numpy()
    end = np.minimum(frame["valid_to_year"].to_numpy(), target - 1)
    lengths = np.clip(end - start + 1, 0, None)
    codes = np.repeat(frame["uc"].to_numpy(), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    years = np.repeat(start, lengths) + offsets
    in_force = merges[pd.to_numeric(merges["year"]) <= target]
    succ = dict(zip(in_force["from_unit_id"].astype(str), in_force["to_unit_id"].astype(str),
                    strict=True))
    successor = np.arange(len(prep.names), dtype=np.int64)
    for uid in succ:
        node = uid
        while node in succ:
            node = succ[node]
        successor[prep.code(uid)] = prep.code(node)
    key = np.sort(years * len(prep.names) + codes)  # sort-based unique: fast on millions
    if len(key):
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    years_u, codes_u = np.divmod(key, max(len(prep.names), 1))
    return pd.DataFrame({
        "year": pd.array(years_u, dtype="Int64"),
        "unit_id": prep.string_ids(codes_u),
        "comparable_unit_id": prep.string_ids(successor[codes_u]),
    })


def rebase(facts: pd.DataFrame, mapping: pd.DataFrame, count_cols: list[str]) -> pd.DataFrame:
    """Restate facts on comparable units: sum ``count_cols`` onto ``comparable_unit_id``.

    Rows without a mapping (e.g. the target year itself) keep their unit. All columns other than
    ``count_cols`` are grouping keys (with ``unit_id`` replaced by the comparable unit), so the
    totals over all units of every other key are unchanged.

    Args:
        facts: Frame with ``unit_id``, ``year`` and the count columns (not modified).
        mapping: Output of :func:`comparable_map`.
        count_cols: Columns to sum (nulls are skipped; an all-null group stays null).

    Returns:
        Same columns as ``facts``, ``unit_id`` holding the comparable unit, sorted by the keys.

    Example:
        >>> f = pd.DataFrame({"unit_id": ["a", "b"], "year": [2018, 2018], "n": [2, 3]})
        >>> m = pd.DataFrame({"year": [2018, 2018], "unit_id": ["a", "b"],
        ...                   "comparable_unit_id": ["b", "b"]})
        >>> rebase(f, m, ["n"]).values.tolist()
        [['b', 2018, 5]]
    """
    _require_columns(facts, ("unit_id", "year", *count_cols), "facts")
    _require_columns(mapping, ("year", "unit_id", "comparable_unit_id"), "mapping")
    if mapping.duplicated(["year", "unit_id"]).any():
        raise HierarchyError("Bảng ánh xạ so sánh có (năm, đơn vị) trùng lặp",
                             "The comparable mapping has duplicate (year, unit) pairs")
    keys = [c for c in facts.columns if c not in count_cols]
    same = (_as_text(mapping["unit_id"]) == _as_text(mapping["comparable_unit_id"]))
    mapping = mapping[~same.fillna(False).to_numpy(dtype=bool)]  # identity rows change nothing
    nf, nm = len(facts), len(mapping)
    both = pd.concat([_as_text(facts["unit_id"]), _as_text(mapping["unit_id"]),
                      _as_text(mapping["comparable_unit_id"])], ignore_index=True)
    codes, uniques = pd.factorize(both, sort=True)  # code order = id order
    f_code, m_code, to_code = codes[:nf], codes[nf:nf + nm], codes[nf + nm:]
    n = max(len(uniques), 1)
    f_year = pd.to_numeric(facts["year"]).astype("Int64").to_numpy(dtype=np.float64,
                                                                     na_value=np.nan)
    m_year = pd.to_numeric(mapping["year"]).astype("Int64").to_numpy(dtype=np.int64)
    f_key = np.where(np.isnan(f_year) | (f_code < 0), -1,
                     np.nan_to_num(f_year).astype(np.int64) * n + f_code)
    hit = pd.Index(m_year * n + m_code).get_indexer(f_key)
    hit[f_key < 0] = -1
    new_code = np.where(hit >= 0, to_code[np.where(hit >= 0, hit, 0)], f_code)
    work = facts.copy()
    work["unit_id"] = new_code  # group on integer codes, names restored below
    out = work.groupby(keys, sort=True, dropna=False, as_index=False)[count_cols].sum(min_count=1)
    out_codes = out["unit_id"].to_numpy(dtype=np.int64)
    names = pd.array(uniques).take(np.where(out_codes >= 0, out_codes, 0))
    names = pd.Series(names).where(out_codes >= 0, None)
    out["unit_id"] = names.to_numpy(dtype=object) if facts["unit_id"].dtype == object else \
        names.astype(facts["unit_id"].dtype).array
    for c in count_cols:
        dtype = facts[c].dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) or not out[c].isna().any():
            out[c] = out[c].astype(dtype)
    return out[list(facts.columns)].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Lookups
# ---------------------------------------------------------------------------------------------


def unit_name(units: pd.DataFrame, unit_id: str, year: int | None = None) -> str:
    """Return the unit's name in ``year`` (default: its latest row).

    Raises:
        HierarchyError: Unknown unit, or not active in ``year``.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "a"], "unit_name": ["Cũ", "Mới"],
        ...                   "parent_id": [None, None], "valid_from_year": [2010, 2020],
        ...                   "valid_to_year": [2019, None]})
        >>> unit_name(u, "a", 2015), unit_name(u, "a")
        ('Cũ', 'Mới')
    """
    _require_columns(units, ("unit_name",), "units")
    rows = _prep_for(units).rows_of(unit_id)
    if rows.empty:
        raise HierarchyError(f"Không có đơn vị '{unit_id}' trong bảng units",
                             f"Unit '{unit_id}' is not in the units table")
    if year is not None:
        rows = rows[_active(rows, int(year))]
        if rows.empty:
            raise HierarchyError(f"Đơn vị '{unit_id}' không hoạt động trong năm {year}",
                                 f"Unit '{unit_id}' is not active in {year}")
    row = int(rows.sort_values("valid_from_year", kind="mergesort")["row"].iloc[-1])
    return str(units["unit_name"].iloc[row])


def known_unit_ids(units: pd.DataFrame) -> list[str]:
    """Return every unit id of the table, sorted and unique.

    Example:
        >>> known_unit_ids(pd.DataFrame({"unit_id": ["b", "a", "b"]}))
        ['a', 'b']
    """
    ids = _as_text(units["unit_id"]).dropna().unique()
    return sorted(ids.tolist()) if hasattr(ids, "tolist") else sorted(str(u) for u in ids)


def years_active(units: pd.DataFrame, unit_id: str, until: int | None = None) -> list[int]:
    """Return the years ``unit_id`` is active, sorted.

    Open-ended validity (``valid_to_year`` null: still active) counts up to ``until``, by default
    :data:`analysis.config.MAX_YEAR`; callers intersect the result with the years that have data.
    (A horizon taken from the units table alone would end a still-active unit at the last year the
    tree changed, hiding every later year of data.)

    Raises:
        HierarchyError: Unknown unit.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "b"], "parent_id": [None, None],
        ...                   "valid_from_year": [2012, 2010], "valid_to_year": [None, 2014]})
        >>> years_active(u, "a")[:4], years_active(u, "a")[-1]
        ([2012, 2013, 2014, 2015], 2100)
        >>> years_active(u, "a", until=2013)
        [2012, 2013]
    """
    prep = _prep_for(units)
    rows = prep.rows_of(unit_id)
    if rows.empty:
        raise HierarchyError(f"Không có đơn vị '{unit_id}' trong bảng units",
                             f"Unit '{unit_id}' is not in the units table")
    last = MAX_YEAR if until is None else int(until)
    years: set[int] = set()
    for vf, vt in zip(rows["valid_from_year"], rows["valid_to_year"], strict=True):
        if vf == _OPEN:
            continue
        years.update(range(int(vf), int(min(vt, last)) + 1))
    return sorted(years)
