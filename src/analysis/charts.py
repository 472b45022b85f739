"""Plotly figure builders (frame in, Figure out) and offline embedding.

Offline rules (see tooling notes): plotly.js is emitted once as an inline ``<script>``
(:func:`plotlyjs_script`), each figure with ``include_plotlyjs=False, include_mathjax=False``
(:func:`figure_html`) and a deterministic ``div`` id (so rendering twice gives the same HTML);
year axes use integer ticks; a rating series never joins two schemes — each scheme is its own
trace segment and every break is a dotted vertical line with a short note.

Every text that reaches a figure (unit names, campaign titles, labels) is HTML-escaped: plotly
renders a subset of HTML tags in SVG text, so an unescaped name could inject markup.

Example:
    >>> import pandas as pd
    >>> fig = coverage_trend_figure(pd.DataFrame({"indicator": ["coverage.members"], "year": [2014],
    ...                                           "pct": [96.4]}))
    >>> fig.layout.xaxis.tickvals
    (2014,)
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from analysis.render import esc, fmt_pct, label

#: Colours of the four harmonised ranks (best → worst) and of the three coverage series.
RANK_COLOURS = {1: "#1a7f37", 2: "#4fa3d9", 3: "#e0a526", 4: "#c0392b"}
SERIES_COLOURS = {"units": "#7b4fa3", "members": "#1565c0", "public": "#00897b"}
BELOW_TARGET_COLOUR = "#c0392b"
FONT = "Segoe UI, Roboto, Arial, sans-serif"
#: Width in CSS pixels the charts are redrawn at before printing on A4 (182 mm printable at 96 dpi).
PRINT_WIDTH_PX = 660


def _separators(lang: str) -> str:
    """Plotly's decimal and thousands separators for ``lang`` (Vietnamese: ``,`` and ``.``)."""
    return ",." if lang == "vi" else ".,"


def _layout(fig: go.Figure, title: str | None, lang: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": esc(title), "x": 0, "xanchor": "left", "font": {"size": 14}} if title else None,
        height=height, autosize=True,
        margin={"l": 60, "r": 24, "t": 56 if title else 30, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1d1d1d"}, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "y": -0.14, "x": 0, "yanchor": "top"}, separators=_separators(lang),
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_yaxes(gridcolor="#e5e5e5", zeroline=False, automargin=True)
    fig.update_xaxes(automargin=True)
    return fig


def _pct_values(values: Iterable) -> list[float | None]:
    return [None if v is None or pd.isna(v) else round(float(v), 1) for v in values]


def _campaign_name(title: object, code: object) -> str:
    code = "" if code is None or pd.isna(code) else str(code)
    if code:
        return code
    text = "" if title is None or pd.isna(title) else str(title)
    return text if len(text) <= 28 else text[:27] + "…"


def coverage_by_campaign_figure(df: pd.DataFrame, lang: str = "vi", title: str | None = None) -> go.Figure:
    """Grouped bars: members' and public coverage of each campaign, labelled by document code.

    Args:
        df: Output of :func:`analysis.metrics.coverage_by_campaign`.
        lang: ``vi`` or ``en``.
        title: Optional chart title (the dashboard puts it in the section heading instead).
    """
    names = [esc(_campaign_name(t, c)) for t, c in zip(df["title"], df["document_code"], strict=True)]
    hover = [esc(t) for t in df["title"].fillna("")]
    fig = go.Figure()
    for key, col in (("members", "members_pct"), ("public", "public_pct")):
        values = _pct_values(df[col])
        fig.add_bar(name=esc(label(f"{key}_label", lang)), x=names, y=values, marker_color=SERIES_COLOURS[key],
                    text=[fmt_pct(v, lang) for v in values], textposition="outside", cliponaxis=False,
                    hovertext=hover, hovertemplate="%{hovertext}<br>%{y:.1f}%<extra></extra>")
    _layout(fig, title, lang, height=320)
    fig.update_layout(barmode="group", bargap=0.35)
    fig.update_yaxes(range=[0, 112], title=esc(label("members_axis", lang)), ticksuffix="")
    return fig


def coverage_by_subunit_figure(df: pd.DataFrame, lang: str = "vi", target: float | None = None,
                               title: str | None = None) -> go.Figure:
    """Horizontal bars: member coverage of each sub-unit, lowest first, below-target bars in red.

    Args:
        df: Output of :func:`analysis.metrics.coverage_by_subunit`.
        target: The members' coverage target (percent) that applies, drawn as a dashed line.
    """
    d = df.sort_values(["members_pct", "unit_name"], na_position="first", kind="stable")
    below = [target is not None and pd.notna(v) and v < target for v in d["members_pct"]]
    colours = [BELOW_TARGET_COLOUR if b else SERIES_COLOURS["members"] for b in below]
    values = _pct_values(d["members_pct"])
    names = [esc(n) for n in d["unit_name"]]
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", marker_color=colours,
        text=[fmt_pct(v, lang) for v in values], textposition="inside", insidetextanchor="end",
        textfont={"color": "white", "size": 11}, cliponaxis=False, name=esc(label("members_label", lang)),
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color="#333", line_width=1.5,
                      annotation_text=esc(f"{label('target', lang)} {fmt_pct(target, lang, 0)}"),
                      annotation_position="top", annotation_font_size=11)
    _layout(fig, title, lang, height=max(260, 24 * len(d) + 90))
    fig.update_layout(showlegend=False, bargap=0.25, margin={"t": 36 if title is None else 60})
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=names, gridcolor="white")
    fig.update_xaxes(range=[0, 101], title=esc(label("members_axis", lang)), gridcolor="#e5e5e5")
    return fig


