"""Chart specs: valid plotly figures, the same fragment plotly writes, safe JSON inside ``<script>``.

The dashboards build charts as plain dicts (``charts.*_spec``) and write their HTML without
plotly; here plotly checks every spec of the sample dashboards (``go.Figure(spec)`` rejects a
wrong key or value) and plotly's own ``to_html`` is the reference for :func:`charts.figure_html`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import charts, dashboard

EXAMPLES = 300 if os.environ.get("HOCTAP_SLOW") else 40
#: Annual dashboards of the sample: a grassroots organisation before, at and after the scheme
#: changes (one in English), party cells (one merged in 2020), the provincial committee.
ANNUAL = [("tan-thanh", 2014, "vi"), ("tan-thanh", 2015, "vi"), ("tan-thanh", 2024, "vi"), ("tan-thanh", 2024, "en"),
          ("tan-thanh-tdp01", 2024, "vi"), ("tan-thanh-tdp19-20", 2024, "vi"), ("him-lam-cong-an", 2016, "vi"),
          ("dbp", 2024, "vi")]
TRENDS = [("tan-thanh", 2012, 2024, "vi"), ("thpt-pdg", 2016, 2019, "en")]
ANNUAL_SECTIONS = (dashboard.campaign_html, dashboard.subunit_html, dashboard.unit_ratings_html,
                   dashboard.member_ratings_html, dashboard.trends_html)
NEWPLOT = re.compile(r'Plotly\.newPlot\(\s*"([^"]*)",\s*(\[.*?\]),\s*(\{.*\}),\s*(\{"displaylogo.*?\})\s*\)', re.S)


def _parts(fragment: str) -> tuple[str, list]:
    """A fragment's text around the ``Plotly.newPlot`` arguments, and the parsed arguments."""
    m = NEWPLOT.search(fragment)
    assert m, fragment[:300]
    shell = "".join((fragment[:m.start(2)], "DATA", fragment[m.end(2):m.start(3)], "LAYOUT",
                     fragment[m.end(3):m.start(4)], "CONFIG", fragment[m.end(4):]))
    return shell, [json.loads(g) for g in m.groups()[1:]]


def _figure(spec: dict) -> go.Figure:
    """plotly's figure of a spec. plotly moves each trace's ``type`` key to the end of the dict it
    is given (a key-order change only), so it gets a copy: the specs shared by the tests stay as the
    dashboards wrote them."""
    return go.Figure(copy.deepcopy(spec))


def _plotly_fragment(spec: dict, div_id: str) -> str:
    return _figure(spec).to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                                   config=dict(charts.CONFIG))


def _walk(value: object):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _walk(v)
    else:
        yield value


@pytest.fixture(scope="module")
def sample_specs(sample_processed: Path) -> list[tuple[str, dict]]:
    """Every chart spec the sample dashboards draw, with its ``div`` id (recorded at ``figure_html``)."""
    seen: list[tuple[str, dict]] = []
    real = charts.figure_html

    def record(spec, div_id=None):
        assert isinstance(spec, dict), "the dashboards pass specs, not figures"
        seen.append((div_id, spec))
        return real(spec, div_id)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(charts, "figure_html", record)
        for unit, year, lang in ANNUAL:
            d = dashboard.load_annual(sample_processed, unit, year, lang)
            for section in ANNUAL_SECTIONS:
                section(d)
        for unit, start, end, lang in TRENDS:
            dashboard.trends_overview_html(dashboard.load_trends(sample_processed, unit, start, end, lang))
    return seen


def test_sample_dashboards_draw_every_kind_of_chart(sample_specs: list[tuple[str, dict]]) -> None:
    kinds = {div_id.split("-", 1)[1].rsplit("-", 1)[0] for div_id, _ in sample_specs}
    assert kinds == {"campaign", "subunit", "unit-ratings", "member-ratings", "coverage-trend", "unit-ratings-trend",
                     "member-ratings-trend"}
    assert len(sample_specs) >= 50


def test_every_sample_spec_is_a_valid_plotly_figure(sample_specs: list[tuple[str, dict]]) -> None:
    for div_id, spec in sample_specs:
        fig = _figure(spec)  # plotly's validators raise on any wrong key or value
        assert fig.to_dict()["data"] == spec["data"], div_id
        layout = fig.to_dict()["layout"]
        assert layout.pop("template") == charts.plotly_template()
        assert layout == spec["layout"], div_id
        values = list(_walk(spec))
        assert all(v is None or isinstance(v, str | bool | int | float) for v in values), div_id
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in values), div_id
        assert not any(isinstance(v, str) and "<" in v and "<br>" not in v and "<extra>" not in v for v in values)


