"""Dashboard sections, charts, tables and exports, without a kernel."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis import charts, dashboard, metrics
from analysis.render import table_html

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def annual(sample_processed: Path) -> dashboard.AnnualDashboard:
    return dashboard.load_annual(sample_processed, "tan-thanh", 2014, "vi")


@pytest.fixture(scope="module")
def later(sample_processed: Path) -> dashboard.AnnualDashboard:
    return dashboard.load_annual(sample_processed, "tan-thanh", 2024, "vi")


# --- charts -----------------------------------------------------------------------------------

def _rating_trend(rows: list[tuple[int, str, int, float]]) -> pd.DataFrame:
    years = sorted({r[0] for r in rows})
    scheme = {y: s for y, s, _, _ in rows}
    previous = {y: scheme[years[i - 1]] if i else scheme[y] for i, y in enumerate(years)}
    return pd.DataFrame([{"year": y, "scheme_id": s, "rating_rank": k, "rating_code": f"c{k}", "label": f"L{k}",
                          "short_label": f"S{k}-{s}", "count": 1, "pct": p, "is_break": s != previous[y]}
                         for y, s, k, p in rows])


def test_rating_trend_never_joins_two_schemes() -> None:
    t = _rating_trend([(2016, "a", 1, 70.0), (2017, "a", 1, 60.0), (2018, "b", 1, 10.0), (2019, "b", 1, 12.0)])
    fig = charts.rating_trend_figure(t, "x")
    spans = [sorted(tr.x) for tr in fig.data]
    assert spans == [[2016, 2017], [2018, 2019]]


def test_rating_trend_marks_each_break_with_a_note() -> None:
    t = _rating_trend([(2017, "a", 1, 60.0), (2018, "b", 1, 10.0), (2023, "c", 1, 12.0)])
    fig = charts.rating_trend_figure(t, "x")
    assert [s.x0 for s in fig.layout.shapes] == [2017.5, 2022.5]
    assert [a.text for a in fig.layout.annotations] == ["Đổi thang xếp loại 2018", "Đổi thang xếp loại 2023"]


def test_rating_trend_legend_names_each_schemes_label() -> None:
    t = _rating_trend([(2017, "a", 1, 60.0), (2018, "b", 1, 10.0)])
    assert charts.rating_trend_figure(t, "x").data[0].name == "Mức 1: S1-a → S1-b"


def test_year_axis_has_integer_ticks(later: dashboard.AnnualDashboard) -> None:
    fig = charts.coverage_trend_figure(dashboard.coverage_trend(later.tables, "tan-thanh", later.years))
    assert list(fig.layout.xaxis.tickvals) == list(range(2012, 2025))
    assert all(isinstance(v, int) for v in fig.layout.xaxis.tickvals)


def _in_chart(text: str, html: str) -> bool:
    """Whether ``text`` is in a chart's JSON (plotly writes non-ASCII as \\u escapes)."""
    return json.dumps(text)[1:-1] in html or text in html


def test_sample_trend_shows_both_scheme_breaks(later: dashboard.AnnualDashboard) -> None:
    html = dashboard.trends_html(later)
    assert _in_chart("Đổi thang xếp loại 2018", html) and _in_chart("Đổi thang xếp loại 2023", html)


# the dashboards write specs; analysts may hand plotly figures: both paths of figure_html
BUILDERS = {"spec": (charts.coverage_by_subunit_spec, charts.coverage_trend_spec),
            "figure": (charts.coverage_by_subunit_figure, charts.coverage_trend_figure)}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_figure_names_are_escaped(kind: str) -> None:
    df = pd.DataFrame({"unit_id": ["u"], "unit_name": [XSS], "members_pct": [50.0]})
    html = charts.figure_html(BUILDERS[kind][0](df, "vi", 95.0), "chart-x")
    assert XSS not in html and "onerror=alert" in html.replace("\\u003c", "<") .replace("&lt;", "<")


