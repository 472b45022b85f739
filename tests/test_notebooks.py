"""Every notebook executed through papermill on the sample; offline HTML; reproducible and
incremental batches; failures, dead kernels and timeouts; parameters that try to inject code.

These tests start Jupyter kernels (about 5 s per report); they are grouped on one xdist worker so
the module's rendered reports are shared.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import openpyxl
import pytest
from helpers import rename_unit
from nbformat.v4 import new_code_cell, new_notebook

from analysis import reports
from analysis.config import default_paths
from analysis.intake.pipeline import ingest

pytestmark = pytest.mark.xdist_group("notebooks")

NOTEBOOKS = default_paths().notebooks
WEIRD_ID = 'thpt"pdg\'\n); open("PWNED", "w") #\\'
XSS = "<img src=x onerror=alert(1)>"
EXTERNAL = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', re.I)


@pytest.fixture(scope="module")
def annual_html(sample_processed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ward with sub-units, rendered once for this module."""
    out = tmp_path_factory.mktemp("reports")
    params = reports.build_params("annual", unit_id="thanh-minh", year=2020, data_dir=sample_processed)
    return reports.render_one("annual", params, out, rendered_at="first")


# --- every notebook ---------------------------------------------------------------------------

def _notebook_names() -> list[str]:
    return sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("name", _notebook_names())
def test_every_notebook_executes_on_the_sample(name: str, sample_processed: Path, tmp_path: Path,
                                                annual_html: Path) -> None:
    kinds = {v: k for k, v in reports.NOTEBOOKS.items()}
    if name == reports.NOTEBOOKS["annual"]:
        assert annual_html.is_file()  # rendered by the fixture, through papermill
        return
    if name in kinds:
        kind = kinds[name]
        params = reports.build_params(kind, unit_id="thpt-pdg", year=2020, start_year=2016, end_year=2019,
                                      data_dir=sample_processed)
        path = reports.render_one(kind, params, tmp_path)
        assert path.is_file() and path.stat().st_size > 1000
        return
    import papermill as pm

    assert name == "explore.ipynb", f"no parameters known for {name}"
    nb = pm.execute_notebook(str(NOTEBOOKS / name), str(tmp_path / name), kernel_name="python3",
                             parameters={"data_dir": str(sample_processed), "unit_id": "tan-thanh",
                                         "start_year": 2016, "end_year": 2020},
                             progress_bar=False, cwd=str(tmp_path))
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def test_notebooks_are_committed_without_outputs_or_functions() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert not any(re.search(r"^\s*(def|class|lambda)\b", c.source, re.M) for c in code), path.name
        assert nb.metadata.kernelspec.name == "python3"


# --- the exported page --------------------------------------------------------------------------

def without_plotlyjs(page: str) -> str:
    """The page without the inline plotly.js library (whose code mentions MathJax and URLs)."""
    return re.sub(r'<script type="text/javascript">/\*\*\s*\* plotly\.js v.*?</script>', "", page, flags=re.S)


def test_html_loads_nothing_from_the_network(annual_html: Path) -> None:
    page = without_plotlyjs(annual_html.read_text(encoding="utf-8"))
    assert not EXTERNAL.search(page)
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*\bhref=", page)
    assert "MathJax.Hub" not in page and "require.js" not in page


def test_html_has_plotlyjs_once_and_one_plot_per_chart(annual_html: Path) -> None:
    page = annual_html.read_text(encoding="utf-8")
    assert page.count("plotly.js v") == 1
    divs = re.findall(r'<div class="plotly-graph-div" id="(chart-[^"]+)"', page)
    assert len(divs) == page.count("Plotly.newPlot(") == 7 and len(set(divs)) == 7


def test_html_hides_code_and_is_vietnamese(annual_html: Path) -> None:
    page = annual_html.read_text(encoding="utf-8")
    assert "load_annual" not in page and '<html lang="vi">' in page
    assert "Đảng bộ xã Thanh Minh — 2020" in page


def test_report_folder_holds_every_artifact(annual_html: Path) -> None:
    folder = annual_html.parent
    names = {p.name for p in folder.iterdir()}
    assert {"dashboard.html", "dashboard.ipynb", "metrics.json", "metrics.xlsx", "validation.json",
            "validation.html", "provenance.json", "input-hash.json"} <= names
    assert json.loads((folder / "metrics.json").read_text(encoding="utf-8"))["unit_id"] == "thanh-minh"


def test_rendering_twice_gives_the_same_html_apart_from_the_render_time(annual_html: Path, sample_processed: Path,
                                                                        tmp_path: Path) -> None:
    params = reports.build_params("annual", unit_id="thanh-minh", year=2020, data_dir=sample_processed)
    again = reports.render_one("annual", params, tmp_path, rendered_at="second").read_text(encoding="utf-8")
    first = annual_html.read_text(encoding="utf-8")
    assert first != again
    assert reports.strip_volatile(first) == reports.strip_volatile(again)


