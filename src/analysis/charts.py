"""Plotly figure builders (frame in, Figure out) and offline embedding.

Offline rules (see tooling notes): plotly.js is emitted once as an inline ``<script>``
(:func:`plotlyjs_script`), each figure with ``include_plotlyjs=False, include_mathjax=False``
(:func:`figure_html`); year axes use integer ticks; a rating series never joins two schemes —
each scheme is its own trace segment and every break is a dotted vertical line with a note.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from analysis.render import esc, fmt_pct, label

#: Colours of the four harmonised ranks (best → worst) and of the three coverage series.
RANK_COLOURS = {1: "#1a7f37", 2: "#4fa3d9", 3: "#e0a526", 4: "#c0392b"}
SERIES_COLOURS = {"units": "#7b4fa3", "members": "#c62828", "public": "#1565c0"}
FONT = "Segoe UI, Roboto, Arial, sans-serif"


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": esc(title), "x": 0, "font": {"size": 15}},
        height=height, margin={"l": 50, "r": 20, "t": 50, "b": 60},
        font={"family": FONT, "size": 12}, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "y": -0.2}, separators=",.",
    )
    fig.update_yaxes(gridcolor="#e5e5e5", zeroline=False)
    return fig


def _vi_separators(lang: str) -> str:
    return ",." if lang == "vi" else ".,"


def coverage_by_campaign_figure(df: pd.DataFrame, lang: str = "vi") -> go.Figure:
    """Grouped bars: members and public coverage of each campaign."""
    names = [esc(t if isinstance(t, str) and len(t) < 40 else (str(c) or str(t)[:38] + "…"))
             for t, c in zip(df["title"], df["document_code"].fillna(""), strict=True)]
    fig = go.Figure()
    for key, col in (("members", "members_pct"), ("public", "public_pct")):
        values = [None if pd.isna(v) else round(float(v), 1) for v in df[col]]
        fig.add_bar(name=label(f"{key}_label", lang), x=names, y=values, marker_color=SERIES_COLOURS[key],
                    text=[fmt_pct(v, lang) for v in values], textposition="outside", cliponaxis=False)
    _layout(fig, label("by_campaign", lang))
    fig.update_layout(barmode="group", separators=_vi_separators(lang))
    fig.update_yaxes(range=[0, 110], title=label("members_axis", lang))
    return fig


def coverage_by_subunit_figure(df: pd.DataFrame, lang: str = "vi", target: float | None = None) -> go.Figure:
    """Horizontal bars: member coverage of each sub-unit, below-target bars highlighted."""
    d = df.sort_values("members_pct", na_position="first")
    colours = ["#c0392b" if target is not None and pd.notna(v) and v < target else SERIES_COLOURS["members"]
               for v in d["members_pct"]]
    values = [None if pd.isna(v) else round(float(v), 1) for v in d["members_pct"]]
    fig = go.Figure(go.Bar(x=values, y=[esc(n) for n in d["unit_name"]], orientation="h", marker_color=colours,
                           text=[fmt_pct(v, lang) for v in values], textposition="outside", cliponaxis=False,
                           name=label("members_label", lang)))
    if target is not None:
        fig.add_vline(x=target, line_dash="dash", line_color="#555",
                      annotation_text=esc(f"{label('target', lang)} {fmt_pct(target, lang, 0)}"),
                      annotation_position="top")
    _layout(fig, f"{label('by_subunit', lang)} — {label('coverage_members', lang)}",
            height=max(300, 22 * len(d) + 120))
    fig.update_layout(separators=_vi_separators(lang), showlegend=False)
    fig.update_xaxes(range=[0, 110], title=label("members_axis", lang))
    return fig


def rating_distribution_figure(levels: pd.DataFrame, title: str, lang: str = "vi") -> go.Figure:
    """Bars of each level's count, labelled with its share."""
    fig = go.Figure(go.Bar(
        x=[esc(s) for s in levels["short_label"]], y=list(levels["count"]),
        marker_color=[RANK_COLOURS.get(int(r), "#888") for r in levels["rating_rank"]],
        text=[f"{c} ({fmt_pct(p, lang)})" for c, p in zip(levels["count"], levels["pct"], strict=True)],
        textposition="outside", cliponaxis=False,
        hovertext=[esc(lb) for lb in levels["label"]]))
    _layout(fig, title, height=320)
    fig.update_layout(separators=_vi_separators(lang), showlegend=False)
    fig.update_yaxes(title=label("count", lang), rangemode="tozero")
    return fig


