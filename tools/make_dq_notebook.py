"""Write ``notebooks/data_quality.ipynb`` (committed with outputs stripped; cell ids fixed).

The notebook renders the gate's findings for one unit and year. It is executed by papermill
(``hoctap report --kind data_quality``), which writes ``validation.json`` first and passes its path;
opened by hand it runs the gate itself. Every code cell calls a library function and displays the
HTML it returns: the notebook defines no function and holds no logic.

Usage: ``python tools/make_dq_notebook.py [OUT]`` (default ``notebooks/data_quality.ipynb``).
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
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "notebooks" / "data_quality.ipynb"


def build() -> nbformat.NotebookNode:
    """The data-quality notebook."""
    params = new_code_cell(
        'unit_id = "tan-thanh"\n'
        "year = 2014\n"
        'data_dir = "data/processed"\n'
        'lang = "vi"\n'
        'validation_path = ""\n'
        'rendered_at = ""')
    params.metadata["tags"] = ["parameters"]
    cells = [
        new_markdown_cell("# Kiểm tra chất lượng số liệu (data quality)\n\n"
                          "Kết quả của `hoctap validate` cho một đơn vị và một năm: lỗi nghiêm trọng "
                          "(chặn việc gửi số liệu) và cảnh báo (cần xem lại)."),
        params,
        new_code_cell("from IPython.display import HTML, display\n\nfrom analysis.quality import gate"),
        new_code_cell("result = gate.load_result(validation_path, data_dir, unit_id, year, lang)"),
        new_code_cell("display(HTML(gate.summary_html(result, lang, rendered_at)))"),
        new_code_cell("display(HTML(gate.findings_html(result, lang)))"),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"data-quality-{i:02d}"
    return new_notebook(cells=cells, metadata=META)


def main(argv: list[str]) -> int:
    """Write the notebook to ``argv[0]`` (or the default path)."""
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build(), str(out))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
