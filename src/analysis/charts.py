"""Chart specs (frame in, plain JSON-able dict out), plotly figures on top of them, and offline
embedding.

Each chart has a pure spec builder (``*_spec``: a ``{"data": [...], "layout": {...}}`` dict of
Python lists, strings and numbers) and a ``*_figure`` twin that returns ``go.Figure(spec)`` for
analysts (notebooks, tests). The dashboards use the specs only: :func:`figure_html` writes a
spec's HTML fragment itself, so rendering a dashboard never imports plotly (its validators,
``add_vline`` logic and lazy imports cost more than all the dashboard's arithmetic). Importing
this module does not import plotly either.

Offline rules (see tooling notes): plotly.js is emitted once as an inline ``<script>``
(:func:`plotlyjs_script`), each figure without plotly.js or MathJax (:func:`figure_html`) and with
a deterministic ``div`` id (so rendering twice gives the same HTML); year axes use integer ticks;
a rating series never joins two schemes — each scheme is its own trace segment and every break is
a dotted vertical line with a short note.

Every text that reaches a chart (unit names, campaign titles, labels) is HTML-escaped: plotly
renders a subset of HTML tags in SVG text, so an unescaped name could inject markup.

Example:
    >>> import pandas as pd
    >>> spec = coverage_trend_spec(pd.DataFrame({"indicator": ["coverage.members"], "year": [2014],
    ...                                          "pct": [96.4]}))
    >>> spec["layout"]["xaxis"]["tickvals"]
    [2014]
    >>> coverage_trend_figure(pd.DataFrame({"indicator": ["coverage.members"], "year": [2014],
    ...                                     "pct": [96.4]})).layout.xaxis.tickvals
    (2014,)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.render import esc, fmt_pct, label

if TYPE_CHECKING:  # plotly is imported only where a Figure is built
    import plotly.graph_objects as go

#: Colours of the four harmonised ranks (best → worst) and of the three coverage series.
RANK_COLOURS = {1: "#1a7f37", 2: "#4fa3d9", 3: "#e0a526", 4: "#c0392b"}
SERIES_COLOURS = {"units": "#7b4fa3", "members": "#1565c0", "public": "#00897b"}
BELOW_TARGET_COLOUR = "#c0392b"
FONT = "Segoe UI, Roboto, Arial, sans-serif"
#: Width in CSS pixels the charts are redrawn at before printing on A4 (182 mm printable at 96 dpi).
PRINT_WIDTH_PX = 660
#: The plotly.js ``config`` of every chart (PNG download only, no plotly logo).
CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover", "modeBarButtons": [["toImage"]],
          "toImageButtonOptions": {"format": "png", "scale": 2}}


def _separators(lang: str) -> str:
    """Plotly's decimal and thousands separators for ``lang`` (Vietnamese: ``,`` and ``.``)."""
    return ",." if lang == "vi" else ".,"


def _spec(data: list[dict], layout: dict) -> dict:
    return {"data": data, "layout": layout}


