"""Matching unit names and codes written in workbooks against ``units.csv``.

Names are compared after folding and removing the usual prefixes ("Chi bộ", "CB", "Đảng bộ",
"ĐB" …) and expanding a few abbreviations ("TDP" → "tổ dân phố"); the rules are data in
``reference/unit_name_rules.csv``. A name is looked up among the units active in the sheet's year,
first inside the committee the sheet belongs to, then everywhere. A name that matches no unit, or
several, is never guessed: the row goes to quarantine with the candidates named.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from analysis import hierarchy
from analysis.text import fold


@cache
def _rules() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    raw = resources.files("analysis.reference").joinpath("unit_name_rules.csv").read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    prefixes, abbrevs = [], []
    for r in csv.DictReader(lines):
        if r["kind"] == "prefix":
            prefixes.append(fold(r["text"]))
        elif r["kind"] == "abbreviation":
            abbrevs.append((fold(r["text"]), fold(r["replacement"] or "")))
    return tuple(sorted(prefixes, key=len, reverse=True)), tuple(abbrevs)


def name_key(name: str) -> str:
    """The comparison key of a unit name: folded, abbreviations expanded, prefix removed.

    Example:
        >>> name_key("CB TDP 1")
        'to dan pho 1'
        >>> name_key("Chi bộ Tổ dân phố 1")
        'to dan pho 1'
    """
    prefixes, abbrevs = _rules()
    words = fold(name).split()
    expanded = []
    for w in words:
        rep = next((r for a, r in abbrevs if a == w), None)
        expanded.extend((rep or w).split())
    key = " ".join(expanded)
    for p in prefixes:
        if key == p:
            return key
        if key.startswith(p + " "):
            key = key[len(p) + 1:]
            break
    return key


@dataclass(frozen=True)
class UnitMatch:
    """Result of matching one cell.

    Attributes:
        unit_id: Matched unit, or None.
        reason_code: ``unit_unknown`` / ``unit_ambiguous`` / ``unit_inactive`` when unmatched.
        reason: Vietnamese reason naming the candidates.
        candidates: Candidate unit ids (closest first).
    """

    unit_id: str | None
    reason_code: str | None = None
    reason: str | None = None
    candidates: tuple[str, ...] = ()


#: Words that open a committee's name and mean the same committee in a title: "Đảng bộ xã X" is
#: headed "Đảng ủy xã X" or "Ban Chấp hành Đảng bộ xã X" by the committee itself.
_COMMITTEE_WORDS = ("dang bo", "dang uy")


def _committee_aliases(folded: str) -> list[str]:
    """Other spellings of a committee's folded name by which its own forms head themselves."""
    for word in _COMMITTEE_WORDS:
        if folded.startswith(word + " "):
            rest = folded[len(word) + 1:]
            return [f"{w} {rest}" for w in _COMMITTEE_WORDS if w != word]
    return []