def test_single_report_is_skipped_when_unchanged(annual_html: Path, sample_processed: Path) -> None:
    params = reports.build_params("annual", unit_id="thanh-minh", year=2020, data_dir=sample_processed)
    result = reports.render_job("annual", params, annual_html.parent.parent.parent)
    assert result.status == "skipped"


# --- batches ----------------------------------------------------------------------------------

def _statuses(summary: dict) -> dict[tuple, str]:
    return {(r["unit_id"], r["year"]): r["status"] for r in summary["reports"]}


def _touch_workbook(raw: Path) -> None:
    """Change one public-attendance figure of Thanh Minh's 2024 workbook (and its totals row)."""
    path = raw / "2024" / "thanh-minh-2024.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Học tập 2"]
    assert ws["B9"].value == "Chi bộ bản Hua Pe" and ws["I9"].value == 97 and ws["I16"].value == 753
    ws["I9"], ws["J9"] = 96, "81,4"
    ws["I16"], ws["J16"] = 752, "85,1"
    wb.save(path)


def test_batch_twice_skips_everything_then_only_the_changed_unit(sample_raw: Path, tmp_path: Path) -> None:
    raw, data, out = tmp_path / "raw", tmp_path / "processed", tmp_path / "reports"
    shutil.copytree(sample_raw, raw)
    ingest(raw, data)
    batch = {"data_dir": data, "out_dir": out, "level": "co_so", "years": (2024, 2024), "jobs": 2,
             "unit_ids": ["thanh-minh", "thpt-pdg"]}
    first = reports.render_batch(**batch)
    assert set(_statuses(first).values()) == {"rendered"} and first["ok"] and len(first["reports"]) == 2
    second = reports.render_batch(**batch)
    assert set(_statuses(second).values()) == {"skipped"}
    _touch_workbook(raw)
    ingest(raw, data)
    third = reports.render_batch(**batch)
    assert _statuses(third) == {("thanh-minh", 2024): "rendered", ("thpt-pdg", 2024): "skipped"}
    saved = json.loads((out / reports.SUMMARY_FILE).read_text(encoding="utf-8"))
    assert saved["rendered"] == 1 and saved["skipped"] == 1 and saved["failed"] == 0
    index = (out / reports.INDEX_FILE).read_text(encoding="utf-8")
    assert index.count("dashboard.html") == 2 and "Đảng bộ xã Thanh Minh" in index


def _trap_notebook(folder: Path) -> Path:
    """An ``annual_dashboard.ipynb`` that fails differently per unit (and passes for tan-thanh)."""
    folder.mkdir()
    params = new_code_cell('unit_id = ""\nyear = 0\ndata_dir = ""\nlang = "vi"\nvalidation_path = ""\n'
                           'rendered_at = ""\nout_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell("print('started', unit_id)"), new_code_cell(
        "import os, time\n"
        "if unit_id == 'thpt-pdg':\n    raise ValueError('ô này hỏng')\n"
        "if unit_id == 'him-lam':\n    os._exit(1)\n"
        "if unit_id == 'thanh-minh':\n    time.sleep(60)\n"
        "print('ok')")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                  "language_info": {"name": "python"}})
    nbformat.write(nb, folder / "annual_dashboard.ipynb")
    return folder


def test_failures_are_reported_with_partial_notebooks_and_do_not_stop_the_batch(
        sample_processed: Path, tmp_path: Path) -> None:
    nb_dir = _trap_notebook(tmp_path / "nb")
    summary = reports.render_batch(sample_processed, tmp_path / "out", level="co_so", years=(2014, 2014), jobs=2,
                                   timeout=4, notebooks_dir=nb_dir)
    by_unit = {r["unit_id"]: r for r in summary["reports"]}
    assert not summary["ok"] and summary["failed"] == 3 and by_unit["tan-thanh"]["status"] == "rendered"
    assert "ValueError: ô này hỏng" in by_unit["thpt-pdg"]["error"]
    assert "DeadKernel" in by_unit["him-lam"]["error"] or "died" in by_unit["him-lam"]["error"]
    assert "Timeout" in by_unit["thanh-minh"]["error"] or "timed out" in by_unit["thanh-minh"]["error"]
    for uid in ("thpt-pdg", "him-lam", "thanh-minh"):
        partial = Path(by_unit[uid]["partial_notebook"])
        nb = nbformat.read(partial, as_version=4)
        assert any("started" in "".join(o.get("text", "")) for c in nb.cells for o in c.get("outputs", [])), uid