def test_fragments_are_what_plotly_writes(sample_specs: list[tuple[str, dict]]) -> None:
    for div_id, spec in sample_specs:
        ours = charts.figure_html(spec, div_id)
        shell, args = _parts(ours)
        assert (shell, args) == _parts(_plotly_fragment(spec, div_id)), div_id
        assert args[0] == spec["data"] and args[1] == {"template": charts.plotly_template(), **spec["layout"]}
        assert f'<div style="height:{spec["layout"]["height"]}px; width:100%;">' in ours
        assert ours == charts.figure_html(spec, div_id)  # deterministic


def test_template_is_plotlys_default() -> None:
    assert pio.templates.default == "plotly"
    assert charts.plotly_template() == pio.templates["plotly"].to_plotly_json()


def test_subunit_spec_marks_the_target_like_add_vline() -> None:
    df = pd.DataFrame({"unit_id": ["a", "b", "c"], "unit_name": ["A", "B", "C"], "members_pct": [99.04, 90.0, None]})
    spec = charts.coverage_by_subunit_spec(df, "vi", 95.0)
    bar = spec["data"][0]
    assert bar["y"] == ["C", "B", "A"] and bar["x"] == [None, 90.0, 99.0] and bar["text"][0] == "—"
    assert bar["marker"]["color"] == [charts.SERIES_COLOURS["members"], charts.BELOW_TARGET_COLOUR,
                                      charts.SERIES_COLOURS["members"]]
    plain = charts.coverage_by_subunit_spec(df, "vi", None)
    fig = go.Figure(plain).add_vline(x=95.0, line_dash="dash", line_color="#333", line_width=1.5,
                                     annotation_text="Chỉ tiêu 95%", annotation_position="top",
                                     annotation_font_size=11)
    assert _figure(spec).to_dict()["layout"] == fig.to_dict()["layout"]


@pytest.mark.parametrize("position", ["top left", "top right", "top", "bottom left", "bottom right", "bottom",
                                      "left", "right", "right top"])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_add_line_matches_plotly(axis: str, position: str) -> None:
    base = charts.coverage_trend_spec(pd.DataFrame({"indicator": ["coverage.members"] * 2, "year": [2014, 2015],
                                                    "pct": [90.0, 96.0]}))
    fig = go.Figure(base)
    kwargs = {"line_dash": "dot", "line_color": "#666", "line_width": 1.5, "opacity": 0.7, "annotation_text": "n",
              "annotation_position": position, "annotation_font_size": 10, "annotation_font_color": "#444"}
    if axis == "x":
        fig.add_vline(x=2014.5, **kwargs)
    else:
        fig.add_hline(y=95, **kwargs)
    ours = charts.add_line(json.loads(json.dumps(base)), **{axis: 2014.5 if axis == "x" else 95},
                           line={"color": "#666", "dash": "dot", "width": 1.5}, opacity=0.7, note="n",
                           note_position=position, note_font={"size": 10, "color": "#444"})
    assert go.Figure(ours).to_dict() == fig.to_dict()
    assert json.loads(charts.spec_json(ours["layout"]["annotations"])) == fig.to_dict()["layout"]["annotations"]


def test_add_line_rejects_a_bad_call() -> None:
    with pytest.raises(ValueError):
        charts.add_line({"data": [], "layout": {}}, line={})
    with pytest.raises(ValueError):
        charts.add_line({"data": [], "layout": {}}, x=1, note="n", note_position="middle", line={})


def test_scheme_breaks_on_a_spec_and_on_a_figure_agree() -> None:
    spec = charts.add_scheme_breaks({"data": [], "layout": {}}, [2023, 2018, 2018], "en")
    fig = charts.add_scheme_breaks(go.Figure(), [2018, 2023], "en")
    assert _figure(spec).to_dict() == fig.to_dict()
    assert [s["x0"] for s in spec["layout"]["shapes"]] == [2017.5, 2022.5]


def test_figures_are_the_specs() -> None:
    trend = pd.DataFrame({"year": [2017, 2018], "scheme_id": ["a", "b"], "rating_rank": [1, 1], "rating_code": "c",
                          "label": ["L1", "L1"], "short_label": ["S-a", "S-b"], "count": [1, 1], "pct": [60.0, 10.0],
                          "is_break": [False, True]})
    fig = charts.rating_trend_figure(trend, "x")
    assert isinstance(fig, go.Figure) and fig.to_dict() == go.Figure(charts.rating_trend_spec(trend, "x")).to_dict()
    assert fig.layout.title.text == "x" and fig.layout.xaxis.tickvals == (2017, 2018)
    assert [tr.x for tr in fig.data] == [(2017,), (2018,)]


def test_rating_trend_spec_of_an_empty_frame_has_no_trace() -> None:
    empty = pd.DataFrame(columns=["year", "scheme_id", "rating_rank", "label", "short_label", "pct", "is_break"])
    spec = charts.rating_trend_spec(empty, None, "vi")
    assert spec["data"] == [] and "shapes" not in spec["layout"]
    _figure(spec)


