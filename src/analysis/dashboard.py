"""The sections of the annual and trends dashboards, as escaped HTML fragments.

``notebooks/annual_dashboard.ipynb`` and ``notebooks/trends.ipynb`` call one function per cell and
display the result, so the notebooks hold no logic. :func:`load_annual` and :func:`load_trends`
are the only functions here that read files (the slice of processed data for the unit's subtree
and the years shown, through Parquet filters); :func:`write_exports` writes ``metrics.json`` and
``metrics.xlsx`` beside the executed notebook.

Every chart gets a deterministic ``div`` id (:func:`analysis.charts.figure_id`) and every text
shown goes through :func:`analysis.render.esc`, so the same inputs give the same HTML and a unit
name is always text, never markup.

Example:
    >>> d = load_annual("data/processed", "tan-thanh", 2014)  # doctest: +SKIP
    >>> html = kpi_html(d)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import __version__, charts, hierarchy, metrics, ratings, store
from analysis.render import esc, fmt_change, fmt_num, fmt_pct, label, table_html

CSS = """
<style>
body { background: #fff; }
.jp-Cell, .jp-OutputArea-output { padding: 0 !important; }
.hoctap { font-family: "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; color: #1d1d1d;
  max-width: 1060px; margin: 0 auto; padding: 0 16px; line-height: 1.45; font-size: 15px; }
.hoctap h1 { font-size: 1.6em; margin: .6em 0 .1em 0; color: #8b0000; font-weight: 650; }
.hoctap h2 { font-size: 1.2em; border-bottom: 2px solid #8b0000; padding-bottom: .2em; margin: 1.5em 0 .6em 0;
  color: #1d1d1d; font-weight: 600; }
.hoctap h3 { font-size: 1.02em; margin: 1.1em 0 .3em 0; font-weight: 600; color: #333; }
.hoctap .sub { color: #555; margin: 0 0 .8em 0; }
.hoctap .banner { background: #fff4e5; border-left: 4px solid #e0a526; padding: .5em .8em; margin: .6em 0;
  font-size: .93em; }
.hoctap .kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: .8em 0; }
.hoctap .kpi { flex: 1 1 230px; border: 1px solid #ddd; border-radius: 8px; padding: .7em 1em; background: #fafafa; }
.hoctap .kpi .v { font-size: 2.1em; font-weight: 650; color: #8b0000; line-height: 1.15; }
.hoctap .kpi .n { color: #555; font-size: .9em; }
.hoctap .kpi .d { font-size: .9em; color: #444; }
.hoctap .kpi .d.up { color: #1a7f37; } .hoctap .kpi .d.down { color: #c0392b; }
.hoctap .kpi .t { font-size: .85em; margin-top: .3em; }
.hoctap .met { color: #1a7f37; font-weight: 600; } .hoctap .missed { color: #c0392b; font-weight: 600; }
.hoctap .para { font-size: 1.04em; line-height: 1.6; background: #f5f8fb; padding: .7em 1em; border-radius: 6px;
  margin: .4em 0; text-align: justify; }
.hoctap .note { color: #444; font-size: .93em; margin: .4em 0; }
.hoctap table.figures { border-collapse: collapse; margin: .5em 0 1.1em 0; font-size: .9em; width: auto;
  min-width: 55%; max-width: 100%; table-layout: auto !important; }
.hoctap table.figures caption { caption-side: top; text-align: left; font-weight: 600; padding: .3em 0;
  color: #333; }
.hoctap table.figures th { background: #f0f0f0; padding: .35em .6em; border-bottom: 1px solid #bbb;
  text-align: left; vertical-align: bottom; font-weight: 600; white-space: normal; }
.hoctap table.figures th.num { text-align: right; }
.hoctap table.figures td { padding: .28em .6em; border-bottom: 1px solid #eee; vertical-align: top; }
.hoctap table.figures td.txt { text-align: left; }
.hoctap table.figures td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.hoctap table.figures tbody tr:nth-child(even) td { background: #fafafa; }
.hoctap table.figures tr.below td { background: #fdecea !important; }
.hoctap table.figures tr.below td:first-child { border-left: 3px solid #c0392b; }
.hoctap table.figures tr.break td { border-top: 2px dotted #666; }
.hoctap .verdict { padding: .6em 1em; border-radius: 6px; font-weight: 600; }
.hoctap .verdict.pass { background: #e8f5e9; color: #1a7f37; } .hoctap .verdict.fail { background: #fdecea; color: #c0392b; }
.hoctap .prov { font-size: .85em; color: #444; } .hoctap .prov code { font-size: .92em; word-break: break-all; }
.hoctap .chart { break-inside: avoid; page-break-inside: avoid; margin: .2em 0; }
.hoctap .swatch { display: inline-block; width: .8em; height: .8em; background: #fdecea;
  border-left: 3px solid #c0392b; vertical-align: middle; margin-right: .3em; }
@media screen and (max-width: 700px) { .hoctap { font-size: 14px; } .hoctap .kpi .v { font-size: 1.7em; } }
@media print {
  @page { size: A4; margin: 14mm 14mm 16mm 14mm; }
  body, .jp-Notebook { background: white !important; padding: 0 !important; margin: 0 !important; }
  .hoctap { max-width: 100%; font-size: 10pt; padding: 0; }
  .hoctap h1 { font-size: 16pt; } .hoctap h2 { font-size: 12pt; break-after: avoid; page-break-after: avoid; }
  .hoctap .kpi { break-inside: avoid; background: white; }
  .hoctap .kpi .v { font-size: 18pt; }
  .hoctap table.figures { font-size: 8.5pt; }
  .hoctap table.figures thead { display: table-header-group; }
  .hoctap table.figures tr { break-inside: avoid; page-break-inside: avoid; }
  .hoctap .chart { max-width: 100%; overflow: hidden; }
  .modebar, .modebar-container { display: none !important; }
  .hoctap details > *:not(summary) { display: block; }
  a { color: inherit; text-decoration: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
"""


def _memo(cache: dict[str, Any], key: str, compute: Callable[[], Any]) -> Any:
    if key not in cache:
        cache[key] = compute()
    return cache[key]


@dataclass
class AnnualDashboard:
    """Everything one annual dashboard shows.

    Attributes:
        tables: The slice of processed data (unit subtree × years up to ``year``).
        unit_id: The unit.
        year: The year.
        lang: ``vi`` or ``en``.
        figures: Headline figures (the metrics contract) of the year.
        previous: Headline figures of the previous year, or None.
        validation: Data-quality result for the unit and year (validation JSON contract), or None.
        params: The parameters the dashboard was rendered with.
        cache: Frames computed once and shared by the sections and the exports.
    """

    tables: store.Tables
    unit_id: str
    year: int
    lang: str
    figures: dict
    previous: dict | None
    validation: dict | None
    params: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def years(self) -> list[int]:
        """Years shown in the trend charts (data years up to the report year)."""
        active = set(hierarchy.years_active(self.tables.units, self.unit_id))
        return [y for y in self.tables.years if y <= self.year and y in active]

    @property
    def provenance_years(self) -> list[int]:
        """Years whose input files the provenance lists."""
        return [self.year]


@dataclass
class TrendsDashboard:
    """Everything one trends dashboard shows (a unit across a span of years).

    Attributes:
        tables: The slice of processed data (unit subtree × the span).
        unit_id: The unit.
        start_year: First year shown.
        end_year: Last year shown.
        lang: ``vi`` or ``en``.
        unit_name: The unit's name in the last year it is active in the span.
        params: The parameters the dashboard was rendered with.
        validation: Not used by trends (kept for the shared provenance section).
        cache: Frames computed once and shared by the sections.
    """

    tables: store.Tables
    unit_id: str
    start_year: int
    end_year: int
    lang: str
    unit_name: str
    params: dict = field(default_factory=dict)
    validation: dict | None = None
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def years(self) -> list[int]:
        """Years with data in the span during which the unit is active."""
        active = set(hierarchy.years_active(self.tables.units, self.unit_id))
        return [y for y in self.tables.years if self.start_year <= y <= self.end_year and y in active]

    @property
    def provenance_years(self) -> list[int]:
        """Years whose input files the provenance lists."""
        return self.years


# ---------------------------------------------------------------------------------------------
# Slices and loading
# ---------------------------------------------------------------------------------------------

def slice_units(units: pd.DataFrame, unit_id: str, years: Iterable[int]) -> list[str]:
    """Every unit id in the subtree of ``unit_id`` in any of ``years`` (what a report reads).

    Example:
        >>> u = pd.DataFrame({"unit_id": ["a", "b"], "parent_id": [None, "a"], "unit_level": ["co_so", "chi_bo"],
        ...                   "unit_name": ["A", "B"], "valid_from_year": [2012, 2012],
        ...                   "valid_to_year": [None, None]})
        >>> slice_units(u, "a", [2014])
        ['a', 'b']
    """
    ids: set[str] = set()
    active = set(hierarchy.years_active(units, unit_id))
    for y in years:
        if y in active:
            ids.update(hierarchy.subtree_ids(units, unit_id, y))
    return sorted(ids)


def with_ancestors(units: pd.DataFrame, unit_ids: Iterable[str]) -> pd.DataFrame:
    """The rows of ``units`` for ``unit_ids`` and every unit above them in any year.

    Every parent of a kept row is kept, so the tree of each year stays valid; a dashboard's
    figures, targets (set by ancestors) and names are unchanged, and a provincial dashboard no
    longer indexes the whole national tree.

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a", "b", "c"], "parent_id": [None, "r", "a", "r"]})
        >>> with_ancestors(u, ["b"])["unit_id"].tolist()
        ['r', 'a', 'b']
    """
    ids = units["unit_id"].astype("string")
    parents = units["parent_id"].astype("string")
    keep = set(unit_ids)
    frontier = keep
    while frontier:
        mask = ids.isin(list(frontier)).to_numpy(dtype=bool, na_value=False)
        new = {str(p) for p in parents[mask].dropna()} - keep
        keep |= new
        frontier = new
    return units[ids.isin(list(keep)).to_numpy(dtype=bool, na_value=False)].reset_index(drop=True)


def _sliced(tables: store.Tables, unit_ids: list[str]) -> store.Tables:
    """``tables`` with the unit tree cut to the slice and its ancestors (merges to those units)."""
    units = with_ancestors(tables.units, unit_ids)
    if len(units) == len(tables.units):
        return tables
    kept = set(units["unit_id"].astype(str))
    merges = tables.merges
    if len(merges) and {"from_unit_id", "to_unit_id"} <= set(merges.columns):
        merges = merges[merges["from_unit_id"].astype(str).isin(kept) & merges["to_unit_id"].astype(str).isin(kept)]
    return dataclasses.replace(tables, units=units, merges=merges.reset_index(drop=True))


def annual_years(units: pd.DataFrame, unit_id: str, year: int) -> list[int]:
    """The years an annual dashboard reads: every active year of the unit up to ``year``."""
    return [y for y in hierarchy.years_active(units, unit_id, until=year) if y <= year]


def load_annual(data_dir: str | Path, unit_id: str, year: int, lang: str = "vi",
                validation_path: str | Path | None = None) -> AnnualDashboard:
    """Load the slice a unit's annual dashboard needs and compute its headline figures.

    Reads only the unit's subtree and the years up to ``year`` (Parquet filters).
    """
    data_dir = Path(data_dir)
    units = store.load_table(data_dir, "units")
    years = annual_years(units, unit_id, year)
    ids = slice_units(units, unit_id, years)
    tables = _sliced(store.load_tables(data_dir, unit_ids=ids, years=years), ids)
    figures = metrics.unit_year_metrics(tables, unit_id, year, lang)
    previous = None
    if year - 1 in tables.years and year - 1 in years:
        previous = metrics.unit_year_metrics(tables, unit_id, year - 1, lang)
    validation = None
    if validation_path and Path(validation_path).is_file():
        validation = json.loads(Path(validation_path).read_text(encoding="utf-8"))
    return AnnualDashboard(tables, unit_id, int(year), lang, figures, previous, validation,
                           {"unit_id": unit_id, "year": int(year), "lang": lang})


def load_trends(data_dir: str | Path, unit_id: str, start_year: int, end_year: int,
                lang: str = "vi") -> TrendsDashboard:
    """Load the slice a unit's trends dashboard needs (subtree × ``start_year``–``end_year``)."""
    data_dir = Path(data_dir)
    units = store.load_table(data_dir, "units")
    years = [y for y in hierarchy.years_active(units, unit_id, until=end_year) if start_year <= y <= end_year]
    ids = slice_units(units, unit_id, years)
    tables = _sliced(store.load_tables(data_dir, unit_ids=ids, years=years), ids)
    shown = [y for y in tables.years if y in years]
    name = hierarchy.unit_name(tables.units, unit_id, shown[-1] if shown else None)
    return TrendsDashboard(tables, unit_id, int(start_year), int(end_year), lang, name,
                           {"unit_id": unit_id, "start_year": int(start_year), "end_year": int(end_year),
                            "lang": lang})


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------

def _banner(tables: store.Tables, lang: str) -> str:
    dataset = tables.manifest.get("dataset") or {}
    if not dataset.get("illustrative"):
        return ""
    note = dataset.get(f"source_note_{lang}") or dataset.get("source_note_vi") or ""
    return f'<div class="banner"><b>{esc(label("illustrative", lang))}.</b> {esc(note)}</div>'


def _section(title: str, body: str) -> str:
    return f'<div class="hoctap"><section><h2>{esc(title)}</h2>{body}</section></div>'


def _chart(fig_html: str) -> str:
    return f'<div class="chart">{fig_html}</div>'


def _chart_of(d: AnnualDashboard | TrendsDashboard, name: str, spec: dict) -> str:
    """A chart spec as its fragment (written without plotly) with the chart's deterministic id."""
    return _chart(charts.figure_html(spec, charts.figure_id(name, d.unit_id, *d.params.values())))


def _targets(d: AnnualDashboard) -> pd.DataFrame:
    """Target attainment of the unit (as :func:`analysis.metrics.target_attainment`), taking the
    coverage values from the headline figures already computed."""
    def compute() -> pd.DataFrame:
        tg = metrics.targets_for(d.tables, d.unit_id, d.year)
        values, met = [], []
        for r in tg.itertuples(index=False):
            if r.indicator in COVERAGE_INDICATORS:
                c = d.figures["coverage"][r.indicator.split(".", 1)[1]]
                pct = metrics.pct_or_none(c["numerator"], c["denominator"])
            else:
                pct = metrics.indicator_value(d.tables, d.unit_id, d.year, r.indicator).pct
            values.append(pct)
            met.append(None if pct is None else bool(pct >= r.threshold_pct - 1e-9))
        return tg.assign(pct=values, is_met=met)
    return _memo(d.cache, "attainment", compute)


def _target_of(att: pd.DataFrame, indicator: str) -> float | None:
    row = att.loc[att["indicator"] == indicator, "threshold_pct"]
    return float(row.iloc[0]) if len(row) else None


def subunits_below(tables: store.Tables, unit_id: str, year: int, subunits: pd.DataFrame) -> pd.DataFrame:
    """Direct sub-units that miss a target applying to them, from their coverage frame.

    Same result as :func:`analysis.metrics.subunits_below_target`, but coverage targets are read
    from ``subunits`` (the output of :func:`analysis.metrics.coverage_by_subunit`) instead of
    being recomputed per sub-unit; other indicators fall back to
    :func:`analysis.metrics.indicator_value`.

    Returns:
        Frame: unit_id, unit_name, indicator, threshold_pct, pct.
    """
    columns = {"coverage.units": "units_pct", "coverage.members": "members_pct", "coverage.public": "public_pct"}
    rows = []
    for child in subunits.itertuples(index=False):
        if child.unit_id == unit_id:
            continue
        for indicator, (threshold, _set_by) in sorted(metrics.applicable_targets(tables, child.unit_id, year).items()):
            col = columns.get(indicator)
            pct = getattr(child, col) if col else metrics.indicator_value(tables, child.unit_id, year, indicator).pct
            if pct is None or pd.isna(pct):
                continue
            if float(pct) < float(threshold) - 1e-9:
                rows.append({"unit_id": child.unit_id, "unit_name": child.unit_name, "indicator": indicator,
                             "threshold_pct": float(threshold), "pct": float(pct)})
    out = pd.DataFrame(rows, columns=["unit_id", "unit_name", "indicator", "threshold_pct", "pct"])
    return out.sort_values(["unit_id", "indicator"], kind="stable").reset_index(drop=True)


COVERAGE_INDICATORS = ("coverage.units", "coverage.members", "coverage.public")


def coverage_trend(tables: store.Tables, unit_id: str, years: Iterable[int]) -> pd.DataFrame:
    """The three coverage indicators by year: the same frame as
    ``metrics.trend(tables, unit_id, COVERAGE_INDICATORS, years)``, computing each year's coverage
    once instead of once per indicator.

    Returns:
        Long frame: indicator, year, scheme_id, numerator, denominator, pct, change_pp, is_break.
    """
    active = set(hierarchy.years_active(tables.units, unit_id))
    data_years = set(tables.years)
    per_year = {y: metrics.coverage(tables, unit_id, y) for y in sorted(years) if y in active and y in data_years}
    rows = []
    for indicator in COVERAGE_INDICATORS:
        key = indicator.split(".", 1)[1]
        prev = None
        for y, cov in per_year.items():
            r = cov[key]
            change = None if (r.pct is None or prev is None) else r.pct - prev
            rows.append({"indicator": indicator, "year": int(y), "scheme_id": ratings.scheme_for_year(y),
                         "numerator": r.numerator, "denominator": r.denominator, "pct": r.pct,
                         "change_pp": change, "is_break": False})
            prev = r.pct
    return pd.DataFrame(rows, columns=["indicator", "year", "scheme_id", "numerator", "denominator", "pct",
                                       "change_pp", "is_break"])


def _coverage_trend(d: AnnualDashboard | TrendsDashboard) -> pd.DataFrame:
    return _memo(d.cache, "cov_trend", lambda: coverage_trend(d.tables, d.unit_id, d.years))


def _rating_trend(d: AnnualDashboard | TrendsDashboard, subject: str) -> pd.DataFrame:
    return _memo(d.cache, f"{subject}_trend",
                 lambda: metrics.rating_trend(d.tables, d.unit_id, subject, d.years, d.lang))


def annual_frames(d: AnnualDashboard) -> dict[str, pd.DataFrame]:
    """The figures behind every chart of the annual dashboard, computed once (memoised on ``d``).

    Keys are the sheet names of ``metrics.xlsx``.
    """
    from analysis.render import metrics_rows

    def compute() -> dict[str, pd.DataFrame]:
        t, u, y, lang = d.tables, d.unit_id, d.year, d.lang
        subunits = metrics.coverage_by_subunit(t, u, y)
        return {
            "tong_hop": pd.DataFrame(metrics_rows(d.figures, lang)),
            "theo_dot_hoc": metrics.coverage_by_campaign(t, u, y),
            "theo_don_vi": subunits,
            "duoi_chi_tieu": subunits_below(t, u, y, subunits),
            "xep_loai_to_chuc": metrics.unit_rating_distribution(t, u, y, lang)["levels"],
            "xep_loai_dang_vien": metrics.member_rating_distribution(t, u, y, lang)["levels"],
            "xu_huong_hoc_tap": _coverage_trend(d),
            "xu_huong_to_chuc": _rating_trend(d, "unit"),
            "xu_huong_dang_vien": _rating_trend(d, "member"),
            "chi_tieu": _targets(d),
        }
    return _memo(d.cache, "frames", compute)


# ---------------------------------------------------------------------------------------------
# Annual sections
# ---------------------------------------------------------------------------------------------

def head_html(d: AnnualDashboard) -> str:
    """Styles, plotly.js (inline, once), title and the illustrative-data banner."""
    f, lang = d.figures, d.lang
    sub = (f"{esc(label('year', lang))} {f['year']} · {fmt_num(f['units_count'], lang)} "
           f"{esc(label('leaf_units', lang))} · {fmt_num(f['members_count'], lang)} {esc(label('members', lang))}")
    return (CSS + charts.plotlyjs_script() +
            f'<div class="hoctap"><h1>{esc(f["unit_name"])}</h1>'
            f'<p class="sub">{esc(label("dashboard_title", lang))} — {sub}</p>{_banner(d.tables, lang)}</div>')


def kpi_html(d: AnnualDashboard) -> str:
    """Tiles of the three coverage figures: share, numerator/denominator, change, target."""
    lang = d.lang
    att = _targets(d)
    tiles = []
    for key in ("units", "members", "public"):
        c = d.figures["coverage"][key]
        prev = d.previous["coverage"][key]["pct"] if d.previous else None
        change = None if (c["pct"] is None or prev is None) else c["pct"] - prev
        cls = "" if change is None or abs(change) < 0.05 else ("up" if change > 0 else "down")
        target = _target_of(att, f"coverage.{key}")
        target_html = ""
        if target is not None and c["pct"] is not None:
            met = c["pct"] >= target - 1e-9
            target_html = (f'<div class="t">{esc(label("target", lang))} ≥ {fmt_pct(target, lang, 0)}: '
                           f'<span class="{"met" if met else "missed"}">'
                           f'{esc(label("target_met" if met else "target_missed", lang))}</span></div>')
        change_text = fmt_change(change, lang) + (f" {label('change_vs_prev', lang)}" if change is not None else "")
        tiles.append(
            f'<div class="kpi"><div class="n">{esc(label("coverage_" + key, lang))}</div>'
            f'<div class="v">{fmt_pct(c["pct"], lang)}</div>'
            f'<div class="n">{fmt_num(c["numerator"], lang)} / {fmt_num(c["denominator"], lang)}'
            f'{" " + esc(label("attendances", lang)) if key != "units" else ""}</div>'
            f'<div class="d {cls}">{esc(change_text)}</div>{target_html}</div>')
    return f'<div class="hoctap"><div class="kpis">{"".join(tiles)}</div></div>'


def summary_html(d: AnnualDashboard) -> str:
    """The drafted paragraph of the year's headline figures (checked by the claims module)."""
    from analysis import claims

    text = claims.draft_paragraph(d.figures, d.lang)
    if not text:
        return ""
    return _section(label("summary", d.lang), f'<p class="para">{esc(text)}</p>')


def campaign_html(d: AnnualDashboard) -> str:
    """Coverage by campaign: chart and the table behind it."""
    lang = d.lang
    df = annual_frames(d)["theo_dot_hoc"]
    if df.empty:
        return _section(label("by_campaign", lang), f'<p class="note">{esc(label("no_campaign", lang))}</p>')
    shown = df.assign(campaign=[f"{c} — {t}" if isinstance(c, str) and c else t
                                for c, t in zip(df["document_code"], df["title"], strict=True)])
    table = table_html(shown, {"campaign": label("campaign", lang), "members_attended": label("members_attended", lang),
                               "members_eligible": label("members_eligible", lang),
                               "members_pct": label("members_pct", lang),
                               "public_attended": label("public_attended", lang),
                               "public_target": label("public_target", lang), "public_pct": label("public_pct", lang)},
                       lang, pct_cols=("members_pct", "public_pct"),
                       num_cols=("members_attended", "members_eligible", "public_attended", "public_target"),
                       caption=label("figures_table", lang))
    return _section(label("by_campaign", lang),
                    _chart_of(d, "campaign", charts.coverage_by_campaign_spec(df, lang)) + table)


def subunit_html(d: AnnualDashboard) -> str:
    """Coverage by direct sub-unit; sub-units below a target are highlighted and listed."""
    lang = d.lang
    frames = annual_frames(d)
    df = frames["theo_don_vi"]
    if df.empty or (len(df) == 1 and df["unit_id"].iloc[0] == d.unit_id):
        return ""
    tval = _target_of(_targets(d), "coverage.members")
    below = frames["duoi_chi_tieu"]
    missed: dict[str, list[str]] = {}
    for r in below.itertuples(index=False):
        missed.setdefault(r.unit_id, []).append(
            f"{label(r.indicator.replace('coverage.', '') + '_label', lang)} {fmt_pct(r.pct, lang)} "
            f"< {fmt_pct(r.threshold_pct, lang, 0)}")
    shown = df.sort_values(["members_pct", "unit_name"], na_position="first", kind="stable").reset_index(drop=True)
    shown = shown.assign(status=[
        "; ".join(missed[u]) if u in missed else label("target_met", lang) for u in shown["unit_id"]])
    highlight = shown["unit_id"].isin(missed)
    count = int(highlight.sum())
    note = (f'<p class="note"><span class="swatch"></span>{esc(label("below_target", lang))}: '
            f'<b>{count}</b>/{len(shown)} {esc(label("subunits", lang))}</p>')
    table = table_html(shown, {"unit_name": label("unit", lang), "members_attended": label("members_attended", lang),
                               "members_eligible": label("members_eligible", lang),
                               "members_pct": label("members_pct", lang), "public_pct": label("public_pct", lang),
                               "status": label("target_status", lang)},
                       lang, pct_cols=("members_pct", "public_pct"), num_cols=("members_attended", "members_eligible"),
                       highlight=highlight, caption=label("figures_table", lang))
    spec = charts.coverage_by_subunit_spec(df, lang, tval, title=label("coverage_members", lang))
    return _section(label("by_subunit", lang), note + _chart_of(d, "subunit", spec) + table)


def _levels_table(levels: pd.DataFrame, lang: str) -> str:
    return table_html(levels, {"label": label("level", lang), "count": label("count", lang),
                               "pct": label("share", lang), "cumulative_pct": label("cumulative", lang)},
                      lang, pct_cols=("pct", "cumulative_pct"), num_cols=("count",),
                      caption=label("figures_table", lang))


def unit_ratings_html(d: AnnualDashboard) -> str:
    """Unit rating distribution with the exemplary count."""
    lang = d.lang
    dist = metrics.unit_rating_distribution(d.tables, d.unit_id, d.year, lang)
    levels = dist["levels"]
    ex = dist["exemplary"]
    scheme = _scheme_title(dist["scheme_id"], lang)
    note = (f'<p class="note">{esc(label("scheme", lang))}: {esc(scheme)}<br>'
            f'{esc(label("assessed", lang))}: <b>{fmt_num(dist["assessed"], lang)}</b> · '
            f'{esc(label("not_assessed", lang))}: {fmt_num(dist["not_assessed"], lang)}')
    if dist["assessed"] and ex.get("count") is not None:
        note += (f' · {esc(label("exemplary", lang))}: <b>{fmt_num(ex["count"], lang)}</b> '
                 f'({fmt_pct(ex["pct_of_assessed"], lang)} {esc(label("of_assessed", lang))}; '
                 f'{fmt_pct(ex["pct_of_level"], lang)} {esc(label("of", lang))} '
                 f'“{esc(levels["label"].iloc[0])}”)')
    note += "</p>"
    if not dist["assessed"]:
        return _section(label("unit_ratings", lang), note)
    spec = charts.rating_distribution_spec(levels, None, lang)
    return _section(label("unit_ratings", lang), note + _chart_of(d, "unit-ratings", spec) + _levels_table(levels, lang))


def member_ratings_html(d: AnnualDashboard) -> str:
    """Member rating distribution and, where the scheme sets one, the level-1 quota check."""
    lang = d.lang
    dist = metrics.member_rating_distribution(d.tables, d.unit_id, d.year, lang)
    levels = dist["levels"]
    note = (f'<p class="note">{esc(label("assessed", lang))}: <b>{fmt_num(dist["assessed"], lang)}</b> · '
            f'{esc(label("not_assessed", lang))}: {fmt_num(dist["not_assessed"], lang)}</p>')
    if not dist["assessed"]:
        return _section(label("member_ratings", lang), note)
    spec = charts.rating_distribution_spec(levels, None, lang)
    return _section(label("member_ratings", lang),
                    note + _chart_of(d, "member-ratings", spec) + _levels_table(levels, lang) + _quota_html(d, [d.year]))


#: Above this many organisations the quota table lists only those over the limit.
QUOTA_ROWS_SHOWN = 40


def _quota_html(d: AnnualDashboard | TrendsDashboard, years: list[int]) -> str:
    lang = d.lang
    frames = []
    for y in years:
        try:
            q = metrics.member_quota(d.tables, d.unit_id, y)
        except (ValueError, KeyError):
            continue
        if len(q):
            frames.append(q)
    if not frames:
        return ""
    q = pd.concat(frames, ignore_index=True)
    names: dict[str, str] = {}
    for y, part in q.groupby("year", sort=True):
        names.update(zip(part["unit_id"], metrics.unit_names(d.tables, part["unit_id"].tolist(), int(y)),
                         strict=True))
    q = q.assign(unit_name=[names[u] for u in q["unit_id"]],
                 status=[label("quota_ok" if ok else "quota_over", lang) for ok in q["is_within"]])
    over = ~q["is_within"].astype(bool)
    summary = ""
    if len(q) > QUOTA_ROWS_SHOWN:  # a province has hundreds of organisations: list those over the limit
        text = label("quota_summary", lang).format(within=fmt_num(int((~over).sum()), lang),
                                                   total=fmt_num(len(q), lang), over=fmt_num(int(over.sum()), lang))
        summary = f'<p class="note">{esc(text)}</p>'
        q, over = q[over].reset_index(drop=True), over[over].reset_index(drop=True)
    table = table_html(q, {"year": label("year", lang), "unit_name": label("unit", lang),
                           "level1_count": label("quota_level1", lang), "level2_count": label("quota_level2", lang),
                           "limit_count": label("quota_limit", lang), "status": label("target_status", lang)},
                       lang, num_cols=("level1_count", "level2_count", "limit_count"), int_cols=("year",),
                       highlight=over)
    return (f'<h3>{esc(label("quota_title", lang))}</h3><p class="note">{esc(label("quota_note", lang))}</p>'
            f'{summary}{table}')


def _scheme_title(scheme_id: str, lang: str) -> str:
    try:
        s = ratings.load_schemes().get(scheme_id)
    except (ValueError, OSError):
        return scheme_id
    title = s.title_vi if lang == "vi" else s.title_en
    return f"{title} ({s.years_text()})"


def _coverage_trend_table(cov: pd.DataFrame, lang: str) -> str:
    if cov.empty:
        return ""
    wide = cov.pivot_table(index="year", columns="indicator", values="pct", aggfunc="first").reset_index()
    cols: dict[str, str] = {"year": label("year", lang)}
    for key in ("units", "members", "public"):
        if f"coverage.{key}" in wide.columns:
            cols[f"coverage.{key}"] = label(f"coverage_{key}", lang)
    return table_html(wide, cols, lang, pct_cols=tuple(c for c in cols if c != "year"), int_cols=("year",),
                      caption=label("figures_table", lang) + " — " + label("coverage_trend", lang))


def _rating_trend_table(rt: pd.DataFrame, title: str, lang: str) -> str:
    """Year × rank shares, one row per year, with the scheme and the level names of that year."""
    if rt.empty:
        return ""
    rows = []
    for year, part in rt.groupby("year", sort=True):
        part = part.sort_values("rating_rank")
        row: dict[str, Any] = {"year": int(year), "scheme": str(part["scheme_id"].iloc[0]),
                               "assessed": int(part["count"].sum())}
        for r in part.itertuples(index=False):
            row[f"rank{int(r.rating_rank)}"] = r.pct
            row[f"rank{int(r.rating_rank)}_label"] = r.short_label
        rows.append(row)
    wide = pd.DataFrame(rows)
    for rank in (1, 2, 3, 4):
        if f"rank{rank}" in wide.columns:
            wide[f"rank{rank}_text"] = [
                "—" if pd.isna(p) else f"{fmt_pct(p, lang)} ({lb})"
                for p, lb in zip(wide[f"rank{rank}"], wide[f"rank{rank}_label"], strict=True)]
    cols = {"year": label("year", lang), "scheme": label("scheme", lang), "assessed": label("assessed", lang)}
    for rank in (1, 2, 3, 4):
        if f"rank{rank}_text" in wide.columns:
            cols[f"rank{rank}_text"] = f"{label('level_short', lang)} {rank}"
    breaks = wide["scheme"] != wide["scheme"].shift()
    breaks.iloc[0] = False
    return table_html(wide, cols, lang, num_cols=("assessed",), int_cols=("year",),
                      right_cols=tuple(c for c in cols if c.endswith("_text")), highlight=breaks,
                      highlight_class="break", caption=f"{label('figures_table', lang)} — {title}")


def _breaks_note(years: list[int], lang: str) -> str:
    breaks = ratings.scheme_breaks(years) if years else []
    if not breaks:
        return ""
    items = []
    for y in breaks:
        items.append(f"<li><b>{y}</b>: {esc(_scheme_title(ratings.scheme_for_year(y), lang))}</li>")
    return (f'<p class="note">{esc(label("breaks_note", lang))}</p><ul class="note">{"".join(items)}</ul>')


def _trend_sections(d: AnnualDashboard | TrendsDashboard, targets: dict[str, float] | None = None) -> str:
    lang, years = d.lang, d.years
    cov, ur, mr = _coverage_trend(d), _rating_trend(d, "unit"), _rating_trend(d, "member")
    breaks = ratings.scheme_breaks(years) if years else []
    parts = [f'<h3>{esc(label("coverage_trend", lang))}</h3>',
             _chart_of(d, "coverage-trend", charts.coverage_trend_spec(cov, lang, None, breaks, targets)),
             _coverage_trend_table(cov, lang)]
    for key, rt in (("unit_ratings", ur), ("member_ratings", mr)):
        if rt.empty or not rt["count"].sum():
            continue
        title = label(key, lang)
        parts += [f"<h3>{esc(title)}</h3>",
                  _chart_of(d, f"{key}-trend", charts.rating_trend_spec(rt, None, lang, break_years=breaks)),
                  _rating_trend_table(rt, title, lang)]
    return _breaks_note(years, lang) + "".join(parts)


def trends_html(d: AnnualDashboard) -> str:
    """Coverage and rating trends up to the year, with scheme breaks marked and tables behind them."""
    att = _targets(d)
    targets = {r.indicator: float(r.threshold_pct) for r in att.itertuples(index=False)}
    return _section(label("trends", d.lang), _trend_sections(d, targets))


def quality_html(d: AnnualDashboard) -> str:
    """The data-quality verdict for the unit and year, with its first findings."""
    lang = d.lang
    v = d.validation
    if not v:
        return ""
    ok = v.get("verdict") == "pass"
    counts = v.get("counts", {})
    verdict = label("verdict_pass" if ok else "verdict_fail", lang)
    findings = v.get("findings", [])
    items = "".join(f"<li><b>{esc(label('severity_' + str(f.get('severity')), lang))}</b> "
                    f"{esc(f.get('message'))}</li>" for f in findings[:12])
    more = len(findings) - 12
    more_html = f"<li>… +{more}</li>" if more > 0 else ""
    counts_text = (f"{counts.get('critical', 0)} {label('severity_critical', lang).lower()}, "
                   f"{counts.get('warning', 0)} {label('severity_warning', lang).lower()}")
    return _section(label("data_quality", lang),
                    f'<div class="verdict {"pass" if ok else "fail"}">{esc(verdict)} ({esc(counts_text)})</div>'
                    f'{"<ul>" + items + more_html + "</ul>" if items else ""}'
                    f'<p><a href="validation.html">{esc(label("see_findings", lang))}</a></p>')


def input_files(manifest: dict, unit_ids: Iterable[str], years: Iterable[int]) -> list[dict]:
    """The raw files a report's figures come from: reference files, and data files with a sheet of
    one of ``years`` whose scope is one of ``unit_ids``.

    Returns:
        Manifest file entries (``file``, ``kind``, ``sha256``), sorted by file name.
    """
    ids, ys = set(unit_ids), {int(y) for y in years}
    out = []
    for f in manifest.get("files", []):
        if f.get("kind") == "reference":
            out.append(f)
            continue
        for s in f.get("sheets", []):
            year = s.get("year")
            if year is not None and int(year) in ys and s.get("scope") in ids:
                out.append(f)
                break
    return sorted(({"file": f["file"], "kind": f.get("kind", ""), "sha256": f.get("sha256", "")} for f in out),
                  key=lambda f: f["file"])


def provenance_scope(units: pd.DataFrame, unit_id: str, years: Iterable[int]) -> list[str]:
    """Units whose raw files can carry a report's figures: the subtree and the ancestors (a
    parent's workbook lists the ratings of its organisations)."""
    ids = set(slice_units(units, unit_id, years))
    for y in years:
        ids.update(metrics.ancestor_ids(units, unit_id, y))
    return sorted(ids)


def provenance_html(d: AnnualDashboard | TrendsDashboard, rendered_at: str = "") -> str:
    """Inputs (with hashes), package version, parameters, verdict and render time.

    The render time is the only volatile field; it sits in ``<span class="volatile">``.
    """
    lang = d.lang
    years = d.provenance_years
    files = input_files(d.tables.manifest, provenance_scope(d.tables.units, d.unit_id, years), years)
    rows = "".join(f"<li><code>{esc(f['file'])}</code> sha256 <code>{esc(f['sha256'][:16])}</code></li>"
                   for f in files)
    params = ", ".join(f"{esc(k)}={esc(v)}" for k, v in sorted(d.params.items()))
    verdict = d.validation.get("verdict") if d.validation else None
    verdict_html = f" · {esc(label('data_quality', lang))}: {esc(verdict)}" if verdict else ""
    return (f'<div class="hoctap prov"><h2>{esc(label("provenance", lang))}</h2>'
            f'<p>{esc(label("package_version", lang))}: hoctap {esc(__version__)} · '
            f'{esc(label("parameters", lang))}: {params}{verdict_html}'
            f' · {esc(label("rendered_at", lang))}: <span class="volatile">{esc(rendered_at)}</span></p>'
            f'<details><summary>{esc(label("inputs", lang))} ({len(files)})</summary><ul>{rows}</ul></details>'
            f'</div>')


def write_exports(d: AnnualDashboard, folder: str | Path | None) -> list[Path]:
    """Write ``metrics.json`` (the metrics contract) and ``metrics.xlsx`` (every frame behind a
    chart, text neutralised against formula injection) into ``folder``.

    An empty ``folder`` writes nothing (the notebook run interactively, without ``out_dir``).

    Returns:
        The paths written.
    """
    from analysis.exports import write_frames_xlsx

    if not folder:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mj = folder / "metrics.json"
    mj.write_text(json.dumps(d.figures, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    mx = folder / "metrics.xlsx"
    note = f"{label('dashboard_title', d.lang)} — {d.figures['unit_name']} ({d.unit_id}) {d.year}"
    write_frames_xlsx(annual_frames(d), mx, note)
    return [mj, mx]


# ---------------------------------------------------------------------------------------------
# Trends dashboard sections
# ---------------------------------------------------------------------------------------------

def trends_head_html(t: TrendsDashboard) -> str:
    """Styles, plotly.js, title, span and the illustrative-data banner of the trends dashboard."""
    lang, years = t.lang, t.years
    span = f"{years[0]}–{years[-1]}" if years else f"{t.start_year}–{t.end_year}"
    return (CSS + charts.plotlyjs_script() +
            f'<div class="hoctap"><h1>{esc(t.unit_name)}</h1>'
            f'<p class="sub">{esc(label("trends_title", lang))} — {esc(span)}</p>{_banner(t.tables, lang)}</div>')


def trends_overview_html(t: TrendsDashboard) -> str:
    """All trend charts with the scheme changes noted and the tables behind them."""
    years = t.years
    targets = {}
    if years:
        tg = metrics.targets_for(t.tables, t.unit_id, years[-1])
        targets = {r.indicator: float(r.threshold_pct) for r in tg.itertuples(index=False)}
    if not years:
        return _section(label("trends", t.lang), f'<p class="note">{esc(label("not_available", t.lang))}</p>')
    return _section(label("trends", t.lang), _trend_sections(t, targets))


def trends_quota_html(t: TrendsDashboard) -> str:
    """The level-1 member quota check per grassroots organisation, for every year it applies."""
    body = _quota_html(t, t.years)
    return f'<div class="hoctap"><section>{body}</section></div>' if body else ""