def test_cli_batch_exit_code_says_whether_all_succeeded(sample_processed: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from analysis import cli

    _trap_notebook(tmp_path / "notebooks")
    monkeypatch.setenv("HOCTAP_HOME", str(tmp_path))
    common = ["report", "--all", "--level", "co_so", "--years", "2014", "--data", str(sample_processed),
              "--out", str(tmp_path / "out"), "--format", "json"]
    assert cli.main([*common, "--unit", "tan-thanh"]) == 0
    assert json.loads(capsys.readouterr().out)["rendered"] == 1
    assert cli.main([*common, "--unit", "thpt-pdg"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["failed"] == 1 and "ValueError" in printed["reports"][0]["error"]


# --- parameters that try to inject code -----------------------------------------------------------

def test_unit_id_with_quotes_and_newlines_renders_and_injects_nothing(processed_copy: Path, tmp_path: Path) -> None:
    rename_unit(processed_copy, "thpt-pdg", WEIRD_ID, XSS)
    params = reports.build_params("annual", unit_id=WEIRD_ID, year=2020, data_dir=processed_copy)
    html = reports.render_one("annual", params, tmp_path / "out")
    executed = nbformat.read(html.with_suffix(".ipynb"), as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    values = {t.id: ast.literal_eval(n.value) for n in ast.parse(injected.source).body
              if isinstance(n, ast.Assign) for t in n.targets}
    assert values["unit_id"] == WEIRD_ID
    assert not list(tmp_path.rglob("PWNED"))
    page = html.read_text(encoding="utf-8")
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert json.loads((html.parent / "metrics.json").read_text(encoding="utf-8"))["unit_id"] == WEIRD_ID


def test_batch_with_kernels_started_ahead_gives_the_same_reports(annual_html: Path, sample_processed: Path,
                                                                  tmp_path: Path) -> None:
    """In a batch each report's kernel starts during the report before (imports done ahead): the
    pages equal a single render's, and no kernel is left running afterwards."""
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    summary = reports.render_batch(sample_processed, tmp_path / "out", level="co_so", years=(2019, 2020),
                                   jobs=1, force=True, unit_ids=["thanh-minh"], rendered_at="batch")
    assert summary["ok"] and summary["rendered"] == 2
    page = (tmp_path / "out" / "thanh-minh" / "2020" / "dashboard.html").read_text(encoding="utf-8")
    assert reports.strip_volatile(page) == reports.strip_volatile(annual_html.read_text(encoding="utf-8"))
    time.sleep(0.5)
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [p.cmdline() for p in left]


def test_single_report_starts_its_kernel_before_the_gate(annual_html: Path, sample_processed: Path,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One report's kernel boots while the parent runs the data-quality gate (it is this process,
    forked, when this process runs one thread); the output notebook is written when execution ends, not after every cell; the page is
    the same as any other render's and no kernel is left running."""
    import papermill.engines
    import psutil

    from analysis.quality import gate

    seen: list[bool] = []
    real_gate = gate.run_gate

    def spying_gate(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(reports._WARM._next is not None)
        return real_gate(*args, **kwargs)

    writes: list[str] = []
    real_write = papermill.engines.write_ipynb
    monkeypatch.setattr(gate, "run_gate", spying_gate)
    monkeypatch.setattr(papermill.engines, "write_ipynb",
                        lambda nb, path: (writes.append(str(path)), real_write(nb, path)))
    from analysis import kernels

    forked: list[int] = []
    real_fork = kernels.Prefork.fork
    monkeypatch.setattr(kernels.Prefork, "fork", lambda self, *a, **k: forked.append(real_fork(self, *a, **k))
                        or forked[-1])
    may_fork = kernels.fork_here_allowed()
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    params = reports.build_params("annual", unit_id="thanh-minh", year=2020, data_dir=sample_processed)
    page = reports.render_one("annual", params, tmp_path, rendered_at="ahead").read_text(encoding="utf-8")
    assert seen == [True]
    assert len(forked) == (1 if may_fork else 0)  # the kernel is this process, forked, when it may fork
    assert 1 <= len(writes) <= 2, writes  # papermill's own writes at start/end, none per cell
    assert reports.strip_volatile(page) == reports.strip_volatile(annual_html.read_text(encoding="utf-8"))
    time.sleep(0.5)
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, [p.cmdline() for p in left]

    seen.clear()
    monkeypatch.setenv("HOCTAP_WARM_KERNELS", "0")
    reports.render_one("annual", params, tmp_path / "cold", rendered_at="cold")
    assert seen == [False]


def test_a_kernel_that_dies_while_booting_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel started ahead ends before answering its warm-up (here: the forked child exits
    instead of becoming the kernel): the report notices within seconds and starts its own kernel,
    instead of waiting out the 120 s warm-up timeout."""
    from analysis import kernels

    if not kernels.fork_here_allowed():
        pytest.skip("this test process runs more than one thread: it may not fork")
    monkeypatch.setattr(kernels, "_become_kernel", lambda request: os._exit(3))
    warm = reports._WarmKernels()
    warm.prepare(ahead=True)
    assert warm.waiting()
    start = time.monotonic()
    assert warm.take(timeout=120) is None
    assert time.monotonic() - start < 30  # a hang detector, not a speed target: the timeout is 120 s
    warm.close()
