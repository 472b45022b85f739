"""Indicators: study coverage, rating distributions, trends, targets.

Pure functions over :class:`analysis.store.Tables`. Counts are stored at the leaf units that
report; every figure for a higher unit sums leaf numerators and denominators first and divides
last, so a parent's rate is never the mean of its children's rates.

Conventions (see DESIGN.md, "Conventions that decide figures"):

* ``coverage.units`` — active leaf units under U that held at least one session in the year ÷ active
  leaf units.
* ``coverage.members`` — Σ members attended ÷ Σ eligible (members − exempt, plus the exempt members
  who attended that campaign: HD 01-HD/TW 2016, 13.2 — known when the data give
  ``members_exempt_attended``, e.g. from a member register), per campaign and pooled over the
  year's campaigns. A leaf that did not hold a campaign keeps its eligible members in that
  campaign's denominator.
* ``coverage.public`` — Σ public attended ÷ Σ public target, only where the target is known.
* rating shares — exclusive (this level) and cumulative (this level or better), exemplary as a
  share of all assessed and of level 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import hierarchy, ratings, rollup
from analysis.memo import FrameMemo
from analysis.store import Tables
from analysis.text import round_half_up

INDICATORS = (
    "coverage.units", "coverage.members", "coverage.public",
    "unit_ratings.rank1", "unit_ratings.rank2", "unit_ratings.rank3", "unit_ratings.rank4",
    "unit_ratings.rank1-2", "unit_ratings.exemplary",
    "member_ratings.rank1", "member_ratings.rank2", "member_ratings.rank3", "member_ratings.rank4",
    "member_ratings.rank1-2",
)

#: The level whose units are rated when a figure is asked for a unit of a given level.
RATED_LEVEL_BELOW = {"cap_tren": "co_so", "co_so": "chi_bo"}


class MetricsError(ValueError):
    """A metric cannot be computed for the unit or year asked (message in Vietnamese)."""


@dataclass(frozen=True)
class Ratio:
    """A numerator over a denominator; ``pct`` is ``None`` when the denominator is 0."""

    numerator: float
    denominator: float

    @property
    def pct(self) -> float | None:
        """Percentage 0–100, or None without a denominator."""
        if not self.denominator:
            return None
        return 100.0 * self.numerator / self.denominator

    def to_dict(self, decimals: int = 2) -> dict:
        """JSON form: numerator, denominator (integers when whole) and pct rounded half-up."""
        pct = self.pct
        return {
            "numerator": _num(self.numerator),
            "denominator": _num(self.denominator),
            "pct": None if pct is None else round_half_up(pct, decimals),
        }


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def pct_or_none(numerator: float, denominator: float) -> float | None:
    """Return 100·numerator/denominator, or None when the denominator is 0.

    Example:
        >>> pct_or_none(1, 4)
        25.0
        >>> pct_or_none(0, 0) is None
        True
    """
    return Ratio(numerator, denominator).pct


# ---------------------------------------------------------------------------------------------
# Units and years
# ---------------------------------------------------------------------------------------------

def check_unit_year(tables: Tables, unit_id: str, year: int) -> None:
    """Raise :class:`MetricsError` if ``unit_id`` is unknown or not active in ``year``.

    The message lists the known units or the years the unit is active and has data.
    """
    if hierarchy._prep_for(tables.units).rows_of(unit_id).empty:
        known = sorted(tables.units["unit_id"].dropna().unique().tolist())
        shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
        raise MetricsError(f"Không có đơn vị '{unit_id}'. Các đơn vị đã biết: {shown}")
    active = hierarchy.years_active(tables.units, unit_id)
    data_years = [y for y in tables.years if y in active]
    if year not in data_years:
        years = ", ".join(str(y) for y in data_years) or "không có"
        raise MetricsError(f"Không có số liệu của '{unit_id}' năm {year}. Các năm có số liệu: {years}")


def leaves_for(tables: Tables, unit_id: str, year: int) -> list[str]:
    """Active leaf units under ``unit_id`` in ``year`` (the unit itself when it is a leaf)."""
    idx = rollup.year_index(tables, year)
    sub = idx.subtree(idx.position(unit_id))
    return idx.ids(sub[idx.is_leaf[sub]])


def campaigns_of_year(tables: Tables, year: int) -> pd.DataFrame:
    """The campaigns counted in ``year``, ordered by start date then id."""
    df = tables.campaigns[tables.campaigns["year"] == year]
    return df.sort_values(["start_date", "campaign_id"], na_position="last").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------

def eligible_members(membership: pd.DataFrame, leaf_ids: Iterable[str], year: int) -> pd.DataFrame:
    """Eligible members (members − exempt) per leaf unit in ``year``; missing units count 0.

    Returns:
        Frame with unit_id, members_total, members_exempt, eligible.
    """
    leaf_list = list(leaf_ids)
    m = membership[(membership["year"] == year) & membership["unit_id"].isin(leaf_list)]
    m = m.groupby("unit_id", as_index=False)[["members_total", "members_exempt"]].sum()
    out = pd.DataFrame({"unit_id": pd.Series(leaf_list, dtype="string")}).merge(m, on="unit_id", how="left")
    out[["members_total", "members_exempt"]] = out[["members_total", "members_exempt"]].fillna(0).astype("int64")
    out["eligible"] = (out["members_total"] - out["members_exempt"]).clip(lower=0)
    return out


def coverage_by_campaign(tables: Tables, unit_id: str, year: int) -> pd.DataFrame:
    """Member and public coverage of each campaign of ``year`` for the subtree of ``unit_id``.

    Returns:
        One row per campaign: campaign_id, title, document_code, units_held, units_total,
        members_attended, members_eligible, members_pct, public_attended, public_target, public_pct.
    """
    idx = rollup.year_index(tables, year)
    pos = idx.position(unit_id)
    camps = campaigns_of_year(tables, year)
    col = {c: i for i, c in enumerate(idx.campaign_ids)}
    units_total = int(idx.leaves[pos])
    rows = []
    for camp in camps.itertuples(index=False):
        j = col[str(camp.campaign_id)]
        eligible_total = float(idx.eligible[pos] + idx.exempt_attended[pos, j])
        m_att = float(idx.attended[pos, j])
        p_att, p_tgt = float(idx.public_attended[pos, j]), float(idx.public_target[pos, j])
        rows.append({
            "campaign_id": camp.campaign_id, "title": camp.title, "document_code": camp.document_code,
            "units_held": int(idx.held[pos, j]), "units_total": units_total,
            "members_attended": m_att, "members_eligible": eligible_total,
            "members_pct": pct_or_none(m_att, eligible_total),
            "public_attended": p_att, "public_target": p_tgt, "public_pct": pct_or_none(p_att, p_tgt),
        })
    return pd.DataFrame(rows, columns=[
        "campaign_id", "title", "document_code", "units_held", "units_total", "members_attended",
        "members_eligible", "members_pct", "public_attended", "public_target", "public_pct"])


def coverage(tables: Tables, unit_id: str, year: int) -> dict[str, Ratio | str]:
    """The three coverage figures of ``unit_id`` in ``year``, pooled over the year's campaigns.

    Returns:
        ``{"units": Ratio, "members": Ratio, "public": Ratio, "public_basis": str}``.
    """
    idx = rollup.year_index(tables, year)
    return _coverage_at(idx, idx.position(unit_id))


def _coverage_at(idx: rollup.YearIndex, pos: int) -> dict[str, Ratio | str]:
    n_camps = len(idx.campaign_ids)
    bases = [b for b, rows in zip(idx.bases, idx.basis_rows[pos], strict=True) if rows > 0]
    basis = bases[0] if len(bases) == 1 else ("mixed" if bases else "persons")
    return {
        "units": Ratio(float(idx.held_any[pos]), float(idx.leaves[pos]) if n_camps else 0.0),
        "members": Ratio(float(idx.attended[pos].sum()),
                         float(idx.eligible[pos]) * n_camps + float(idx.exempt_attended[pos].sum())),
        "public": Ratio(float(idx.public_attended[pos].sum()), float(idx.public_target[pos].sum())),
        "public_basis": basis,
    }


def _unit_rows(idx: rollup.YearIndex, positions: np.ndarray) -> pd.DataFrame:
    """unit_id, unit_name and unit_level of tree positions."""
    return pd.DataFrame({"unit_id": idx.ids(positions), "unit_name": idx.names[positions],
                         "unit_level": idx.levels[positions]})


def unit_names(tables: Tables, unit_ids: list[str], year: int) -> list[str]:
    """Names of active units in ``year`` (one lookup for many ids).

    Raises:
        hierarchy.HierarchyError: A unit is not active in ``year``.
    """
    idx = rollup.year_index(tables, year)
    return [str(idx.names[idx.position(u)]) for u in unit_ids]


def coverage_by_subunit(tables: Tables, unit_id: str, year: int) -> pd.DataFrame:
    """Coverage of each direct sub-unit of ``unit_id`` (each rolled up over its own leaves).

    Returns:
        One row per child: unit_id, unit_name, unit_level, units_pct, members_attended,
        members_eligible, members_pct, public_attended, public_target, public_pct.
    """
    idx = rollup.year_index(tables, year)
    pos = idx.position(unit_id)
    kids = idx.children(pos)
    if len(kids) == 0:
        kids = np.array([pos])
    rows = []
    for p, child in zip(kids, _unit_rows(idx, kids).itertuples(index=False), strict=True):
        cov = _coverage_at(idx, int(p))
        rows.append({
            "unit_id": child.unit_id, "unit_name": child.unit_name, "unit_level": child.unit_level,
            "units_pct": cov["units"].pct,
            "members_attended": cov["members"].numerator, "members_eligible": cov["members"].denominator,
            "members_pct": cov["members"].pct,
            "public_attended": cov["public"].numerator, "public_target": cov["public"].denominator,
            "public_pct": cov["public"].pct,
        })
    return pd.DataFrame(rows, columns=[
        "unit_id", "unit_name", "unit_level", "units_pct", "members_attended", "members_eligible",
        "members_pct", "public_attended", "public_target", "public_pct"])


# ---------------------------------------------------------------------------------------------
# Ratings
# ---------------------------------------------------------------------------------------------

def rated_units(tables: Tables, unit_id: str, year: int, level: str | None = None) -> list[str]:
    """The organisations whose rating makes up ``unit_id``'s unit-rating figure in ``year``.

    A committee's figure is about the organisations one level below it (a ward party committee
    reports on its chi bộ; a city committee on its grassroots organisations); a leaf is its own
    figure. ``level`` overrides the default.
    """
    idx = rollup.year_index(tables, year)
    pos, own_level, target = _rated_target(idx, unit_id, level)
    if target is None or pos < 0:
        return [unit_id]
    sub = idx.subtree(pos)
    ids = idx.ids(sub[(idx.levels[sub] == target) & (sub != pos)])
    return ids or [unit_id]


def _rated_target(idx: rollup.YearIndex, unit_id: str, level: str | None) -> tuple[int, str | None, str | None]:
    """(position or -1 when inactive, own level, level of the rated organisations or None)."""
    if level is not None and level not in hierarchy.UNIT_LEVELS:
        raise ValueError(f"Cấp đơn vị '{level}' không hợp lệ (cho phép: {', '.join(hierarchy.UNIT_LEVELS)})")
    try:
        pos = idx.position(unit_id)
    except hierarchy.HierarchyError:
        pos = -1
    own_level = None if pos < 0 or pd.isna(idx.levels[pos]) else str(idx.levels[pos])
    return pos, own_level, level or RATED_LEVEL_BELOW.get(own_level or "")


def level_frame(scheme_id: str, subject: str, counts: Mapping[str, int] | pd.Series, lang: str = "vi") -> pd.DataFrame:
    """Every level of a scheme, best first, with exclusive and cumulative counts and shares.

    Args:
        scheme_id: Scheme id.
        subject: ``unit`` or ``member``.
        counts: Count per rating_code (missing codes count 0).
        lang: Label language.

    Returns:
        Frame with rating_code, rating_rank, label, short_label, count, pct, cumulative_count,
        cumulative_pct (pct None when nothing was assessed).
    """
    return pd.DataFrame(level_rows(scheme_id, subject, counts, lang))


def level_rows(scheme_id: str, subject: str, counts: Mapping[str, int] | pd.Series, lang: str = "vi") -> list[dict]:
    """The rows of :func:`level_frame` as dicts (one per level, best first)."""
    levels = ratings.scheme_levels(scheme_id, subject)
    assessed = float(sum(int(counts.get(lv.rating_code, 0)) for lv in levels))
    rows, cum = [], 0
    for lv in levels:
        n = int(counts.get(lv.rating_code, 0))
        cum += n
        rows.append({
            "rating_code": lv.rating_code, "rating_rank": lv.rating_rank,
            "label": lv.label_vi if lang == "vi" else lv.label_en,
            "short_label": lv.short_vi if lang == "vi" else lv.short_en,
            "count": n, "pct": pct_or_none(n, assessed),
            "cumulative_count": cum, "cumulative_pct": pct_or_none(cum, assessed),
        })
    return rows


def unit_rating_distribution(tables: Tables, unit_id: str, year: int, lang: str = "vi",
                             level: str | None = None) -> dict:
    """Rating distribution of the organisations under ``unit_id`` in ``year``.

    Returns:
        ``{"scheme_id", "assessed", "not_assessed", "levels": DataFrame, "exemplary": {...},
        "rated_level"}``; exemplary has count, pct_of_assessed, pct_of_level (shares None when 0/0).
    """
    scheme_id = ratings.scheme_for_year(year)
    by_code, ex, n_ids, n_rated, rated_level = _unit_rating_tally(tables, unit_id, year, level)
    levels = level_frame(scheme_id, "unit", by_code, lang)
    assessed = int(levels["count"].sum())
    exemplary_n = int(ex)
    level1 = int(levels["count"].iloc[0]) if len(levels) else 0
    return {
        "scheme_id": scheme_id,
        "assessed": assessed,
        "not_assessed": int(n_ids - n_rated),
        "levels": levels,
        "exemplary": {"count": exemplary_n, "pct_of_assessed": pct_or_none(exemplary_n, assessed),
                      "pct_of_level": pct_or_none(exemplary_n, level1)},
        "rated_level": rated_level,
    }


def _unit_rating_tally(tables: Tables, unit_id: str, year: int, level: str | None = None
                       ) -> tuple[dict[str, int], float, float, float, str | None]:
    """(count per rating code, exemplary, organisations, rated organisations, their level) of
    :func:`unit_rating_distribution`."""
    idx = rollup.year_index(tables, year)
    codes, own_counts, own_exemplary, own_rated = idx.unit_rating_counts(tables)
    pos, own_level, target = _rated_target(idx, unit_id, level)
    n_ids = 0.0
    if target is not None and pos >= 0:
        at, counts, exemplary, rated = idx.level_subtree_sums(tables, target)
        self_at = 1.0 if own_level == target else 0.0
        n_ids = at[pos] - self_at
        if n_ids > 0:
            vec = counts[pos] - self_at * own_counts[pos]
            ex = exemplary[pos] - self_at * own_exemplary[pos]
            n_rated = rated[pos] - self_at * own_rated[pos]
            rated_level = target
    if n_ids <= 0:  # the unit is its own figure
        if pos >= 0:
            vec, ex, n_rated = own_counts[pos], own_exemplary[pos], own_rated[pos]
        else:
            ur = tables.unit_ratings
            ur = ur[(ur["year"] == year) & (ur["unit_id"] == unit_id)]
            vc = ur["rating_code"].value_counts()
            vec = np.array([float(vc.get(c, 0)) for c in codes])
            ex, n_rated = float(ur["is_exemplary"].fillna(False).astype(bool).sum()), float(len(ur) > 0)
        n_ids, rated_level = 1.0, own_level
    by_code = {str(c): int(v) for c, v in zip(codes, np.asarray(vec, dtype=np.int64), strict=True)}
    return by_code, float(ex), float(n_ids), float(n_rated), rated_level


def member_rating_distribution(tables: Tables, unit_id: str, year: int, lang: str = "vi") -> dict:
    """Member rating distribution of the subtree of ``unit_id`` in ``year``.

    Returns:
        ``{"scheme_id", "assessed", "not_assessed", "levels": DataFrame}``.
    """
    scheme_id = ratings.scheme_for_year(year)
    by_code, not_assessed = _member_rating_tally(tables, unit_id, year)
    levels = level_frame(scheme_id, "member", by_code, lang)
    return {"scheme_id": scheme_id, "assessed": int(levels["count"].sum()),
            "not_assessed": not_assessed, "levels": levels}


def _member_rating_tally(tables: Tables, unit_id: str, year: int) -> tuple[dict[str, int], int]:
    """(count per rating code, members not assessed) of :func:`member_rating_distribution`."""
    idx = rollup.year_index(tables, year)
    pos = idx.position(unit_id)
    keys, counts, _rows, not_assessed = idx.member_rating_counts(tables)
    by_code: dict[str, int] = {}
    for (code, _rank), value in zip(keys, counts[pos], strict=True):
        by_code[code] = by_code.get(code, 0) + int(value)
    return by_code, int(not_assessed[pos])


# ---------------------------------------------------------------------------------------------
# The JSON contract
# ---------------------------------------------------------------------------------------------

def _levels_json(levels: pd.DataFrame) -> list[dict]:
    return [
        {"rating_code": r.rating_code, "rating_rank": int(r.rating_rank), "label": r.label,
         "count": int(r.count),
         "pct": None if pd.isna(r.pct) else round_half_up(r.pct, 2),
         "cumulative_pct": None if pd.isna(r.cumulative_pct) else round_half_up(r.cumulative_pct, 2)}
        for r in levels.itertuples(index=False)
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round_half_up(value, 2)


def unit_year_metrics(tables: Tables, unit_id: str, year: int, lang: str = "vi") -> dict:
    """Every headline figure of ``unit_id`` in ``year``, in the JSON contract of DESIGN.md.

    Raises:
        MetricsError: Unknown unit, or no data for that year.
    """
    check_unit_year(tables, unit_id, year)
    cov = coverage(tables, unit_id, year)
    urd = unit_rating_distribution(tables, unit_id, year, lang)
    mrd = member_rating_distribution(tables, unit_id, year, lang)
    idx = rollup.year_index(tables, year)
    pos = idx.position(unit_id)
    public = cov["public"].to_dict()
    public["basis"] = cov["public_basis"]
    ex = urd["exemplary"]
    return {
        "unit_id": unit_id,
        "unit_name": str(idx.names[pos]),
        "year": int(year),
        "units_count": int(idx.leaves[pos]),
        "members_count": int(idx.members_total[pos]),
        "members_exempt": int(idx.members_exempt[pos]),
        "coverage": {"units": cov["units"].to_dict(), "members": cov["members"].to_dict(), "public": public},
        "unit_ratings": {
            "scheme_id": urd["scheme_id"], "assessed": urd["assessed"], "not_assessed": urd["not_assessed"],
            "rated_level": urd["rated_level"],
            "levels": _levels_json(urd["levels"]),
            "exemplary": {"count": ex["count"], "pct_of_assessed": _round(ex["pct_of_assessed"]),
                          "pct_of_level": _round(ex["pct_of_level"])},
        },
        "member_ratings": {
            "scheme_id": mrd["scheme_id"], "assessed": mrd["assessed"], "not_assessed": mrd["not_assessed"],
            "levels": _levels_json(mrd["levels"]),
        },
    }


# ---------------------------------------------------------------------------------------------
# Trends
# ---------------------------------------------------------------------------------------------

def indicator_value(tables: Tables, unit_id: str, year: int, indicator: str) -> Ratio:
    """One indicator of ``unit_id`` in ``year`` as a numerator over a denominator.

    Args:
        indicator: One of :data:`INDICATORS`.
    """
    if indicator.startswith("coverage."):
        return coverage(tables, unit_id, year)[indicator.split(".", 1)[1]]  # type: ignore[return-value]
    subject, what = indicator.split(".", 1)
    if subject == "unit_ratings":
        dist = unit_rating_distribution(tables, unit_id, year)
        if what == "exemplary":
            return Ratio(dist["exemplary"]["count"], dist["assessed"])
    elif subject == "member_ratings":
        dist = member_rating_distribution(tables, unit_id, year)
    else:
        raise MetricsError(f"Chỉ tiêu không hợp lệ: '{indicator}'. Các chỉ tiêu: {', '.join(INDICATORS)}")
    levels = dist["levels"]
    if what == "rank1-2":
        num = int(levels.loc[levels["rating_rank"] <= 2, "count"].sum())
    elif what.startswith("rank") and what[4:].isdigit():
        num = int(levels.loc[levels["rating_rank"] == int(what[4:]), "count"].sum())
    else:
        raise MetricsError(f"Chỉ tiêu không hợp lệ: '{indicator}'. Các chỉ tiêu: {', '.join(INDICATORS)}")
    return Ratio(num, dist["assessed"])


def trend(tables: Tables, unit_id: str, indicators: Iterable[str], years: Iterable[int] | None = None) -> pd.DataFrame:
    """Indicators of ``unit_id`` by year, rolled up along the tree of each year.

    Rating indicators carry the scheme of each year; the first year of a new scheme has
    ``is_break`` True and ``change_pp`` left empty, so a chart never joins two schemes silently.

    Returns:
        Long frame: indicator, year, scheme_id, numerator, denominator, pct, change_pp, is_break.
    """
    all_years = sorted(years) if years is not None else tables.years
    active_years = set(hierarchy.years_active(tables.units, unit_id))
    rows = []
    for indicator in indicators:
        prev_pct, prev_scheme = None, None
        for year in all_years:
            if year not in active_years or year not in tables.years:
                continue
            r = indicator_value(tables, unit_id, year, indicator)
            scheme = ratings.scheme_for_year(year)
            rated = not indicator.startswith("coverage.")
            is_break = bool(rated and prev_scheme is not None and scheme != prev_scheme)
            pct = r.pct
            change = None if (pct is None or prev_pct is None or is_break) else pct - prev_pct
            rows.append({"indicator": indicator, "year": int(year), "scheme_id": scheme,
                         "numerator": r.numerator, "denominator": r.denominator, "pct": pct,
                         "change_pp": change, "is_break": is_break})
            prev_pct, prev_scheme = pct, scheme
    return pd.DataFrame(rows, columns=["indicator", "year", "scheme_id", "numerator", "denominator", "pct",
                                       "change_pp", "is_break"])


def rating_trend(tables: Tables, unit_id: str, subject: str, years: Iterable[int] | None = None,
                 lang: str = "vi") -> pd.DataFrame:
    """Exclusive shares of every level by year (for stacked charts), with the scheme of each year.

    Returns:
        Long frame: year, scheme_id, rating_rank, rating_code, label, count, pct, is_break.
    """
    columns = ["year", "scheme_id", "rating_rank", "rating_code", "label", "short_label", "count", "pct",
               "is_break"]
    all_years = sorted(years) if years is not None else tables.years
    active_years = set(hierarchy.years_active(tables.units, unit_id))
    rows: list[dict] = []
    prev = None
    for year in all_years:
        if year not in active_years or year not in tables.years:
            continue
        scheme_id = ratings.scheme_for_year(year)
        by_code = (_unit_rating_tally(tables, unit_id, year)[0] if subject == "unit"
                   else _member_rating_tally(tables, unit_id, year)[0])
        is_break = prev is not None and scheme_id != prev
        prev = scheme_id
        rows.extend({**r, "year": int(year), "scheme_id": scheme_id, "is_break": is_break}
                    for r in level_rows(scheme_id, subject, by_code, lang))
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows, columns=columns)
    out["pct"] = out["pct"].astype("float64")  # None → NaN, as the per-year frames gave when concatenated
    return out


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------

def ancestor_ids(units: pd.DataFrame, unit_id: str, year: int) -> list[str]:
    """``unit_id`` and its ancestors in the tree of ``year``, nearest first (empty when inactive)."""
    tree = hierarchy._tree(units, year)
    try:
        pos = tree.position(unit_id)
    except hierarchy.HierarchyError:
        return []
    chain: list[int] = []
    while pos >= 0 and pos not in chain:
        chain.append(pos)
        pos = int(tree.pidx[pos])
    return [str(x) for x in tree.prep.names[tree.uc[chain]]]


_TARGETS_OF_YEAR: FrameMemo[dict[str, list[tuple[str, float]]]] = FrameMemo(64)


def _targets_of_year(targets: pd.DataFrame, year: int) -> dict[str, list[tuple[str, float]]]:
    """Targets valid in ``year`` by unit, in table order (cached while the frame is alive)."""
    def build() -> dict[str, list[tuple[str, float]]]:
        t = targets[(targets["from_year"].fillna(0) <= year) & (targets["to_year"].fillna(9999) >= year)]
        by_unit: dict[str, list[tuple[str, float]]] = {}
        for uid, indicator, threshold in zip(t["unit_id"], t["indicator"], t["threshold_pct"], strict=True):
            by_unit.setdefault(str(uid), []).append((str(indicator), float(threshold)))
        return by_unit

    return _TARGETS_OF_YEAR((targets,), build, (int(year),))


def applicable_targets(tables: Tables, unit_id: str, year: int) -> dict[str, tuple[float, str]]:
    """As :func:`targets_for`, as a dict indicator → (threshold_pct, set_by) (no frame built)."""
    t = tables.targets
    if t is None or t.empty:
        return {}
    by_unit = _targets_of_year(t, year)
    out: dict[str, tuple[float, str]] = {}
    if not by_unit:
        return out
    for uid in ancestor_ids(tables.units, unit_id, year):  # self first, then parents
        for indicator, threshold in by_unit.get(uid, ()):
            out.setdefault(indicator, (threshold, uid))
    return out


def targets_for(tables: Tables, unit_id: str, year: int) -> pd.DataFrame:
    """Targets that apply to ``unit_id`` in ``year``: its own, else the nearest ancestor's.

    Returns:
        Frame with indicator, threshold_pct, set_by (the unit whose target applies).
    """
    out = applicable_targets(tables, unit_id, year)
    return pd.DataFrame([{"indicator": k, "threshold_pct": v[0], "set_by": v[1]} for k, v in sorted(out.items())],
                        columns=["indicator", "threshold_pct", "set_by"])


def target_attainment(tables: Tables, unit_id: str, year: int) -> pd.DataFrame:
    """Each applicable target of ``unit_id`` in ``year`` with the value reached and whether it is met.

    Returns:
        Frame: indicator, threshold_pct, set_by, pct, is_met (None when the value is unknown).
    """
    tg = targets_for(tables, unit_id, year)
    values, met = [], []
    for r in tg.itertuples(index=False):
        pct = indicator_value(tables, unit_id, year, r.indicator).pct
        values.append(pct)
        met.append(None if pct is None else bool(pct >= r.threshold_pct - 1e-9))
    return tg.assign(pct=values, is_met=met)


def subunits_below_target(tables: Tables, unit_id: str, year: int) -> pd.DataFrame:
    """Direct sub-units that miss a target applying to them in ``year``.

    Returns:
        Frame: unit_id, unit_name, indicator, threshold_pct, pct.
    """
    active = hierarchy.units_in_year(tables.units, year)
    children = active[active["parent_id"] == unit_id].sort_values("unit_id")
    rows = []
    for child in children.itertuples(index=False):
        att = target_attainment(tables, child.unit_id, year)
        for r in att[att["is_met"] == False].itertuples(index=False):  # noqa: E712
            rows.append({"unit_id": child.unit_id, "unit_name": child.unit_name, "indicator": r.indicator,
                         "threshold_pct": r.threshold_pct, "pct": r.pct})
    return pd.DataFrame(rows, columns=["unit_id", "unit_name", "indicator", "threshold_pct", "pct"])


# ---------------------------------------------------------------------------------------------
# Comparable view (re-based onto today's units) and the member quota
# ---------------------------------------------------------------------------------------------

COMPARABLE_LABEL = {"vi": "so sánh được (quy về đơn vị năm {year})",
                    "en": "comparable (re-based onto the units of {year})"}


def comparable_view(tables: Tables, target_year: int) -> Tables:
    """The tables re-based onto the units as they stand in ``target_year``.

    Units merged into another (declared in ``tables.merges``) have their leaf counts added to
    their successor; every year then uses the tree of ``target_year``, so a series of a merged
    unit runs back before the merge and a parent's totals are unchanged. Organisation ratings are
    not summable and keep their own unit (they drop out of a merged unit's rating figures).
    Label figures computed on this view with :data:`COMPARABLE_LABEL`.

    Raises:
        hierarchy.HierarchyError: The declared merges contradict the unit tree.
    """
    units, merges = tables.units, tables.merges
    mapping = hierarchy.comparable_map(units, merges, target_year)
    membership = hierarchy.rebase(tables.membership, mapping, ["members_total", "members_exempt"])
    member_ratings = tables.member_ratings
    if len(member_ratings):
        na = member_ratings.groupby(["unit_id", "year"], as_index=False)["members_not_assessed"].first()
        na = hierarchy.rebase(na, mapping, ["members_not_assessed"])
        levels = hierarchy.rebase(member_ratings.drop(columns=["members_not_assessed"]), mapping,
                                  ["members_count"])
        member_ratings = levels.merge(na, on=["unit_id", "year"], how="left")[list(tables.member_ratings.columns)]
    sp = tables.study_participation.merge(tables.campaigns[["campaign_id", "year"]], on="campaign_id", how="left")
    counts = [c for c in ("members_attended", "members_attended_makeup", "members_exempt_attended", "public_target",
                          "public_attended") if c in tables.study_participation.columns]
    held = sp.groupby(["unit_id", "year", "campaign_id"], as_index=False)["is_held"].max() if len(sp) else None
    sp = hierarchy.rebase(sp.drop(columns=["is_held"]), mapping, counts) if len(sp) else sp
    if held is not None:
        held = held.merge(mapping, on=["year", "unit_id"], how="left")
        held["unit_id"] = held["comparable_unit_id"].fillna(held["unit_id"])
        held = held.groupby(["unit_id", "campaign_id"], as_index=False)["is_held"].max()
        sp = sp.drop(columns=["year"]).merge(held, on=["unit_id", "campaign_id"], how="left")
        sp = sp[list(tables.study_participation.columns)]
    today = hierarchy.units_in_year(units, target_year).copy()
    first = mapping.groupby("comparable_unit_id")["year"].min()
    today["valid_from_year"] = [min(int(f), int(first.get(u, f))) for u, f in
                                zip(today["unit_id"], today["valid_from_year"], strict=True)]
    today["valid_to_year"] = pd.array([None] * len(today), dtype="Int64")
    today = today.astype({"valid_from_year": "Int64"})
    return Tables(units=today, campaigns=tables.campaigns, membership=membership,
                  study_participation=sp, unit_ratings=tables.unit_ratings, member_ratings=member_ratings,
                  merges=tables.merges.iloc[0:0], targets=tables.targets,
                  manifest={**tables.manifest, "view": f"comparable-{int(target_year)}"})


def member_quota(tables: Tables, unit_id: str, year: int) -> pd.DataFrame:
    """The level-1 quota check per grassroots organisation under ``unit_id`` (from 2019).

    Member rating counts are summed to each grassroots organisation (``co_so``; a unit that is
    itself a grassroots organisation counts as one) and passed to
    :func:`analysis.ratings.check_member_quota`.

    Returns:
        One row per organisation: unit_id, year, level1_count, level2_count, limit_count,
        is_within (empty when the quota does not apply that year).
    """
    idx = rollup.year_index(tables, year)
    sub = idx.subtree(idx.position(unit_id))
    orgs = sub[idx.levels[sub] == "co_so"]
    keys, counts, rows, _na = idx.member_rating_counts(tables)
    ranked = [j for j, (_code, rank) in enumerate(keys) if rank >= 0]
    if len(orgs) == 0 or not ranked:
        return ratings.check_member_quota(tables.member_ratings.iloc[0:0])
    cols = np.array(ranked)
    present = rows[np.ix_(orgs, cols)] > 0
    oi, kj = np.nonzero(present)
    org_ids = idx.ids(orgs)
    rolled = pd.DataFrame({
        "year": np.full(len(oi), int(year), dtype=np.int64),
        "rating_code": [keys[cols[j]][0] for j in kj],
        "rating_rank": [keys[cols[j]][1] for j in kj],
        "members_count": counts[orgs[oi], cols[kj]].astype(np.int64),
        "unit_id": [org_ids[i] for i in oi],
    })
    return ratings.check_member_quota(rolled)


def round_frame(df: pd.DataFrame, decimals: int = 2) -> pd.DataFrame:
    """Round every float column half-up (for display tables and exports)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype.kind == "f":
            out[col] = [None if pd.isna(v) else round_half_up(float(v), decimals) for v in out[col]]
    return out


__all__ = [name for name in dir() if not name.startswith("_") and name not in {"np", "pd", "annotations"}]