def _layout(title: str | None, lang: str, height: int = 340) -> dict:
    """The layout every chart starts from (what ``update_layout`` set on the plotly figures)."""
    layout: dict[str, Any] = {}
    if title:
        layout["title"] = {"text": esc(title), "x": 0, "xanchor": "left", "font": {"size": 14}}
    layout.update(
        height=height, autosize=True, margin={"l": 60, "r": 24, "t": 56 if title else 30, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1d1d1d"}, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "y": -0.14, "x": 0, "yanchor": "top"}, separators=_separators(lang),
        hoverlabel={"font": {"family": FONT}},
        yaxis={"gridcolor": "#e5e5e5", "zeroline": False, "automargin": True},
        xaxis={"automargin": True},
    )
    return layout


#: Where plotly's ``add_vline``/``add_hline`` put the note of a line for each ``annotation_position``:
#: (xanchor, yanchor, position along the line: 0 start, 1 end, 0.5 middle). A vertical line runs
#: from the bottom (0) to the top (1) of the plot, a horizontal one from left (0) to right (1).
_VLINE_NOTE = {"top left": ("right", "top", 1), "top right": ("left", "top", 1), "top": ("center", "bottom", 1),
               "bottom left": ("right", "bottom", 0), "bottom right": ("left", "bottom", 0),
               "bottom": ("center", "top", 0), "left": ("right", "middle", 0.5),
               "right": ("left", "middle", 0.5)}
_HLINE_NOTE = {"top left": ("left", "bottom", 0), "top right": ("right", "bottom", 1), "top": ("center", "bottom", 0.5),
               "bottom left": ("left", "top", 0), "bottom right": ("right", "top", 1), "bottom": ("center", "top", 0.5),
               "left": ("right", "middle", 0), "right": ("left", "middle", 1)}


def _note_position(position: str) -> str:
    return " ".join(sorted(position.split(" "), key=lambda w: w not in ("top", "bottom")))


def add_line(spec: dict, *, x: float | None = None, y: float | None = None, line: dict,
             opacity: float | None = None, note: str | None = None, note_position: str = "top right",
             note_font: dict | None = None) -> dict:
    """Add a line across the whole plot to ``spec``, as plotly's ``add_vline``/``add_hline`` do.

    A vertical line (``x``) spans the plot's height (``yref="y domain"``), a horizontal one
    (``y``) its width (``xref="x domain"``); the optional note is an annotation anchored like
    ``annotation_position`` places it.

    Args:
        spec: The chart spec to change (in place).
        x: Data x of a vertical line.
        y: Data y of a horizontal line (give exactly one of ``x`` and ``y``).
        line: The shape's ``line`` (``color``, ``dash``, ``width``).
        opacity: The shape's opacity.
        note: The note's text (already HTML-escaped), or None for no note.
        note_position: ``top``, ``top left``, ``right``… as plotly's ``annotation_position``.
        note_font: The note's font.

    Returns:
        ``spec``.

    Raises:
        ValueError: Neither or both of ``x`` and ``y``, or an unknown ``note_position``.
    """
    if (x is None) == (y is None):
        raise ValueError("give exactly one of x and y")
    layout = spec["layout"]
    vertical = x is not None
    shape: dict[str, Any] = {"type": "line", "line": dict(line)}
    if opacity is not None:
        shape["opacity"] = opacity
    if vertical:
        shape.update(x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain")
    else:
        shape.update(x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y")
    layout.setdefault("shapes", []).append(shape)
    if note is not None:
        table = _VLINE_NOTE if vertical else _HLINE_NOTE
        try:
            xanchor, yanchor, along = table[_note_position(note_position)]
        except KeyError:
            raise ValueError(f"unknown note position {note_position!r}") from None
        if vertical:  # plotly takes the mean of the two ends for a middle note (a float)
            nx, ny = (float(x) if along == 0.5 else x), along
        else:
            nx, ny = along, (float(y) if along == 0.5 else y)
        annotation: dict[str, Any] = {"text": note, "showarrow": False, "x": nx, "xanchor": xanchor,
                                      "xref": shape["xref"], "y": ny, "yanchor": yanchor, "yref": shape["yref"]}
        if note_font:
            annotation["font"] = dict(note_font)
        layout.setdefault("annotations", []).append(annotation)
    return spec


def _plain(value: object) -> object:
    """A numpy/pandas scalar as the Python value it holds (JSON-able); NaN and NA as None."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if pd.isna(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _pct_values(values: Iterable) -> list[float | None]:
    return [None if v is None or pd.isna(v) else round(float(v), 1) for v in values]


def _campaign_name(title: object, code: object) -> str:
    code = "" if code is None or pd.isna(code) else str(code)
    if code:
        return code
    text = "" if title is None or pd.isna(title) else str(title)
    return text if len(text) <= 28 else text[:27] + "…"


def _figure(spec: dict) -> go.Figure:
    import plotly.graph_objects as go

    return go.Figure(spec)


def coverage_by_campaign_spec(df: pd.DataFrame, lang: str = "vi", title: str | None = None) -> dict:
    """Grouped bars: members' and public coverage of each campaign, labelled by document code.

    Args:
        df: Output of :func:`analysis.metrics.coverage_by_campaign`.
        lang: ``vi`` or ``en``.
        title: Optional chart title (the dashboard puts it in the section heading instead).

    Returns:
        The chart spec (``{"data": [...], "layout": {...}}``).
    """
    names = [esc(_campaign_name(t, c)) for t, c in zip(df["title"], df["document_code"], strict=True)]
    hover = [esc(t) for t in df["title"].fillna("")]
    data = []
    for key, col in (("members", "members_pct"), ("public", "public_pct")):
        values = _pct_values(df[col])
        data.append({"type": "bar", "name": esc(label(f"{key}_label", lang)), "x": names, "y": values,
                     "marker": {"color": SERIES_COLOURS[key]}, "text": [fmt_pct(v, lang) for v in values],
                     "textposition": "outside", "cliponaxis": False, "hovertext": hover,
                     "hovertemplate": "%{hovertext}<br>%{y:.1f}%<extra></extra>"})
    layout = _layout(title, lang, height=320)
    layout.update(barmode="group", bargap=0.35)
    layout["yaxis"].update(range=[0, 112], title={"text": esc(label("members_axis", lang))}, ticksuffix="")
    return _spec(data, layout)


def coverage_by_campaign_figure(df: pd.DataFrame, lang: str = "vi", title: str | None = None) -> go.Figure:
    """:func:`coverage_by_campaign_spec` as a plotly figure."""
    return _figure(coverage_by_campaign_spec(df, lang, title))


def coverage_by_subunit_spec(df: pd.DataFrame, lang: str = "vi", target: float | None = None,
                             title: str | None = None) -> dict:
    """Horizontal bars: member coverage of each sub-unit, lowest first, below-target bars in red.

    Args:
        df: Output of :func:`analysis.metrics.coverage_by_subunit`.
        lang: ``vi`` or ``en``.
        target: The members' coverage target (percent) that applies, drawn as a dashed line.
        title: Optional chart title.

    Returns:
        The chart spec.
    """
    d = df.sort_values(["members_pct", "unit_name"], na_position="first", kind="stable")
    below = [target is not None and pd.notna(v) and v < target for v in d["members_pct"]]
    colours = [BELOW_TARGET_COLOUR if b else SERIES_COLOURS["members"] for b in below]
    values = _pct_values(d["members_pct"])
    names = [esc(n) for n in d["unit_name"]]
    data = [{"type": "bar", "x": values, "y": names, "orientation": "h", "marker": {"color": colours},
             "text": [fmt_pct(v, lang) for v in values], "textposition": "inside", "insidetextanchor": "end",
             "textfont": {"color": "white", "size": 11}, "cliponaxis": False,
             "name": esc(label("members_label", lang)), "hovertemplate": "%{y}: %{x:.1f}%<extra></extra>"}]
    layout = _layout(title, lang, height=max(260, 24 * len(d) + 90))
    layout.update(showlegend=False, bargap=0.25)
    layout["margin"]["t"] = 36 if title is None else 60
    layout["yaxis"].update(autorange="reversed", categoryorder="array", categoryarray=names, gridcolor="white")
    layout["xaxis"].update(range=[0, 101], title={"text": esc(label("members_axis", lang))}, gridcolor="#e5e5e5")
    spec = _spec(data, layout)
    if target is not None:
        add_line(spec, x=_plain(target), line={"color": "#333", "dash": "dash", "width": 1.5},
                 note=esc(f"{label('target', lang)} {fmt_pct(target, lang, 0)}"), note_position="top",
                 note_font={"size": 11})
    return spec


def coverage_by_subunit_figure(df: pd.DataFrame, lang: str = "vi", target: float | None = None,
                               title: str | None = None) -> go.Figure:
    """:func:`coverage_by_subunit_spec` as a plotly figure."""
    return _figure(coverage_by_subunit_spec(df, lang, target, title))


def rating_distribution_spec(levels: pd.DataFrame, title: str | None = None, lang: str = "vi") -> dict:
    """Bars of each level's count, labelled with count and share; the full label on hover.

    Args:
        levels: The ``levels`` frame of :func:`analysis.metrics.unit_rating_distribution`.
        title: Optional chart title.
        lang: ``vi`` or ``en``.

    Returns:
        The chart spec.
    """
    counts = [int(c) for c in levels["count"]]
    data = [{"type": "bar", "x": [esc(s) for s in levels["short_label"]], "y": counts,
             "marker": {"color": [RANK_COLOURS.get(int(r), "#888") for r in levels["rating_rank"]]},
             "text": [f"{c} ({fmt_pct(p, lang)})" for c, p in zip(counts, levels["pct"], strict=True)],
             "textposition": "outside", "cliponaxis": False, "hovertext": [esc(lb) for lb in levels["label"]],
             "hovertemplate": "%{hovertext}: %{y}<extra></extra>"}]
    layout = _layout(title, lang, height=300)
    top = max(counts + [1])
    layout.update(showlegend=False, bargap=0.45)
    layout["yaxis"].update(title={"text": esc(label("count", lang))}, range=[0, top * 1.18], rangemode="tozero")
    return _spec(data, layout)


def rating_distribution_figure(levels: pd.DataFrame, title: str | None = None, lang: str = "vi") -> go.Figure:
    """:func:`rating_distribution_spec` as a plotly figure."""
    return _figure(rating_distribution_spec(levels, title, lang))


def scheme_note(year: int, lang: str = "vi") -> str:
    """The short note drawn at a scheme break, e.g. ``"Đổi thang xếp loại 2018"``."""
    return f"{label('scheme_break', lang)} {year}"


def add_scheme_breaks(fig: go.Figure | dict, break_years: Iterable[int], lang: str = "vi") -> go.Figure | dict:
    """Dotted vertical lines half a year before each scheme change, with a short note.

    Args:
        fig: A chart spec or a plotly figure (changed in place).
        break_years: The years a new rating scheme starts.
        lang: ``vi`` or ``en``.

    Returns:
        ``fig``.
    """
    for year in sorted(set(int(y) for y in break_years)):
        line = {"color": "#666", "dash": "dot", "width": 1.5}
        note, font = esc(scheme_note(year, lang)), {"size": 10, "color": "#444"}
        if isinstance(fig, dict):
            add_line(fig, x=year - 0.5, line=line, note=note, note_position="top left", note_font=font)
        else:
            fig.add_vline(x=year - 0.5, line_dash=line["dash"], line_color=line["color"], line_width=line["width"],
                          annotation_text=note, annotation_position="top left",
                          annotation_font_size=font["size"], annotation_font_color=font["color"])
    return fig


def _pct_axis(layout: dict, lang: str) -> None:
    """0–100 % ticks with head room above 100 for the scheme-break notes."""
    layout["yaxis"].update(range=[0, 114], tickmode="array", tickvals=[0, 20, 40, 60, 80, 100],
                           title={"text": esc(label("share", lang))})


def _year_axis(layout: dict, years: list[int]) -> None:
    if years:
        layout["xaxis"].update(tickmode="array", tickvals=years, ticktext=[str(y) for y in years],
                               range=[min(years) - 0.6, max(years) + 0.6], showgrid=False)


def _rank_legend(t: pd.DataFrame, rank: int, lang: str) -> str:
    """``"Mức 1: TSVM → HT xuất sắc NV"`` — the rank's label in each scheme, in order."""
    names: list[str] = []
    for name in t.loc[t["rating_rank"] == rank].sort_values("year")["short_label"]:
        if not names or names[-1] != name:
            names.append(str(name))
    return f"{label('level_short', lang)} {rank}: " + " → ".join(names)


def rating_trend_spec(trend: pd.DataFrame, title: str | None = None, lang: str = "vi",
                      ranks: tuple[int, ...] = (1, 2, 3, 4), break_years: Iterable[int] | None = None) -> dict:
    """Share of each rank by year; one trace segment per scheme so no line crosses a break.

    Args:
        trend: Output of :func:`analysis.metrics.rating_trend`.
        title: Chart title.
        lang: ``vi`` or ``en``.
        ranks: Harmonised ranks to draw.
        break_years: Scheme-change years to mark (default: the years flagged ``is_break``).

    Returns:
        The chart spec.
    """
    data: list[dict] = []
    t = trend.sort_values(["year", "rating_rank"], kind="stable").reset_index(drop=True)
    years = sorted(int(y) for y in t["year"].unique()) if len(t) else []
    if len(t):
        scheme_of_year = t.drop_duplicates("year").set_index("year")["scheme_id"]
        segment_of_year = (scheme_of_year != scheme_of_year.shift()).cumsum()
        t = t.assign(segment=t["year"].map(segment_of_year))
        for rank in ranks:
            first = True
            for _, part in t[t["rating_rank"] == rank].groupby("segment", sort=True):
                data.append({
                    "type": "scatter", "x": [int(y) for y in part["year"]], "y": _pct_values(part["pct"]),
                    "mode": "lines+markers", "line": {"color": RANK_COLOURS.get(rank, "#888"), "width": 2.2},
                    "marker": {"size": 6}, "name": esc(_rank_legend(t, rank, lang)), "legendgroup": f"rank{rank}",
                    "showlegend": first, "hovertext": [esc(v) for v in part["label"]],
                    "hovertemplate": "%{x}: %{hovertext} %{y:.1f}%<extra></extra>"})
                first = False
    if break_years is None:
        break_years = sorted(int(y) for y in t.loc[t["is_break"].astype(bool), "year"].unique()) if len(t) else []
    layout = _layout(title, lang, height=360)
    layout["legend"]["y"] = -0.16
    _pct_axis(layout, lang)
    _year_axis(layout, years)
    return add_scheme_breaks(_spec(data, layout), break_years, lang)


def rating_trend_figure(trend: pd.DataFrame, title: str | None = None, lang: str = "vi",
                        ranks: tuple[int, ...] = (1, 2, 3, 4), break_years: Iterable[int] | None = None
                        ) -> go.Figure:
    """:func:`rating_trend_spec` as a plotly figure."""
    return _figure(rating_trend_spec(trend, title, lang, ranks, break_years))


def coverage_trend_spec(trend: pd.DataFrame, lang: str = "vi", title: str | None = None,
                        break_years: Iterable[int] = (), targets: dict[str, float] | None = None) -> dict:
    """The three coverage rates by year.

    Coverage does not depend on the rating scheme, so its lines run across scheme changes; the
    changes are still marked (``break_years``) so every trend chart reads the same way.

    Args:
        trend: Output of :func:`analysis.metrics.trend` for ``coverage.*`` indicators.
        lang: ``vi`` or ``en``.
        title: Optional chart title.
        break_years: Scheme-change years to mark.
        targets: Optional indicator → threshold (percent), drawn as thin dashed lines.

    Returns:
        The chart spec.
    """
    years = sorted(int(y) for y in trend["year"].unique()) if len(trend) else []
    layout = _layout(title, lang, height=340)
    if targets:
        layout["margin"]["r"] = 96
    _pct_axis(layout, lang)
    _year_axis(layout, years)
    spec = _spec([], layout)
    for key in ("units", "members", "public"):
        part = trend[trend["indicator"] == f"coverage.{key}"].sort_values("year")
        if part.empty:
            continue
        name = esc(label(f"{key}_label", lang))
        spec["data"].append({"type": "scatter", "x": [int(y) for y in part["year"]], "y": _pct_values(part["pct"]),
                             "mode": "lines+markers", "name": name,
                             "line": {"color": SERIES_COLOURS[key], "width": 2.2}, "marker": {"size": 6},
                             "hovertemplate": "%{x}: %{y:.1f}%<extra>" + name + "</extra>"})
        threshold = (targets or {}).get(f"coverage.{key}")
        if threshold is not None:
            add_line(spec, y=_plain(threshold), line={"color": SERIES_COLOURS[key], "dash": "dash", "width": 1},
                     opacity=0.7, note=esc(f"{label('target', lang)} {fmt_pct(threshold, lang, 0)}"),
                     note_position="right", note_font={"size": 10, "color": SERIES_COLOURS[key]})
    return add_scheme_breaks(spec, break_years, lang)


def coverage_trend_figure(trend: pd.DataFrame, lang: str = "vi", title: str | None = None,
                          break_years: Iterable[int] = (), targets: dict[str, float] | None = None
                          ) -> go.Figure:
    """:func:`coverage_trend_spec` as a plotly figure."""
    return _figure(coverage_trend_spec(trend, lang, title, break_years, targets))


def figure_id(name: str, *parts: object) -> str:
    """A deterministic, HTML-safe ``div`` id for a chart (plotly's default is a random UUID).

    Example:
        >>> figure_id("campaign", "tan-thanh", 2014)
        'chart-campaign-7f7a6c7b'
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:8]
    safe = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in name)
    return f"chart-{safe}-{digest}"


@cache
def plotly_template() -> dict:
    """plotly.py's default ``plotly`` template (what ``to_html`` puts into ``layout.template``),
    read from the JSON file shipped in the plotly package without importing plotly.

    Returns:
        The template (``data`` and ``layout``); an empty dict when plotly is not installed. Cached:
        do not modify it.
    """
    found = importlib.util.find_spec("plotly")
    if found is None or not found.submodule_search_locations:
        return {}
    path = Path(next(iter(found.submodule_search_locations))) / "package_data" / "templates" / "plotly.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {"data": raw.get("data", {}), "layout": raw.get("layout", {})}


def _finite(value: object) -> object:
    """``value`` with every NaN/±inf as None and numpy/pandas scalars and arrays as Python values."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, str):
        return _finite(tolist())
    return _plain(value)


def _json_default(value: object) -> object:
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


#: plotly.py's escapes of a JSON text written inside ``<script>`` (so ``</script>`` or ``<!--`` in
#: a unit name cannot end the script); non-ASCII characters (U+2028/U+2029 too) are ``\u`` escapes.
_SCRIPT_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"))


def spec_json(value: object) -> str:
    """Compact, deterministic JSON of a spec (or part of one) that is safe inside ``<script>``.

    NaN and ±inf become ``null`` and numpy scalars plain numbers, as in plotly.py's JSON.

    Example:
        >>> print(spec_json({"text": ["</script>", float("nan")]}))
        {"text":["\\u003c\\u002fscript\\u003e",null]}
    """
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False, default=_json_default)
    except ValueError:  # a NaN or an infinity somewhere
        text = json.dumps(_finite(value), separators=(",", ":"), allow_nan=False, default=_json_default)
    for char, escaped in _SCRIPT_SAFE:
        text = text.replace(char, escaped)
    return text


def _css_size(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value}px"
    return str(value)


def spec_html(spec: dict, div_id: str | None = None, config: dict | None = None) -> str:
    """A chart spec as an HTML fragment, as plotly's ``to_html(full_html=False,
    include_plotlyjs=False, include_mathjax=False)`` writes it, without importing plotly.

    The layout gets plotly's default template (:func:`plotly_template`) unless it has one, so the
    chart looks as a plotly figure's would.

    Args:
        spec: ``{"data": [...], "layout": {...}}`` of JSON-able values.
        div_id: The ``div`` id (an HTML- and JS-safe name, e.g. from :func:`figure_id`); by default
            derived from the spec's content.
        config: plotly.js config (default :data:`CONFIG`).

    Returns:
        The ``<div>`` with the chart's ``Plotly.newPlot`` script.
    """
    data = spec_json(spec.get("data", []))
    layout = dict(spec.get("layout", {}))
    if div_id is None:
        div_id = "chart-" + hashlib.sha256(f"{data}\x1f{spec_json(layout)}".encode()).hexdigest()[:12]
    if "template" not in layout:
        template = plotly_template()
        if template:
            layout = {"template": template, **layout}
    template_layout = (layout.get("template") or {}).get("layout") or {}
    width = _css_size(layout.get("width", template_layout.get("width", "100%")))
    height = _css_size(layout.get("height", template_layout.get("height", "100%")))
    conf = dict(CONFIG if config is None else config)
    conf.setdefault("responsive", True)
    if not conf.get("showSendToCloud", False):
        conf.pop("plotlyServerURL", None)
    # The same text as plotly.io.to_html (7.x), whitespace included.
    script = (f'                if (document.getElementById("{div_id}")) {{'
              f'                    Plotly.newPlot('
              f'                        "{div_id}",'
              f'                        {data},'
              f'                        {spec_json(layout)},'
              f'                        {json.dumps(conf)}'
              f'                    )'
              f'                }}')
    return (f'<div style="height:{height}; width:{width};">'
            f'                            '
            f'<div id="{div_id}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
            f'            <script>'
            f'                window.PLOTLYENV=window.PLOTLYENV || {{}};'
            f'                {script};'
            f'            </script>'
            f'        </div>')


def figure_html(fig: go.Figure | dict, div_id: str | None = None) -> str:
    """One chart as an HTML fragment without plotly.js or MathJax (offline-safe).

    Args:
        fig: A chart spec (written by :func:`spec_html`, no plotly import) or a plotly figure.
        div_id: The ``div`` id; by default derived from the chart's content, so the same chart
            always gets the same id (reproducible HTML).
    """
    if isinstance(fig, dict):
        return spec_html(fig, div_id)
    if div_id is None:
        div_id = "chart-" + hashlib.sha256(fig.to_json().encode("utf-8")).hexdigest()[:12]
    return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False, div_id=div_id,
                       config=dict(CONFIG))


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