def add_scheme_breaks(fig: go.Figure, break_years: Iterable[int], lang: str = "vi") -> go.Figure:
    """Dotted vertical lines half a year before each scheme change, with a short note."""
    for year in break_years:
        fig.add_vline(x=year - 0.5, line_dash="dot", line_color="#888",
                      annotation_text=esc(f"{label('scheme_break', lang)} {year}"),
                      annotation_position="top left", annotation_font_size=10)
    return fig


def _year_axis(fig: go.Figure, years: list[int]) -> None:
    if years:
        fig.update_xaxes(tickmode="array", tickvals=years, ticktext=[str(y) for y in years],
                         range=[min(years) - 0.6, max(years) + 0.6])


def rating_trend_figure(trend: pd.DataFrame, title: str, lang: str = "vi", ranks: tuple[int, ...] = (1, 2, 3, 4)
                        ) -> go.Figure:
    """Share of each rank by year; one trace segment per scheme so no line crosses a break.

    Args:
        trend: Output of :func:`analysis.metrics.rating_trend`.
    """
    fig = go.Figure()
    years = sorted(int(y) for y in trend["year"].unique()) if len(trend) else []
    segment = (trend.sort_values("year")["scheme_id"] != trend.sort_values("year")["scheme_id"].shift()).cumsum() \
        if len(trend) else pd.Series(dtype=int)
    t = trend.sort_values("year").assign(segment=segment)
    for rank in ranks:
        first = True
        for _, part in t[t["rating_rank"] == rank].groupby("segment", sort=True):
            scheme_label = part["short_label"].iloc[0]
            fig.add_scatter(
                x=list(part["year"]), y=[None if pd.isna(v) else round(float(v), 1) for v in part["pct"]],
                mode="lines+markers", line={"color": RANK_COLOURS.get(rank, "#888")},
                name=esc(f"{label('level', lang)} {rank}"), legendgroup=f"rank{rank}", showlegend=first,
                hovertemplate=esc(scheme_label) + ": %{y:.1f}%<extra></extra>")
            first = False
    breaks = sorted(int(y) for y in t.loc[t["is_break"].astype(bool), "year"].unique()) if len(t) else []
    add_scheme_breaks(fig, breaks, lang)
    _layout(fig, title)
    fig.update_layout(separators=_vi_separators(lang))
    fig.update_yaxes(range=[0, 105], title=label("share", lang))
    _year_axis(fig, years)
    return fig


def coverage_trend_figure(trend: pd.DataFrame, lang: str = "vi") -> go.Figure:
    """The three coverage rates by year (coverage has no scheme, so no breaks)."""
    fig = go.Figure()
    years = sorted(int(y) for y in trend["year"].unique()) if len(trend) else []
    for key in ("units", "members", "public"):
        part = trend[trend["indicator"] == f"coverage.{key}"].sort_values("year")
        fig.add_scatter(x=list(part["year"]), y=[None if pd.isna(v) else round(float(v), 1) for v in part["pct"]],
                        mode="lines+markers", name=esc(label(f"{key}_label", lang)),
                        line={"color": SERIES_COLOURS[key]})
    _layout(fig, label("coverage_trend", lang))
    fig.update_layout(separators=_vi_separators(lang))
    fig.update_yaxes(range=[0, 105], title=label("share", lang))
    _year_axis(fig, years)
    return fig


def figure_html(fig: go.Figure, div_id: str | None = None) -> str:
    """One figure as an HTML fragment without plotly.js or MathJax (offline-safe)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True,
                               "modeBarButtonsToRemove": ["sendDataToCloud"]})


def plotlyjs_script() -> str:
    """plotly.js as one inline ``<script>`` (emit once per page)."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'