def test_spec_json_is_plain_strict_and_script_safe() -> None:
    value = {"a": [np.int64(3), np.float64(1.5), float("nan"), float("inf"), None, pd.NA], "b": np.array([1, 2]),
             "t": "</script><!-- & \u2028 Đ"}
    text = charts.spec_json(value)
    assert text == ('{"a":[3,1.5,null,null,null,null],"b":[1,2],'
                    '"t":"\\u003c\\u002fscript\\u003e\\u003c!-- & \\u2028 \\u0110"}')
    assert json.loads(text)["t"] == value["t"]
    assert charts.spec_json({"x": [1.0]}) == pio.to_json({"x": [1.0]}, validate=False, engine="json")


def test_figure_html_of_a_spec_does_not_need_an_id() -> None:
    spec = charts.coverage_trend_spec(pd.DataFrame({"indicator": ["coverage.members"], "year": [2014], "pct": [96.4]}))
    a, b = charts.figure_html(spec), charts.figure_html(json.loads(json.dumps(spec)))
    assert a == b and re.search(r'id="chart-[0-9a-f]{12}"', a)
    other = charts.coverage_trend_spec(pd.DataFrame({"indicator": ["coverage.members"], "year": [2014], "pct": [96.5]}))
    assert re.search(r'id="(chart-[0-9a-f]{12})"', charts.figure_html(other)).group(1) not in a


def test_figure_html_of_a_figure_is_plotlys() -> None:
    spec = charts.coverage_by_campaign_spec(pd.DataFrame({"title": ["T"], "document_code": ["03-CT/TW"],
                                                          "members_pct": [90.0], "public_pct": [None]}))
    fig = _figure(spec)
    assert charts.figure_html(fig, "chart-a") == _plotly_fragment(spec, "chart-a")
    assert _parts(charts.figure_html(spec, "chart-a")) == _parts(charts.figure_html(fig, "chart-a"))


# --- property: any frame of percentages ----------------------------------------------------------

NAMES = st.lists(st.sampled_from(list("aĐ ạ<>/&\"'!-\\\u2028") + ["</script>", "<!--", "]]>"]),
                 min_size=1, max_size=8).map("".join)
PCTS = st.one_of(st.none(), st.just(float("nan")), st.floats(-5, 250, allow_nan=False), st.integers(0, 100))


def _safe_fragment(spec: dict) -> None:
    fragment = charts.figure_html(spec, "chart-p")
    script = fragment[fragment.index("<script>") + len("<script>"):fragment.rindex("</script>")]
    assert "</" not in script and "<!--" not in script and "NaN" not in script and "Infinity" not in script
    assert _parts(fragment)[1][0] == spec["data"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(NAMES, PCTS), min_size=0, max_size=8),
       target=st.one_of(st.none(), st.floats(0, 100, allow_nan=False)), lang=st.sampled_from(["vi", "en"]))
def test_any_subunit_frame_gives_a_valid_rounded_spec(rows: list, target: float | None, lang: str) -> None:
    df = pd.DataFrame({"unit_id": [f"u{i}" for i in range(len(rows))], "unit_name": [r[0] for r in rows],
                       "members_pct": pd.array([r[1] for r in rows], dtype="Float64")})
    spec = charts.coverage_by_subunit_spec(df, lang, target)
    _figure(spec)
    xs = spec["data"][0]["x"]
    assert len(xs) == len(rows)
    assert all(v is None or (isinstance(v, float) and v == round(v, 1)) for v in xs)
    assert sum(v is None for v in xs) == sum(r[1] is None or r[1] != r[1] for r in rows)
    assert all("<" not in n and ">" not in n for n in spec["data"][0]["y"])
    _safe_fragment(spec)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.dictionaries(st.tuples(st.sampled_from(["units", "members", "public"]), st.integers(2012, 2026)),
                             PCTS, max_size=20),
       target=st.one_of(st.none(), st.floats(0, 100, allow_nan=False)), breaks=st.sets(st.integers(2013, 2026)))
def test_any_coverage_trend_gives_a_valid_rounded_spec(cells: dict, target: float | None, breaks: set) -> None:
    trend = pd.DataFrame([{"indicator": f"coverage.{k}", "year": y, "pct": v} for (k, y), v in cells.items()],
                         columns=["indicator", "year", "pct"])
    targets = None if target is None else {"coverage.members": target}
    spec = charts.coverage_trend_spec(trend, "vi", None, breaks, targets)
    _figure(spec)
    for trace in spec["data"]:
        assert trace["x"] == sorted(trace["x"]) and all(isinstance(x, int) for x in trace["x"])
        assert all(v is None or (isinstance(v, float) and v == round(v, 1)) for v in trace["y"])
    assert len(spec["layout"].get("shapes", [])) == len(breaks) + (target is not None and "members" in
                                                                  {k for k, _ in cells})
    _safe_fragment(spec)