def test_below_target_bars_are_red_and_others_are_not() -> None:
    df = pd.DataFrame({"unit_id": ["a", "b"], "unit_name": ["A", "B"], "members_pct": [90.0, 99.0]})
    fig = charts.coverage_by_subunit_figure(df, "vi", 95.0)
    assert list(fig.data[0].marker.color) == [charts.BELOW_TARGET_COLOUR, charts.SERIES_COLOURS["members"]]


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_figure_html_has_a_deterministic_id(kind: str) -> None:
    fig = BUILDERS[kind][1](pd.DataFrame({"indicator": ["coverage.members"], "year": [2014], "pct": [96.4]}))
    a, b = charts.figure_html(fig), charts.figure_html(fig)
    assert a == b and re.search(r'id="chart-[0-9a-f]{12}"', a)


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_figure_html_loads_nothing_from_a_cdn(kind: str) -> None:
    fig = BUILDERS[kind][1](pd.DataFrame({"indicator": ["coverage.members"], "year": [2014], "pct": [96.4]}))
    html = charts.figure_html(fig, "chart-a")
    assert "cdn" not in html.lower() and "<script src" not in html


def test_inline_plotlyjs_replaces_the_placeholder_once() -> None:
    page = charts.PLOTLYJS_PLACEHOLDER + "x" + charts.PLOTLYJS_PLACEHOLDER.replace(
        'type="text/javascript" data-hoctap="plotly.js"', 'data-hoctap="plotly.js" type="text/javascript"')
    out = charts.inline_plotlyjs(page)
    assert out.count("plotly.js v") == 1 and "data-hoctap" not in out


#: Runs a dashboard's notebook cells in a fresh interpreter and prints the plotly modules loaded.
_NO_PLOTLY = """
import sys, tempfile
from analysis import dashboard
data, kind = sys.argv[1], sys.argv[2]
if kind == "annual":
    d = dashboard.load_annual(data, "tan-thanh", 2024, "vi", "")
    for f in (dashboard.head_html, dashboard.kpi_html, dashboard.summary_html, dashboard.campaign_html,
              dashboard.subunit_html, dashboard.unit_ratings_html, dashboard.member_ratings_html,
              dashboard.trends_html, dashboard.quality_html):
        f(d)
    dashboard.provenance_html(d, "now")
    with tempfile.TemporaryDirectory() as tmp:
        dashboard.write_exports(d, tmp)
else:
    t = dashboard.load_trends(data, "tan-thanh", 2012, 2024, "vi")
    html = dashboard.trends_head_html(t) + dashboard.trends_overview_html(t) + dashboard.trends_quota_html(t)
    dashboard.provenance_html(t, "now")
    assert html.count('class="plotly-graph-div"') == 3
print(sorted(m for m in sys.modules if m == "plotly" or m.startswith(("plotly.", "_plotly_utils"))))
"""


