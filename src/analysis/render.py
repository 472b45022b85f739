"""Presentation helpers shared by the command line and the dashboards: labels, number formats,
plain-text tables and escaped HTML fragments.

Every user-provided string that reaches HTML goes through :func:`esc`.
"""

from __future__ import annotations

import html
from functools import cache
from importlib import resources

import pandas as pd

from analysis.config import load_yaml
from analysis.text import format_number, format_pct


@cache
def _labels() -> dict[str, dict[str, str]]:
    text = resources.files("analysis.reference").joinpath("labels.yaml").read_text(encoding="utf-8")
    return load_yaml(text)


def label(key: str, lang: str = "vi") -> str:
    """The user-facing label ``key`` in ``lang`` (falls back to Vietnamese, then the key).

    Example:
        >>> label("coverage_members")
        'Đảng viên tham gia học tập'
    """
    labels = _labels()
    return labels.get(lang, {}).get(key) or labels["vi"].get(key) or key


def esc(value: object) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_pct(value: float | None, lang: str = "vi", decimals: int = 1) -> str:
    """A percentage for display ("96,4%"); a dash without data."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return format_pct(float(value), decimals, lang)


def fmt_num(value: float | None, lang: str = "vi", decimals: int = 0) -> str:
    """A number for display ("5.600.000"); a dash without data."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return format_number(value, decimals, lang)


def fmt_change(value: float | None, lang: str = "vi") -> str:
    """A change in percentage points with its sign ("+1,2 điểm %")."""
    if value is None or pd.isna(value):
        return label("no_prev", lang)
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    unit = "điểm %" if lang == "vi" else "pp"
    return f"{sign}{format_number(abs(value), 1, lang)} {unit}"


def metrics_rows(result: dict, lang: str = "vi") -> list[dict]:
    """The metrics contract flattened to rows (indicator, numerator, denominator, pct)."""
    rows = []
    for key in ("units", "members", "public"):
        c = result["coverage"][key]
        rows.append({"indicator": f"coverage.{key}", "label": label(f"coverage_{key}", lang),
                     "numerator": c["numerator"], "denominator": c["denominator"], "pct": c["pct"]})
    for subject in ("unit_ratings", "member_ratings"):
        block = result[subject]
        for lv in block["levels"]:
            rows.append({"indicator": f"{subject}.rank{lv['rating_rank']}", "label": lv["label"],
                         "numerator": lv["count"], "denominator": block["assessed"], "pct": lv["pct"]})
        if subject == "unit_ratings":
            ex = block["exemplary"]
            rows.append({"indicator": "unit_ratings.exemplary", "label": label("exemplary", lang),
                         "numerator": ex["count"], "denominator": block["assessed"],
                         "pct": ex["pct_of_assessed"]})
    return rows


def metrics_table_text(result: dict, lang: str = "vi") -> str:
    """A plain-text table of the headline figures of one unit-year."""
    lines = [f"{result['unit_name']} ({result['unit_id']}) — {label('year', lang).lower()} {result['year']}", ""]
    rows = metrics_rows(result, lang)
    width = max(len(r["label"]) for r in rows)
    for r in rows:
        frac = f"{fmt_num(r['numerator'], lang)}/{fmt_num(r['denominator'], lang)}"
        lines.append(f"  {r['label']:<{width}}  {frac:>15}  {fmt_pct(r['pct'], lang, 2):>9}")
    return "\n".join(lines)


def table_html(df: pd.DataFrame, columns: dict[str, str], lang: str = "vi",
               pct_cols: tuple[str, ...] = (), num_cols: tuple[str, ...] = (),
               highlight: pd.Series | None = None, caption: str | None = None,
               int_cols: tuple[str, ...] = (), right_cols: tuple[str, ...] = (),
               highlight_class: str = "below") -> str:
    """An escaped HTML table of ``df`` with display names and Vietnamese number formats.

    Args:
        df: The figures.
        columns: Column -> header label, in display order.
        pct_cols: Columns shown as percentages ("96,4%").
        num_cols: Columns shown as whole numbers with thousands separators ("5.600").
        highlight: Boolean per row; highlighted rows get ``highlight_class``.
        caption: Table caption.
        int_cols: Columns shown as plain integers without separators (years).
        right_cols: Text columns aligned right (preformatted figures).
        highlight_class: CSS class of highlighted rows (``below`` by default).

    Example:
        >>> table_html(pd.DataFrame({"year": [2014.0], "pct": [96.43]}), {"year": "Năm", "pct": "Tỷ lệ"},
        ...            pct_cols=("pct",), int_cols=("year",))  # doctest: +ELLIPSIS
        '<table class="figures">...<td class="num">2014</td><td class="num">96,4%</td>...'
    """
    numeric = set(pct_cols) | set(num_cols) | set(int_cols) | set(right_cols)
    head = "".join(f'<th class="{"num" if c in numeric else "txt"}" scope="col">{esc(v)}</th>'
                   for c, v in columns.items())
    body = []
    for i, (_, row) in enumerate(df.iterrows()):
        cells = []
        for col in columns:
            v = row.get(col)
            missing = v is None or (not isinstance(v, str) and pd.isna(v))
            if col in pct_cols:
                text, cls = fmt_pct(None if missing else float(v), lang), "num"
            elif col in num_cols:
                text, cls = fmt_num(None if missing else float(v), lang), "num"
            elif col in int_cols:
                text, cls = ("—" if missing else str(int(v))), "num"
            else:
                text = "" if missing else str(v)
                cls = "num" if col in right_cols else "txt"
            cells.append(f'<td class="{cls}">{esc(text)}</td>')
        row_cls = f' class="{esc(highlight_class)}"' if highlight is not None and bool(highlight.iloc[i]) else ""
        body.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="figures">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