def rating_distribution_figure(levels: pd.DataFrame, title: str | None = None, lang: str = "vi") -> go.Figure:
    """Bars of each level's count, labelled with count and share; the full label on hover.

    Args:
        levels: The ``levels`` frame of :func:`analysis.metrics.unit_rating_distribution`.
    """
    fig = go.Figure(go.Bar(
        x=[esc(s) for s in levels["short_label"]], y=list(levels["count"]),
        marker_color=[RANK_COLOURS.get(int(r), "#888") for r in levels["rating_rank"]],
        text=[f"{c} ({fmt_pct(p, lang)})" for c, p in zip(levels["count"], levels["pct"], strict=True)],
        textposition="outside", cliponaxis=False,
        hovertext=[esc(lb) for lb in levels["label"]], hovertemplate="%{hovertext}: %{y}<extra></extra>"))
    _layout(fig, title, lang, height=300)
    top = max([int(c) for c in levels["count"]] + [1])
    fig.update_layout(showlegend=False, bargap=0.45)
    fig.update_yaxes(title=esc(label("count", lang)), range=[0, top * 1.18], rangemode="tozero")
    return fig


def scheme_note(year: int, lang: str = "vi") -> str:
    """The short note drawn at a scheme break, e.g. ``"Đổi thang xếp loại 2018"``."""
    return f"{label('scheme_break', lang)} {year}"


def add_scheme_breaks(fig: go.Figure, break_years: Iterable[int], lang: str = "vi") -> go.Figure:
    """Dotted vertical lines half a year before each scheme change, with a short note."""
    for year in sorted(set(int(y) for y in break_years)):
        fig.add_vline(x=year - 0.5, line_dash="dot", line_color="#666", line_width=1.5,
                      annotation_text=esc(scheme_note(year, lang)), annotation_position="top left",
                      annotation_font_size=10, annotation_font_color="#444")
    return fig


def _pct_axis(fig: go.Figure, lang: str) -> None:
    """0–100 % ticks with head room above 100 for the scheme-break notes."""
    fig.update_yaxes(range=[0, 114], tickmode="array", tickvals=[0, 20, 40, 60, 80, 100],
                     title=esc(label("share", lang)))


def _year_axis(fig: go.Figure, years: list[int]) -> None:
    if years:
        fig.update_xaxes(tickmode="array", tickvals=years, ticktext=[str(y) for y in years],
                         range=[min(years) - 0.6, max(years) + 0.6], showgrid=False)


