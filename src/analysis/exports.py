"""``metrics.xlsx`` beside each dashboard, for analysts who continue in Excel.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) is neutralised with a leading apostrophe-free quote character, so a unit named
``=HYPERLINK(...)`` shows as text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import metrics
from analysis.render import label
from analysis.store import Tables

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix text that a spreadsheet would evaluate with a single quote.

    Example:
        >>> neutralise('=HYPERLINK("http://x")')
        '\\'=HYPERLINK("http://x")'
        >>> neutralise(12)
        12
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell (and column name) neutralised."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(neutralise).astype(object)
    out.columns = [neutralise(c) for c in out.columns]
    return out


def metric_frames(tables: Tables, unit_id: str, year: int, lang: str = "vi") -> dict[str, pd.DataFrame]:
    """The figures behind every chart of the annual dashboard, one frame per sheet."""
    from analysis.render import metrics_rows

    result = metrics.unit_year_metrics(tables, unit_id, year, lang)
    years = [y for y in tables.years if y <= year]
    return {
        "tong_hop": pd.DataFrame(metrics_rows(result, lang)),
        "theo_dot_hoc": metrics.coverage_by_campaign(tables, unit_id, year),
        "theo_don_vi": metrics.coverage_by_subunit(tables, unit_id, year),
        "xep_loai_to_chuc": metrics.unit_rating_distribution(tables, unit_id, year, lang)["levels"],
        "xep_loai_dang_vien": metrics.member_rating_distribution(tables, unit_id, year, lang)["levels"],
        "xu_huong": metrics.trend(tables, unit_id, metrics.INDICATORS, years),
    }


def write_frames_xlsx(frames: dict[str, pd.DataFrame], path: Path, note: str = "") -> None:
    """Write one sheet per frame (text neutralised, floats rounded half-up to 2 decimals) and a
    ``ghi_chu`` sheet holding ``note``; columns are sized to their content and the header row is
    frozen.
    """
    sheets = {sheet[:31]: neutralise_frame(metrics.round_frame(df)) for sheet, df in frames.items()}
    sheets["ghi_chu"] = pd.DataFrame({"note": [neutralise(note)]})
    # xlsxwriter: fast to import and write; text is never turned into formulas or links
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as xw:
        for sheet, df in sheets.items():
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            for i, col in enumerate(df.columns):
                values = [str(v) for v in df[col].iloc[:200] if v is not None and not pd.isna(v)]
                width = max([len(str(col)), *(len(v) for v in values)], default=8)
                ws.set_column(i, i, min(60, max(8, width + 2)))
            ws.freeze_panes(1, 0)


def write_metrics_xlsx(tables: Tables, unit_id: str, year: int, lang: str, path: Path) -> None:
    """Write the figures of a unit-year to an Excel workbook (text neutralised)."""
    write_frames_xlsx(metric_frames(tables, unit_id, year, lang), path,
                      f"{label('dashboard_title', lang)} — {unit_id} {year}")