@pytest.mark.parametrize("kind", ["annual", "trends"])
def test_rendering_a_dashboard_never_imports_plotly(sample_processed: Path, kind: str) -> None:
    """Charts are written as JSON specs; plotly.js is inlined later by the parent (``defer``)."""
    env = {**os.environ, charts.PLOTLYJS_ENV: "defer"}
    out = subprocess.run([sys.executable, "-c", _NO_PLOTLY, str(sample_processed), kind], env=env,
                         capture_output=True, text=True, timeout=240, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_importing_charts_does_not_import_plotly() -> None:
    code = "import sys, analysis.charts; print('plotly' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_dashboard_charts_are_specs_and_keep_their_ids(later: dashboard.AnnualDashboard) -> None:
    html = dashboard.campaign_html(later) + dashboard.trends_html(later)
    ids = re.findall(r'<div id="(chart-[^"]+)" class="plotly-graph-div"', html)
    assert ids == [charts.figure_id(n, "tan-thanh", "tan-thanh", 2024, "vi")
                   for n in ("campaign", "coverage-trend", "unit_ratings-trend", "member_ratings-trend")]
    assert html.count('"template":{"data":') == 4 and "Plotly.newPlot" in html


# --- tables -----------------------------------------------------------------------------------

def test_table_html_formats_vietnamese_numbers_and_integer_years() -> None:
    df = pd.DataFrame({"year": [2014.0], "n": [5600000.0], "p": [96.43]})
    html = table_html(df, {"year": "Năm", "n": "Số", "p": "Tỷ lệ"}, "vi", pct_cols=("p",), num_cols=("n",),
                      int_cols=("year",))
    assert ">2014<" in html and ">5.600.000<" in html and ">96,4%<" in html


def test_table_html_escapes_text() -> None:
    html = table_html(pd.DataFrame({"a": [XSS]}), {"a": "<b>"}, "vi")
    assert XSS not in html and "&lt;b&gt;" in html


# --- sections on the sample -----------------------------------------------------------------------

def test_kpi_shows_article_figures_and_targets(annual: dashboard.AnnualDashboard) -> None:
    html = dashboard.kpi_html(annual)
    assert "100,0%" in html and "96,4%" in html and "74,7%" in html and "Chỉ tiêu ≥ 95%" in html


def test_summary_is_the_drafted_paragraph(annual: dashboard.AnnualDashboard) -> None:
    from analysis import claims

    assert claims.draft_paragraph(annual.figures, "vi").split(",")[0] in dashboard.summary_html(annual)


def test_subunits_below_target_are_highlighted(annual: dashboard.AnnualDashboard) -> None:
    html = dashboard.subunit_html(annual)
    expected = metrics.subunits_below_target(annual.tables, "tan-thanh", 2014)
    assert html.count('<tr class="below">') == expected["unit_id"].nunique() > 0


def test_subunits_below_matches_metrics(annual: dashboard.AnnualDashboard) -> None:
    sub = metrics.coverage_by_subunit(annual.tables, "tan-thanh", 2014)
    ours = dashboard.subunits_below(annual.tables, "tan-thanh", 2014, sub)
    theirs = metrics.subunits_below_target(annual.tables, "tan-thanh", 2014)
    pd.testing.assert_frame_equal(ours, theirs.sort_values(["unit_id", "indicator"]).reset_index(drop=True),
                                  check_dtype=False)


def test_coverage_trend_matches_metrics_trend(later: dashboard.AnnualDashboard) -> None:
    ours = dashboard.coverage_trend(later.tables, "tan-thanh", later.years)
    theirs = metrics.trend(later.tables, "tan-thanh", dashboard.COVERAGE_INDICATORS, later.years)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)


def test_every_chart_has_a_table_behind_it(later: dashboard.AnnualDashboard) -> None:
    html = "".join(f(later) for f in (dashboard.campaign_html, dashboard.subunit_html, dashboard.unit_ratings_html,
                                      dashboard.member_ratings_html, dashboard.trends_html))
    charts_count = html.count('class="plotly-graph-div"')
    tables = html.count('<table class="figures">')
    assert charts_count == 7 and tables >= charts_count


def test_provenance_marks_the_render_time_volatile(annual: dashboard.AnnualDashboard) -> None:
    html = dashboard.provenance_html(annual, "2026-11-29 10:00:00 +0700")
    assert '<span class="volatile">2026-11-29 10:00:00 +0700</span>' in html and "tan-thanh-2014.xlsx" in html


def test_provenance_lists_only_the_units_files(annual: dashboard.AnnualDashboard) -> None:
    html = dashboard.provenance_html(annual)
    assert "him-lam-2014" not in html and "dbp-xep-loai-2014" in html


def test_sections_have_no_external_resource(later: dashboard.AnnualDashboard) -> None:
    html = "".join(f(later) for f in (dashboard.kpi_html, dashboard.campaign_html, dashboard.trends_html))
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', html)


def test_trends_dashboard_on_the_sample(sample_processed: Path) -> None:
    t = dashboard.load_trends(sample_processed, "thpt-pdg", 2016, 2019, "vi")
    assert t.years == [2016, 2017, 2018, 2019]
    html = dashboard.trends_overview_html(t)
    assert _in_chart("Đổi thang xếp loại 2018", html) and not _in_chart("Đổi thang xếp loại 2023", html)


def test_write_exports_writes_json_and_neutralised_xlsx(annual: dashboard.AnnualDashboard, tmp_path: Path) -> None:
    paths = dashboard.write_exports(annual, tmp_path)
    assert [p.name for p in paths] == ["metrics.json", "metrics.xlsx"]
    wb = openpyxl.load_workbook(tmp_path / "metrics.xlsx")
    assert {"tong_hop", "theo_dot_hoc", "theo_don_vi", "xu_huong_hoc_tap", "ghi_chu"} <= set(wb.sheetnames)


def test_write_exports_without_folder_writes_nothing(annual: dashboard.AnnualDashboard) -> None:
    assert dashboard.write_exports(annual, "") == []