def _rank_legend(t: pd.DataFrame, rank: int, lang: str) -> str:
    """``"Mức 1: TSVM → HT xuất sắc NV"`` — the rank's label in each scheme, in order."""
    names: list[str] = []
    for name in t.loc[t["rating_rank"] == rank].sort_values("year")["short_label"]:
        if not names or names[-1] != name:
            names.append(str(name))
    return f"{label('level_short', lang)} {rank}: " + " → ".join(names)


def rating_trend_figure(trend: pd.DataFrame, title: str | None = None, lang: str = "vi",
                        ranks: tuple[int, ...] = (1, 2, 3, 4), break_years: Iterable[int] | None = None
                        ) -> go.Figure:
    """Share of each rank by year; one trace segment per scheme so no line crosses a break.

    Args:
        trend: Output of :func:`analysis.metrics.rating_trend`.
        title: Chart title.
        ranks: Harmonised ranks to draw.
        break_years: Scheme-change years to mark (default: the years flagged ``is_break``).
    """
    fig = go.Figure()
    t = trend.sort_values(["year", "rating_rank"], kind="stable").reset_index(drop=True)
    years = sorted(int(y) for y in t["year"].unique()) if len(t) else []
    if len(t):
        scheme_of_year = t.drop_duplicates("year").set_index("year")["scheme_id"]
        segment_of_year = (scheme_of_year != scheme_of_year.shift()).cumsum()
        t = t.assign(segment=t["year"].map(segment_of_year))
    for rank in ranks:
        part_rank = t[t["rating_rank"] == rank] if len(t) else t
        first = True
        for _, part in part_rank.groupby("segment", sort=True):
            fig.add_scatter(
                x=[int(y) for y in part["year"]], y=_pct_values(part["pct"]),
                mode="lines+markers", line={"color": RANK_COLOURS.get(rank, "#888"), "width": 2.2},
                marker={"size": 6}, name=esc(_rank_legend(t, rank, lang)), legendgroup=f"rank{rank}",
                showlegend=first, hovertext=[esc(v) for v in part["label"]],
                hovertemplate="%{x}: %{hovertext} %{y:.1f}%<extra></extra>")
            first = False
    if break_years is None:
        break_years = sorted(int(y) for y in t.loc[t["is_break"].astype(bool), "year"].unique()) if len(t) else []
    add_scheme_breaks(fig, break_years, lang)
    _layout(fig, title, lang, height=360)
    fig.update_layout(legend={"y": -0.16})
    _pct_axis(fig, lang)
    _year_axis(fig, years)
    return fig


def coverage_trend_figure(trend: pd.DataFrame, lang: str = "vi", title: str | None = None,
                          break_years: Iterable[int] = (), targets: dict[str, float] | None = None
                          ) -> go.Figure:
    """The three coverage rates by year.

    Coverage does not depend on the rating scheme, so its lines run across scheme changes; the
    changes are still marked (``break_years``) so every trend chart reads the same way.

    Args:
        trend: Output of :func:`analysis.metrics.trend` for ``coverage.*`` indicators.
        targets: Optional indicator → threshold (percent), drawn as thin dashed lines.
    """
    fig = go.Figure()
    years = sorted(int(y) for y in trend["year"].unique()) if len(trend) else []
    for key in ("units", "members", "public"):
        part = trend[trend["indicator"] == f"coverage.{key}"].sort_values("year")
        if part.empty:
            continue
        fig.add_scatter(x=[int(y) for y in part["year"]], y=_pct_values(part["pct"]),
                        mode="lines+markers", name=esc(label(f"{key}_label", lang)),
                        line={"color": SERIES_COLOURS[key], "width": 2.2}, marker={"size": 6},
                        hovertemplate="%{x}: %{y:.1f}%<extra>" + esc(label(f"{key}_label", lang)) + "</extra>")
        threshold = (targets or {}).get(f"coverage.{key}")
        if threshold is not None:
            fig.add_hline(y=threshold, line_dash="dash", line_width=1, line_color=SERIES_COLOURS[key],
                          opacity=0.7, annotation_text=esc(f"{label('target', lang)} {fmt_pct(threshold, lang, 0)}"),
                          annotation_position="right", annotation_font_size=10,
                          annotation_font_color=SERIES_COLOURS[key])
    add_scheme_breaks(fig, break_years, lang)
    _layout(fig, title, lang, height=340)
    if targets:
        fig.update_layout(margin={"r": 96})
    _pct_axis(fig, lang)
    _year_axis(fig, years)
    return fig


