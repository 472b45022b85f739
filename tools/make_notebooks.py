"""Write the thin dashboard notebooks (run once; the .ipynb files are committed, outputs stripped).

Each code cell calls one library function and displays its result: the notebooks hold no logic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

META = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11"},
}


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells, metadata=META)
    return nb


def params_cell(src: str) -> nbformat.NotebookNode:
    cell = new_code_cell(src)
    cell.metadata["tags"] = ["parameters"]
    return cell


def annual() -> nbformat.NotebookNode:
    return notebook([
        new_markdown_cell("# Bảng điều khiển năm\nThực thi bằng `hoctap report --unit U --year Y` (papermill)."),
        params_cell('unit_id = "tan-thanh"\nyear = 2014\ndata_dir = "../data/processed"\nlang = "vi"\n'
                    'validation_path = ""\nrendered_at = ""'),
        new_code_cell("from IPython.display import HTML, display\n\nfrom analysis import dashboard\n\n"
                      "d = dashboard.load_annual(data_dir, unit_id, year, lang, validation_path)"),
        new_code_cell("display(HTML(dashboard.head_html(d)))"),
        new_code_cell("display(HTML(dashboard.kpi_html(d)))"),
        new_code_cell("display(HTML(dashboard.summary_html(d)))"),
        new_code_cell("display(HTML(dashboard.campaign_html(d)))"),
        new_code_cell("display(HTML(dashboard.subunit_html(d)))"),
        new_code_cell("display(HTML(dashboard.unit_ratings_html(d)))"),
        new_code_cell("display(HTML(dashboard.member_ratings_html(d)))"),
        new_code_cell("display(HTML(dashboard.trends_html(d)))"),
        new_code_cell("display(HTML(dashboard.quality_html(d)))"),
        new_code_cell("display(HTML(dashboard.provenance_html(d, rendered_at)))"),
    ])


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(annual(), out / "annual_dashboard.ipynb")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks"))
