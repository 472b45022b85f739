"""Writers of a synthetic report form in each carrier format intake reads.

A form is a list of :class:`SheetSpec`; :func:`write_form` writes it as one of
:data:`CARRIERS` (xlsx, xls, ods, docx or a CSV variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SheetSpec:
    """One sheet (or, for docx, one table with its heading paragraphs) of a form.

    Attributes:
        name: Sheet name (xlsx/xls/ods); a table heading for docx.
        rows: Cell values: None, str, int, float.
        merges: Merged ranges, 0-based inclusive (r0, c0, r1, c1); the value is
            the one in the top-left cell.
        fonts: (row, col) -> font name of that text cell.
        title_rows: Rows above the table (docx: written as paragraphs, not table rows).
        percent_cells: Float cells stored as Excel/ODS percent (0.9363 shown 93,63%).
    """

    name: str
    rows: list[list[object]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    fonts: dict[tuple[int, int], str] = field(default_factory=dict)
    title_rows: int = 0
    percent_cells: set[tuple[int, int]] = field(default_factory=set)


CARRIERS = (
    "xlsx",
    "xls",
    "ods",
    "docx",
    "csv-utf8",
    "csv-utf8-bom",
    "csv-cp1258",
    "csv-utf16",
    "csv-semicolon",
)


def write_form(path: Path, sheets: list[SheetSpec], carrier: str) -> Path:
    """Write ``sheets`` to ``path`` in the ``carrier`` format.

    Args:
        path: Target file; its suffix is the caller's choice.
        sheets: The sheets; CSV carriers write only the first one.
        carrier: One of :data:`CARRIERS`.

    Returns:
        The path written.
    """
    raise NotImplementedError(carrier)