def figure_id(name: str, *parts: object) -> str:
    """A deterministic, HTML-safe ``div`` id for a chart (plotly's default is a random UUID).

    Example:
        >>> figure_id("campaign", "tan-thanh", 2014)
        'chart-campaign-7f7a6c7b'
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:8]
    safe = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in name)
    return f"chart-{safe}-{digest}"


def figure_html(fig: go.Figure, div_id: str | None = None) -> str:
    """One figure as an HTML fragment without plotly.js or MathJax (offline-safe).

    Args:
        fig: The figure.
        div_id: The ``div`` id; by default derived from the figure's content, so the same figure
            always gets the same id (reproducible HTML).
    """
    if div_id is None:
        div_id = "chart-" + hashlib.sha256(fig.to_json().encode("utf-8")).hexdigest()[:12]
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True, "displayModeBar": "hover",
                               "modeBarButtons": [["toImage"]],
                               "toImageButtonOptions": {"format": "png", "scale": 2}})


#: Redraws every chart at the printable width before printing and restores it afterwards.
PRINT_SCRIPT = """<script type="text/javascript">
(function () {
  function plots() { return Array.prototype.slice.call(document.querySelectorAll('.js-plotly-plot')); }
  window.addEventListener('beforeprint', function () {
    if (!window.Plotly) { return; }
    plots().forEach(function (gd) { Plotly.relayout(gd, {width: __WIDTH__, autosize: false}); });
  });
  window.addEventListener('afterprint', function () {
    if (!window.Plotly) { return; }
    plots().forEach(function (gd) {
      Plotly.relayout(gd, {width: null, autosize: true}).then(function () { Plotly.Plots.resize(gd); });
    });
  });
})();
</script>""".replace("__WIDTH__", str(PRINT_WIDTH_PX))


#: Environment variable: ``defer`` makes :func:`plotlyjs_script` emit :data:`PLOTLYJS_PLACEHOLDER`
#: instead of plotly.js (set by ``hoctap report`` for its kernels, so the executed notebook stays
#: small; :func:`inline_plotlyjs` puts plotly.js back into the exported page).
PLOTLYJS_ENV = "HOCTAP_PLOTLYJS"
PLOTLYJS_PLACEHOLDER = '<script type="text/javascript" data-hoctap="plotly.js"></script>'


def plotlyjs_script() -> str:
    """plotly.js as one inline ``<script>`` (emit once per page), plus the print-fit handler.

    Under ``hoctap report`` (``HOCTAP_PLOTLYJS=defer``) a placeholder stands in for plotly.js.
    """
    if os.environ.get(PLOTLYJS_ENV) == "defer":
        return PLOTLYJS_PLACEHOLDER + PRINT_SCRIPT
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>' + PRINT_SCRIPT


_PLACEHOLDER_RE = re.compile(r'<script(?=[^>]*\bdata-hoctap="plotly\.js")[^>]*>\s*</script>')


def inline_plotlyjs(page: str) -> str:
    """Replace the first plotly.js placeholder of an exported page with plotly.js (inline, once);
    drop any other. (nbconvert may reorder the placeholder's attributes.)

    Example:
        >>> inline_plotlyjs("<p>no chart</p>")
        '<p>no chart</p>'
    """
    match = _PLACEHOLDER_RE.search(page)
    if match is None:
        return page
    from plotly.offline import get_plotlyjs

    tail = _PLACEHOLDER_RE.sub("", page[match.end():])
    return page[:match.start()] + f'<script type="text/javascript">{get_plotlyjs()}</script>' + tail