class UnitMatcher:
    """Looks up units by code or name for a given year and scope."""

    def __init__(self, units: pd.DataFrame) -> None:
        self.units = units
        self._ids_cache: set[str] | None = None
        self._by_year: dict[int, pd.DataFrame] = {}
        self._subtrees: dict[tuple[str, int], frozenset[str]] = {}
        self._index: dict[int, dict[str, set[str]]] = {}
        self._active_ids: dict[int, frozenset[str]] = {}
        self._all_keys: dict[str, set[str]] | None = None
        self._committees: dict[int, list[tuple[str, str]]] = {}
        self._committee_lookup: dict[int, dict[str, tuple[int, str]]] = {}
        self._parent_ids: dict[int, frozenset[str]] = {}
        self._id_key_cache: dict[int, frozenset[str]] = {}
        self._all_committees: dict[str, set[str]] | None = None

    def _subtree(self, scope: str, year: int) -> frozenset[str]:
        key = (scope, year)
        if key not in self._subtrees:
            self._subtrees[key] = frozenset(hierarchy.subtree_ids(self.units, scope, year))
        return self._subtrees[key]

    def _active(self, year: int) -> pd.DataFrame:
        if year not in self._by_year:
            df = hierarchy.units_in_year(self.units, year).copy()
            df["key"] = [name_key(n) for n in df["unit_name"].astype(str)]
            df["folded"] = [fold(n) for n in df["unit_name"].astype(str)]
            self._by_year[year] = df
            index: dict[str, set[str]] = {}
            for uid, key, folded in zip(df["unit_id"], df["key"], df["folded"], strict=True):
                index.setdefault(key, set()).add(str(uid))
                index.setdefault("=" + folded, set()).add(str(uid))
            self._index[year] = index
            self._active_ids[year] = frozenset(df["unit_id"].astype(str))
        return self._by_year[year]

    @property
    def _ids(self) -> set[str]:
        """Every unit id of units.csv (built on first use: a national tree has ~400 000)."""
        if self._ids_cache is None:
            self._ids_cache = set(self.units["unit_id"].to_numpy(dtype=object, na_value=""))
        return self._ids_cache

    def _committee_keys(self, year: int) -> list[tuple[str, str]]:
        """(folded key, unit id) of every committee (unit with children) active in ``year``."""
        if year not in self._committees:
            active = self._active(year)
            parents = set(active["parent_id"].dropna().astype(str))
            keys = []
            for uid, folded in zip(active["unit_id"].astype(str), active["folded"], strict=True):
                if uid in parents:
                    keys.extend((k, uid) for k in (folded, *_committee_aliases(folded), fold(uid.replace("-", " ")))
                                if k)
            self._committees[year] = keys
        return self._committees[year]

    def scope_of(self, text: str, year: int) -> str | None:
        """The committee (non-leaf unit) whose full name appears in ``text`` (title rows, file name).

        The committee that lies inside every other one named wins (a letterhead names the level above
        too); otherwise the longest matching name, so "Đảng bộ phường Tân Thanh" beats "Tân Thanh".
        """
        index = self._committee_index(year)
        words = fold(text).split()
        longest = max((k.count(" ") + 1 for k in index), default=0)
        found = [(len(key), -index[key][0], index[key][1], key)
                 for i in range(len(words)) for n in range(1, min(longest, len(words) - i) + 1)
                 if (key := " ".join(words[i:i + n])) in index]
        if not found:
            return None
        # a letterhead names the level above too ("ĐẢNG BỘ HUYỆN X" over "ĐẢNG ỦY XÃ Y"): the committee
        # inside every other one named by its full name is the sheet's (an id's bare words, "lai chau"
        # inside "Tỉnh Lai Châu", name no committee)
        named = {uid for _, _, uid, key in found if key not in self._id_keys(year)}
        inner = [u for u in named if all(u in self._subtree(o, year) for o in named - {u})]
        return inner[0] if len(named) > 1 and len(inner) == 1 else max(found)[2]

    def _id_keys(self, year: int) -> frozenset[str]:
        """Committee keys made of a unit id's words only (``tan-thanh`` → "tan thanh")."""
        if year not in self._id_key_cache:
            names = {k for k, uid in self._committee_keys(year) if k != fold(uid.replace("-", " "))}
            self._id_key_cache[year] = frozenset(k for k, _ in self._committee_keys(year)) - names
        return self._id_key_cache[year]

    def _committee_index(self, year: int) -> dict[str, tuple[int, str]]:
        """Folded committee key -> (its first place in :meth:`_committee_keys`, unit id)."""
        if year not in self._committee_lookup:
            index: dict[str, tuple[int, str]] = {}
            for order, (key, uid) in enumerate(self._committee_keys(year)):
                index.setdefault(key, (order, uid))
            self._committee_lookup[year] = index
        return self._committee_lookup[year]

    def inactive_committees_named(self, text: str, year: int) -> list[str]:
        """Committees a title names by their full name that are not active in ``year`` (a commune merged
        away, or not yet formed): whose figures these are is not known."""
        if self._all_committees is None:
            parents = set(self.units["parent_id"].dropna().astype(str))
            self._all_committees = {}
            for uid, name in zip(self.units["unit_id"].astype(str), self.units["unit_name"].astype(str), strict=True):
                if uid in parents:
                    for key in (fold(name), *_committee_aliases(fold(name))):
                        self._all_committees.setdefault(key, set()).add(uid)
        folded = f" {fold(text)} "
        active = self._active_ids[year] if year in self._active_ids else frozenset(self._active(year)["unit_id"])
        return sorted({uid for key, ids in self._all_committees.items() if f" {key} " in folded
                       for uid in ids if uid not in active})

    def names_units(self, texts: list[str], year: int) -> int:
        """How many of ``texts`` name a unit that reports (one with no units under it) in ``year``:
        a sheet listing two or more holds a table, whatever its header; a cover page names none."""
        self._active(year)
        index = self._index[year]
        parents = self._parents(year)
        return sum(1 for t in texts if any(uid not in parents for uid in index.get(name_key(t), ())))

    def _parents(self, year: int) -> frozenset[str]:
        if year not in self._parent_ids:
            self._parent_ids[year] = frozenset(self._active(year)["parent_id"].dropna().astype(str))
        return self._parent_ids[year]

    def match(self, name: object, code: object, year: int, scope: str | None) -> UnitMatch:
        """Match a row's unit by code (when given) else by name.

        Args:
            name: The name cell (may be None).
            code: The code cell (may be None).
            year: The sheet's year (only units active that year match).
            scope: Committee the sheet belongs to; names are looked up in its subtree first.
        """
        active = self._active(year)
        if code is not None and str(code).strip():
            c = str(code).strip()
            if c in self._active_ids[year]:
                return UnitMatch(c)
            if c in self._ids:
                years = hierarchy.years_active(self.units, c)
                span = f"{years[0]}–{years[-1]}" if years else "không năm nào"
                return UnitMatch(None, "unit_inactive",
                                 f"Đơn vị mã '{c}' không hoạt động năm {year} (hoạt động {span})", (c,))
            close = difflib.get_close_matches(c, sorted(self._ids), n=3)
            return UnitMatch(None, "unit_unknown", f"Không có đơn vị mã '{c}' trong units.csv"
                             + (f"; gần giống: {', '.join(close)}" if close else ""), tuple(close))
        if name is None or not str(name).strip():
            return UnitMatch(None, "unit_missing", "Dòng không có tên đơn vị")
        key = name_key(str(name))
        index = self._index[year]
        found = index.get(key, set()) | index.get("=" + fold(str(name)), set())
        pools: list[frozenset[str] | None] = [self._subtree(scope, year)] if scope else []
        pools.append(None)
        for pool in pools:
            ids = tuple(sorted(found if pool is None else found & pool))
            if len(ids) == 1 and pool is None and scope:
                # the committee's form names a unit it does not have; another committee has one of
                # that name (a new or renamed chi bộ missing from units.csv): not filed there
                return UnitMatch(None, "unit_outside_scope",
                                 f"Tên '{name}' không có trong {scope} năm {year}; chỉ khớp '{ids[0]}' của đơn vị "
                                 "khác — hãy bổ sung units.csv hoặc thêm cột mã đơn vị", ids)
            if len(ids) == 1:
                return UnitMatch(ids[0])
            if len(ids) > 1:
                return UnitMatch(None, "unit_ambiguous",
                                 f"Tên '{name}' khớp nhiều đơn vị: {', '.join(ids)} — hãy thêm cột mã đơn vị",
                                 ids)
        if self._all_keys is None:
            self._all_keys = {}
            for uid, n in zip(self.units["unit_id"], self.units["unit_name"].astype(str), strict=True):
                self._all_keys.setdefault(name_key(n), set()).add(str(uid))
        if key in self._all_keys:
            ids = tuple(sorted(self._all_keys[key]))
            return UnitMatch(None, "unit_inactive",
                             f"Đơn vị '{name}' ({', '.join(ids)}) không hoạt động năm {year}", ids)
        pool_df = active if not scope else active[active["unit_id"].isin(self._subtree(scope, year))]
        keys = dict(zip(pool_df["key"], pool_df["unit_id"], strict=False))
        close = difflib.get_close_matches(key, list(keys), n=3, cutoff=0.6)
        cands = tuple(keys[k] for k in close)
        hint = f"; gần giống: {', '.join(cands)}" if cands else ""
        return UnitMatch(None, "unit_unknown", f"Không tìm thấy đơn vị '{name}' trong units.csv{hint}", cands)
