"""Write the thin notebooks (run with ``make notebooks``; the .ipynb files are committed, outputs stripped).

Each code cell calls library functions and displays their result: the notebooks define no
function and hold no logic. Cell ids are fixed so regenerating gives the same files.

Notebooks written: ``annual_dashboard.ipynb`` and ``trends.ipynb`` (executed by ``hoctap report``
through papermill) and ``explore.ipynb`` (for analysts in JupyterLab). ``data_quality.ipynb``
belongs to the quality engineer and is not written here.
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


def notebook(name: str, cells: list) -> nbformat.NotebookNode:
    """A notebook with a kernelspec (papermill needs it) and deterministic cell ids."""
    for i, cell in enumerate(cells):
        cell["id"] = f"{name}-{i:02d}"
    return new_notebook(cells=cells, metadata=META)


def params_cell(src: str) -> nbformat.NotebookNode:
    """The cell papermill injects parameters after (tagged ``parameters``)."""
    cell = new_code_cell(src)
    cell.metadata["tags"] = ["parameters"]
    return cell


def annual() -> nbformat.NotebookNode:
    """The annual dashboard of one unit and year."""
    return notebook("annual", [
        new_markdown_cell("# Bảng điều khiển năm\n"
                          "Thực thi bằng `hoctap report --unit U --year Y` (papermill). Mỗi ô gọi một hàm của "
                          "`analysis.dashboard`; ô cuối ghi `metrics.json` và `metrics.xlsx` vào `out_dir` "
                          "(bỏ trống khi chạy thử trong JupyterLab)."),
        params_cell('unit_id = "tan-thanh"\nyear = 2014\ndata_dir = "../data/processed"\nlang = "vi"\n'
                    'validation_path = ""\nrendered_at = ""\nout_dir = ""'),
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
        new_code_cell("dashboard.write_exports(d, out_dir);"),
    ])


def trends() -> nbformat.NotebookNode:
    """Coverage and rating trends of one unit across years, scheme changes marked."""
    return notebook("trends", [
        new_markdown_cell("# Diễn biến qua các năm\n"
                          "Thực thi bằng `hoctap report --kind trends --unit U [--start-year A --end-year B]`. "
                          "Tỷ lệ xếp loại của hai thang khác nhau không bao giờ được nối thành một đường."),
        params_cell('unit_id = "tan-thanh"\nstart_year = 2012\nend_year = 2024\nlang = "vi"\n'
                    'data_dir = "../data/processed"\nrendered_at = ""'),
        new_code_cell("from IPython.display import HTML, display\n\nfrom analysis import dashboard\n\n"
                      "t = dashboard.load_trends(data_dir, unit_id, start_year, end_year, lang)"),
        new_code_cell("display(HTML(dashboard.trends_head_html(t)))"),
        new_code_cell("display(HTML(dashboard.trends_overview_html(t)))"),
        new_code_cell("display(HTML(dashboard.trends_quota_html(t)))"),
        new_code_cell("display(HTML(dashboard.provenance_html(t, rendered_at)))"),
    ])


def explore() -> nbformat.NotebookNode:
    """How to use the library from JupyterLab, in a few cells."""
    return notebook("explore", [
        new_markdown_cell(
            "# Khám phá số liệu\n"
            "Mở bằng `make lab`. Các bảng đã xử lý nằm trong `data/processed` (chạy `hoctap ingest` trước).\n\n"
            "1. Nạp bảng; 2. cắt một đơn vị và vài năm; 3. tính chỉ tiêu bất kỳ; 4. vẽ biểu đồ bất kỳ."),
        params_cell('data_dir = "../data/processed"\nunit_id = "tan-thanh"\nstart_year = 2016\nend_year = 2020\n'
                    'lang = "vi"'),
        new_markdown_cell("## 1. Nạp các bảng chuẩn\n`store.load_tables` trả về một `Tables` "
                          "(units, campaigns, membership, study_participation, unit_ratings, member_ratings …)."),
        new_code_cell("from analysis import charts, dashboard, hierarchy, metrics, store\n\n"
                      "tables = store.load_tables(data_dir)\n"
                      "tables.units.head(10)"),
        new_markdown_cell("## 2. Một đơn vị và vài năm\nChỉ đọc cây đơn vị × các năm cần (bộ lọc Parquet)."),
        new_code_cell("years = list(range(start_year, end_year + 1))\n"
                      "ids = dashboard.slice_units(tables.units, unit_id, years)\n"
                      "part = store.load_tables(data_dir, unit_ids=ids, years=years)\n"
                      "part.membership.head(10)"),
        new_markdown_cell("## 3. Chỉ tiêu bất kỳ\n"
                          "Các chỉ tiêu: `metrics.INDICATORS`. Số liệu một năm theo hợp đồng JSON: "
                          "`metrics.unit_year_metrics`; theo năm: `metrics.trend` (có đánh dấu đổi thang)."),
        new_code_cell("metrics.unit_year_metrics(part, unit_id, end_year, lang)[\"coverage\"]"),
        new_code_cell("metrics.trend(part, unit_id, [\"coverage.members\", \"member_ratings.rank1\"], years)"),
        new_code_cell("metrics.coverage_by_subunit(part, unit_id, end_year).head(10)"),
        new_markdown_cell("## 4. Biểu đồ bất kỳ\nMỗi hàm của `analysis.charts` nhận một bảng và trả về "
                          "một `plotly.graph_objects.Figure`."),
        new_code_cell("charts.rating_trend_figure(metrics.rating_trend(part, unit_id, \"member\", years, lang),\n"
                      "                           \"Xếp loại chất lượng đảng viên\", lang)"),
        new_code_cell("charts.coverage_by_subunit_figure(metrics.coverage_by_subunit(part, unit_id, end_year), lang,\n"
                      "                                  target=95)"),
    ])


def main(out: Path) -> None:
    """Write the notebooks into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, nb in (("annual_dashboard", annual()), ("trends", trends()), ("explore", explore())):
        nbformat.validate(nb)
        nbformat.write(nb, out / f"{name}.ipynb")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "notebooks"))
