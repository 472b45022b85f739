"""The sections of the annual dashboard, as escaped HTML fragments.

``notebooks/annual_dashboard.ipynb`` calls one function per cell and displays the result, so the
notebook holds no logic. :func:`load_annual` is the only function here that reads files (the
slice of processed data for the unit's subtree and the years it shows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import __version__, charts, hierarchy, metrics, store
from analysis.render import esc, fmt_change, fmt_num, fmt_pct, label, table_html

CSS = """
<style>
.hoctap { font-family: "Segoe UI", Roboto, Arial, sans-serif; color: #1d1d1d; max-width: 1100px; margin: 0 auto; }
.hoctap h1 { font-size: 1.5em; margin: .2em 0; color: #8b0000; }
.hoctap h2 { font-size: 1.15em; border-bottom: 2px solid #8b0000; padding-bottom: .2em; margin-top: 1.4em; }
.hoctap .sub { color: #555; margin: 0 0 .8em 0; }
.hoctap .banner { background: #fff4e5; border-left: 4px solid #e0a526; padding: .5em .8em; margin: .6em 0; }
.hoctap .kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: .8em 0; }
.hoctap .kpi { flex: 1 1 220px; border: 1px solid #ddd; border-radius: 8px; padding: .7em 1em; background: #fafafa; }
.hoctap .kpi .v { font-size: 2em; font-weight: 600; color: #8b0000; }
.hoctap .kpi .n { color: #555; font-size: .9em; }
.hoctap .kpi .d { font-size: .9em; }
.hoctap .kpi .d.up { color: #1a7f37; } .hoctap .kpi .d.down { color: #c0392b; }
.hoctap .para { font-size: 1.05em; line-height: 1.55; background: #f5f8fb; padding: .7em 1em; border-radius: 6px; }
.hoctap table.figures { border-collapse: collapse; margin: .6em 0 1em 0; font-size: .92em; width: 100%; }
.hoctap table.figures caption { text-align: left; font-weight: 600; padding: .3em 0; }
.hoctap table.figures th { background: #f0f0f0; text-align: left; padding: .3em .5em; border-bottom: 1px solid #ccc; }
.hoctap table.figures td { padding: .25em .5em; border-bottom: 1px solid #eee; }
.hoctap table.figures td.num { text-align: right; font-variant-numeric: tabular-nums; }
.hoctap table.figures tr.below td { background: #fdecea; }
.hoctap .verdict { padding: .6em 1em; border-radius: 6px; font-weight: 600; }
.hoctap .verdict.pass { background: #e8f5e9; color: #1a7f37; } .hoctap .verdict.fail { background: #fdecea; color: #c0392b; }
.hoctap .prov { font-size: .85em; color: #444; } .hoctap .prov code { font-size: .9em; }
.hoctap .chart { page-break-inside: avoid; break-inside: avoid; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { background: white; }
  .hoctap { max-width: 100%; font-size: 10.5pt; }
  .hoctap .kpi { break-inside: avoid; }
  .hoctap section { break-inside: avoid-page; }
  .js-plotly-plot, .plot-container, .svg-container { max-width: 180mm !important; }
  .modebar { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
</style>
"""


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
    """

    tables: store.Tables
    unit_id: str
    year: int
    lang: str
    figures: dict
    previous: dict | None
    validation: dict | None
    params: dict = field(default_factory=dict)


def slice_units(units: pd.DataFrame, unit_id: str, years: list[int]) -> list[str]:
    """Every unit id in the subtree of ``unit_id`` in any of ``years`` (what a report reads)."""
    ids: set[str] = set()
    for y in years:
        if y in hierarchy.years_active(units, unit_id):
            ids.update(hierarchy.subtree_ids(units, unit_id, y))
    return sorted(ids)


def load_annual(data_dir: str | Path, unit_id: str, year: int, lang: str = "vi",
                validation_path: str | Path | None = None) -> AnnualDashboard:
    """Load the slice a unit's annual dashboard needs and compute its figures.

    Reads only the unit's subtree and the years up to ``year`` (Parquet filters).
    """
    data_dir = Path(data_dir)
    units = store.load_table(data_dir, "units")
    years = [y for y in hierarchy.years_active(units, unit_id) if y <= year]
    tables = store.load_tables(data_dir, unit_ids=slice_units(units, unit_id, years), years=years)
    figures = metrics.unit_year_metrics(tables, unit_id, year, lang)
    previous = None
    if year - 1 in tables.years and year - 1 in hierarchy.years_active(tables.units, unit_id):
        previous = metrics.unit_year_metrics(tables, unit_id, year - 1, lang)
    validation = None
    if validation_path and Path(validation_path).is_file():
        validation = json.loads(Path(validation_path).read_text(encoding="utf-8"))
    return AnnualDashboard(tables, unit_id, year, lang, figures, previous, validation,
                           {"unit_id": unit_id, "year": year, "lang": lang})


# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------

def head_html(d: AnnualDashboard) -> str:
    """Styles, plotly.js (inline, once), title and the illustrative-data banner."""
    f = d.figures
    dataset = d.tables.manifest.get("dataset") or {}
    banner = ""
    if dataset.get("illustrative"):
        note = dataset.get(f"source_note_{d.lang}") or dataset.get("source_note_vi") or ""
        banner = f'<div class="banner"><b>{esc(label("illustrative", d.lang))}.</b> {esc(note)}</div>'
    sub = (f"{esc(label('year', d.lang))} {f['year']} · {fmt_num(f['units_count'], d.lang)} "
           f"{esc(label('leaf_units', d.lang))} · {fmt_num(f['members_count'], d.lang)} {esc(label('members', d.lang))}")
    return (CSS + charts.plotlyjs_script() +
            f'<div class="hoctap"><h1>{esc(f["unit_name"])}</h1>'
            f'<p class="sub">{esc(label("dashboard_title", d.lang))} — {sub}</p>{banner}</div>')


def kpi_html(d: AnnualDashboard) -> str:
    """Tiles of the three coverage figures with numerator/denominator and year-on-year change."""
    tiles = []
    for key in ("units", "members", "public"):
        c = d.figures["coverage"][key]
        prev = d.previous["coverage"][key]["pct"] if d.previous else None
        change = None if (c["pct"] is None or prev is None) else c["pct"] - prev
        cls = "" if change is None or abs(change) < 0.05 else ("up" if change > 0 else "down")
        tiles.append(
            f'<div class="kpi"><div class="n">{esc(label("coverage_" + key, d.lang))}</div>'
            f'<div class="v">{fmt_pct(c["pct"], d.lang)}</div>'
            f'<div class="n">{fmt_num(c["numerator"], d.lang)} / {fmt_num(c["denominator"], d.lang)}</div>'
            f'<div class="d {cls}">{esc(fmt_change(change, d.lang))} '
            f'{esc(label("change_vs_prev", d.lang)) if change is not None else ""}</div></div>')
    return f'<div class="hoctap"><div class="kpis">{"".join(tiles)}</div></div>'


def summary_html(d: AnnualDashboard) -> str:
    """The drafted paragraph of the year's headline figures (checked by the claims module)."""
    from analysis import claims

    text = claims.draft_paragraph(d.figures, d.lang)
    return (f'<div class="hoctap"><h2>{esc(label("summary", d.lang))}</h2>'
            f'<p class="para">{esc(text)}</p></div>')


def _section(title: str, fig_html: str, table: str) -> str:
    return (f'<div class="hoctap"><section><h2>{esc(title)}</h2><div class="chart">{fig_html}</div>'
            f'{table}</section></div>')


def campaign_html(d: AnnualDashboard) -> str:
    """Coverage by campaign: chart and the table behind it."""
    df = metrics.coverage_by_campaign(d.tables, d.unit_id, d.year)
    lang = d.lang
    table = table_html(df, {"title": label("campaign", lang), "members_attended": label("attended", lang),
                            "members_eligible": label("eligible", lang), "members_pct": label("members_label", lang),
                            "public_attended": label("public_label", lang) + " — " + label("attended", lang),
                            "public_target": label("target", lang), "public_pct": label("public_label", lang)},
                       lang, pct_cols=("members_pct", "public_pct"),
                       num_cols=("members_attended", "members_eligible", "public_attended", "public_target"),
                       caption=label("figures_table", lang))
    return _section(label("by_campaign", lang), charts.figure_html(charts.coverage_by_campaign_figure(df, lang)),
                    table)


def subunit_html(d: AnnualDashboard) -> str:
    """Coverage by direct sub-unit, highlighting those below the members target."""
    lang = d.lang
    df = metrics.coverage_by_subunit(d.tables, d.unit_id, d.year)
    if len(df) <= 1 and (df.empty or df["unit_id"].iloc[0] == d.unit_id):
        return ""
    targets = metrics.targets_for(d.tables, d.unit_id, d.year)
    target = targets.loc[targets["indicator"] == "coverage.members", "threshold_pct"]
    tval = float(target.iloc[0]) if len(target) else None
    below = df["members_pct"].apply(lambda v: tval is not None and pd.notna(v) and v < tval)
    table = table_html(df, {"unit_name": label("unit", lang), "members_attended": label("attended", lang),
                            "members_eligible": label("eligible", lang), "members_pct": label("members_label", lang),
                            "public_pct": label("public_label", lang)},
                       lang, pct_cols=("members_pct", "public_pct"), num_cols=("members_attended", "members_eligible"),
                       highlight=below,
                       caption=label("figures_table", lang) + (
                           f" — {label('below_target', lang)}: {int(below.sum())}" if tval is not None else ""))
    return _section(label("by_subunit", lang),
                    charts.figure_html(charts.coverage_by_subunit_figure(df, lang, tval)), table)


def _levels_table(levels: pd.DataFrame, lang: str) -> str:
    return table_html(levels, {"label": label("level", lang), "count": label("count", lang),
                               "pct": label("share", lang), "cumulative_pct": label("cumulative", lang)},
                      lang, pct_cols=("pct", "cumulative_pct"), num_cols=("count",),
                      caption=label("figures_table", lang))


def unit_ratings_html(d: AnnualDashboard) -> str:
    """Unit rating distribution with the exemplary count."""
    lang = d.lang
    dist = metrics.unit_rating_distribution(d.tables, d.unit_id, d.year, lang)
    ex = dist["exemplary"]
    note = (f'<p>{esc(label("exemplary", lang))}: {fmt_num(ex["count"], lang)} '
            f'({fmt_pct(ex["pct_of_assessed"], lang)} / {esc(label("assessed", lang).lower())}; '
            f'{fmt_pct(ex["pct_of_level"], lang)} / {esc(dist["levels"]["label"].iloc[0])}) · '
            f'{esc(label("assessed", lang))}: {fmt_num(dist["assessed"], lang)} · '
            f'{esc(label("not_assessed", lang))}: {fmt_num(dist["not_assessed"], lang)}</p>')
    fig = charts.rating_distribution_figure(dist["levels"], f"{label('unit_ratings', lang)} {d.year}", lang)
    return _section(label("unit_ratings", lang), charts.figure_html(fig), note + _levels_table(dist["levels"], lang))


def member_ratings_html(d: AnnualDashboard) -> str:
    """Member rating distribution."""
    lang = d.lang
    dist = metrics.member_rating_distribution(d.tables, d.unit_id, d.year, lang)
    note = (f'<p>{esc(label("assessed", lang))}: {fmt_num(dist["assessed"], lang)} · '
            f'{esc(label("not_assessed", lang))}: {fmt_num(dist["not_assessed"], lang)}</p>')
    fig = charts.rating_distribution_figure(dist["levels"], f"{label('member_ratings', lang)} {d.year}", lang)
    return _section(label("member_ratings", lang), charts.figure_html(fig), note + _levels_table(dist["levels"], lang))


def trends_html(d: AnnualDashboard) -> str:
    """Coverage and rating trends up to the year, with scheme breaks marked."""
    lang = d.lang
    years = [y for y in d.tables.years if y <= d.year]
    cov = metrics.trend(d.tables, d.unit_id, ["coverage.units", "coverage.members", "coverage.public"], years)
    ur = metrics.rating_trend(d.tables, d.unit_id, "unit", years, lang)
    mr = metrics.rating_trend(d.tables, d.unit_id, "member", years, lang)
    parts = [charts.figure_html(charts.coverage_trend_figure(cov, lang)),
             charts.figure_html(charts.rating_trend_figure(ur, label("unit_ratings", lang), lang)),
             charts.figure_html(charts.rating_trend_figure(mr, label("member_ratings", lang), lang))]
    wide = cov.pivot_table(index="year", columns="indicator", values="pct").reset_index()
    cols = {"year": label("year", lang)}
    for key in ("units", "members", "public"):
        if f"coverage.{key}" in wide.columns:
            cols[f"coverage.{key}"] = label(f"{key}_label", lang)
    table = table_html(wide, cols, lang, pct_cols=tuple(c for c in cols if c != "year"),
                       caption=label("figures_table", lang))
    return (f'<div class="hoctap"><section><h2>{esc(label("rating_trend", lang))}</h2>'
            + "".join(f'<div class="chart">{p}</div>' for p in parts) + table + "</section></div>")


def quality_html(d: AnnualDashboard) -> str:
    """The data-quality verdict for the unit and year, linking the findings."""
    lang = d.lang
    v = d.validation
    if not v:
        return ""
    ok = v.get("verdict") == "pass"
    counts = v.get("counts", {})
    verdict = label("verdict_pass" if ok else "verdict_fail", lang)
    items = "".join(f"<li><b>{esc(f.get('severity'))}</b> {esc(f.get('check'))}: {esc(f.get('message'))}</li>"
                    for f in v.get("findings", [])[:12])
    more = len(v.get("findings", [])) - 12
    more_html = f"<li>… +{more}</li>" if more > 0 else ""
    return (f'<div class="hoctap"><section><h2>{esc(label("data_quality", lang))}</h2>'
            f'<div class="verdict {"pass" if ok else "fail"}">{esc(verdict)} '
            f'({counts.get("critical", 0)} critical, {counts.get("warning", 0)} warning)</div>'
            f'<ul>{items}{more_html}</ul><p><a href="validation.html">{esc(label("see_findings", lang))}</a></p>'
            f'</section></div>')


def provenance_html(d: AnnualDashboard, rendered_at: str = "") -> str:
    """Inputs (with hashes), package version, parameters, verdict and render time."""
    lang = d.lang
    manifest = d.tables.manifest
    files = [f for f in manifest.get("files", []) if str(d.year) in f["file"] or f["kind"] == "reference"]
    rows = "".join(f"<li><code>{esc(f['file'])}</code> sha256 <code>{esc(f['sha256'][:16])}…</code></li>"
                   for f in files[:40])
    params = ", ".join(f"{esc(k)}={esc(v)}" for k, v in sorted(d.params.items()))
    verdict = d.validation.get("verdict") if d.validation else "—"
    return (f'<div class="hoctap prov"><h2>{esc(label("provenance", lang))}</h2>'
            f'<p>{esc(label("package_version", lang))}: hoctap {esc(__version__)} · '
            f'{esc(label("parameters", lang))}: {params} · {esc(label("data_quality", lang))}: {esc(verdict)}'
            f' · <span class="volatile">{esc(label("rendered_at", lang))}: {esc(rendered_at)}</span></p>'
            f'<details><summary>{esc(label("inputs", lang))} ({len(files)})</summary><ul>{rows}</ul></details></div>')
