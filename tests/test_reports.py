"""Reports without kernels: parameters, folders, input hashes, HTML clean-up, index, progress, CLI."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import save_table
from hypothesis import given
from hypothesis import strategies as st

from analysis import cli, reports, store

XSS = "<img src=x onerror=alert(1)>"


# --- parameters -------------------------------------------------------------------------------

def test_check_params_rejects_unknown_parameter() -> None:
    with pytest.raises(reports.ReportParamError, match="Tham số không hợp lệ 'colour'"):
        reports.check_params("annual", {"unit_id": "a", "colour": "red"})


def test_check_params_rejects_wrong_type() -> None:
    with pytest.raises(reports.ReportParamError, match="'year' phải là int, nhận str"):
        reports.check_params("annual", {"unit_id": "a", "year": "2014"})


def test_check_params_rejects_bool_for_int() -> None:
    with pytest.raises(reports.ReportParamError, match="'year' phải là int"):
        reports.check_params("annual", {"year": True})


def test_build_params_unknown_unit_lists_choices(sample_processed: Path) -> None:
    with pytest.raises(reports.ReportParamError, match="Không có đơn vị 'nowhere'.*tan-thanh"):
        reports.build_params("annual", unit_id="nowhere", year=2014, data_dir=sample_processed)


def test_build_params_year_without_data_lists_years(sample_processed: Path) -> None:
    with pytest.raises(reports.ReportParamError, match="năm 1999.*2012"):
        reports.build_params("annual", unit_id="tan-thanh", year=1999, data_dir=sample_processed)


def test_build_params_trends_defaults_to_data_span(sample_processed: Path) -> None:
    p = reports.build_params("trends", unit_id="tan-thanh", data_dir=sample_processed)
    assert (p["start_year"], p["end_year"]) == (2012, 2024)


def test_build_params_trends_rejects_reversed_span(sample_processed: Path) -> None:
    with pytest.raises(reports.ReportParamError, match="start_year"):
        reports.build_params("trends", unit_id="tan-thanh", start_year=2020, end_year=2015,
                             data_dir=sample_processed)


def test_cli_unknown_unit_exits_2_with_choices(sample_processed: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["report", "--unit", "nowhere", "--year", "2014", "--data", str(sample_processed),
                     "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "nowhere" in err and "tan-thanh" in err and "Traceback" not in err


def test_cli_batch_with_no_matching_year_exits_2(sample_processed: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["report", "--all", "--years", "1990-1991", "--data", str(sample_processed),
                     "--out", str(tmp_path)])
    assert code == 2 and "2012" in capsys.readouterr().err


def test_cli_jobs_must_be_positive(sample_processed: Path, tmp_path: Path) -> None:
    assert cli.main(["report", "--all", "--jobs", "0", "--data", str(sample_processed), "--out", str(tmp_path)]) == 2


# --- folders ----------------------------------------------------------------------------------

def test_report_dir_of_plain_unit() -> None:
    assert reports.report_dir(Path("r"), "trends", {"unit_id": "a-b", "start_year": 2012, "end_year": 2014}) \
        == Path("r/a-b/trends-2012-2014")


@given(st.text(min_size=1, max_size=40))
def test_report_dir_stays_inside_out_dir(unit_id: str) -> None:
    path = reports.report_dir(Path("/out"), "annual", {"unit_id": unit_id, "year": 2014})
    assert path.parent.parent == Path("/out") and "\n" not in str(path) and path.parent.name not in ("", ".", "..")


def test_report_dir_distinguishes_ids_that_sanitise_alike() -> None:
    a = reports.report_dir(Path("r"), "annual", {"unit_id": "a b", "year": 2014})
    b = reports.report_dir(Path("r"), "annual", {"unit_id": "a_b", "year": 2014})
    assert a != b


# --- hashes -----------------------------------------------------------------------------------

def test_frame_digest_ignores_row_order() -> None:
    df = pd.DataFrame({"unit_id": ["a", "b"], "n": [1, 2]})
    assert reports.frame_digest(df) == reports.frame_digest(df.iloc[::-1])


def test_frame_digest_sees_a_changed_value() -> None:
    df = pd.DataFrame({"unit_id": ["a", "b"], "n": [1, 2]})
    assert reports.frame_digest(df) != reports.frame_digest(df.assign(n=[1, 3]))


def _hashes(data: Path, kind: str = "annual") -> dict[tuple, str]:
    ctx = reports.DataContext.load(data)
    source = reports.SliceSource(ctx)
    jobs = reports.plan_batch(ctx, kind, "co_so", (2023, 2024))
    return {(j.params["unit_id"], j.params.get("year")): reports.fingerprint(j.kind, j.params, source)["input_hash"]
            for j in jobs}


def test_fingerprint_is_stable(sample_processed: Path) -> None:
    assert _hashes(sample_processed) == _hashes(sample_processed)


def test_fingerprint_changes_only_for_the_changed_unit_and_later_years(processed_copy: Path) -> None:
    before = _hashes(processed_copy)
    membership = store.load_table(processed_copy, "membership")
    hit = (membership["unit_id"] == "thanh-minh-pa-pu") & (membership["year"] == 2024)
    membership.loc[hit, "members_total"] = membership.loc[hit, "members_total"] + 1
    save_table(processed_copy, "membership", membership)
    after = _hashes(processed_copy)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {("thanh-minh", 2024)}


def test_fingerprint_ignores_volatile_parameters(sample_processed: Path) -> None:
    ctx = reports.DataContext.load(sample_processed)
    source = reports.SliceSource(ctx)
    p = reports.build_params("annual", unit_id="thpt-pdg", year=2020, data_dir=sample_processed, context=ctx)
    a = reports.fingerprint("annual", p, source)
    b = reports.fingerprint("annual", {**p, "rendered_at": "now", "out_dir": "/x"}, source)
    assert a == b


def test_fingerprint_changes_with_the_notebook(sample_processed: Path, tmp_path: Path) -> None:
    from analysis.config import default_paths

    nb_dir = tmp_path / "nb"
    shutil.copytree(default_paths().notebooks, nb_dir)
    ctx = reports.DataContext.load(sample_processed)
    source = reports.SliceSource(ctx)
    p = reports.build_params("annual", unit_id="thpt-pdg", year=2020, data_dir=sample_processed, context=ctx)
    before = reports.fingerprint("annual", p, source, nb_dir)["input_hash"]
    with (nb_dir / "annual_dashboard.ipynb").open("a", encoding="utf-8") as fh:
        fh.write("\n")
    assert reports.fingerprint("annual", p, source, nb_dir)["input_hash"] != before


def test_up_to_date_needs_the_html_and_the_same_hash(tmp_path: Path) -> None:
    (tmp_path / reports.HASH_FILE).write_text(json.dumps({"input_hash": "h1"}), encoding="utf-8")
    assert not reports.is_up_to_date("annual", tmp_path, "h1")
    (tmp_path / "dashboard.html").write_text("x", encoding="utf-8")
    assert reports.is_up_to_date("annual", tmp_path, "h1") and not reports.is_up_to_date("annual", tmp_path, "h2")


def test_plan_batch_level_and_years(sample_processed: Path) -> None:
    jobs = reports.plan_batch(reports.DataContext.load(sample_processed), "annual", "co_so", (2014, 2015))
    assert [(j.params["unit_id"], j.params["year"]) for j in jobs] == [
        (u, y) for u in ("him-lam", "tan-thanh", "thanh-minh", "thpt-pdg") for y in (2014, 2015)]


def test_plan_batch_trends_one_per_unit(sample_processed: Path) -> None:
    jobs = reports.plan_batch(reports.DataContext.load(sample_processed), "trends", "co_so", (2016, 2019))
    assert {(j.params["start_year"], j.params["end_year"]) for j in jobs} == {(2016, 2019)} and len(jobs) == 4


# --- HTML clean-up ----------------------------------------------------------------------------

def test_strip_volatile_empties_only_the_render_time() -> None:
    a = '<p>A <span class="volatile">2026-01-01</span></p>'
    b = '<p>A <span class="volatile">2027-02-02</span></p>'
    assert reports.strip_volatile(a) == reports.strip_volatile(b) != reports.strip_volatile(b.replace("A", "B"))


def test_clean_html_removes_empty_script_and_mathjax_config() -> None:
    page = ('<head><script src=""></script><script type="text/x-mathjax-config">init_mathjax = 1;</script>'
            '</head><body>ok</body>')
    assert reports.clean_html(page) == "<head></head><body>ok</body>"


# --- index ------------------------------------------------------------------------------------

def _fake_report(out: Path, unit_id: str, name: str, year: int, verdict: str = "pass") -> None:
    params = {"unit_id": unit_id, "year": year, "lang": "vi", "data_dir": "/d"}
    folder = reports.report_dir(out, "annual", params)
    folder.mkdir(parents=True)
    (folder / reports.PROVENANCE_FILE).write_text(json.dumps(
        {"kind": "annual", "parameters": params, "unit_name": name, "unit_level": "co_so",
         "report_file": "dashboard.html"}), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(
        {"unit_name": name, "coverage": {"units": {"pct": 100.0}, "members": {"pct": 96.43},
                                         "public": {"pct": None}},
         "unit_ratings": {"levels": [{"pct": 50.0}]},
         "member_ratings": {"levels": [{"cumulative_pct": 20.0}, {"cumulative_pct": 96.6}]}}), encoding="utf-8")
    (folder / "validation.json").write_text(json.dumps({"verdict": verdict}), encoding="utf-8")


def test_index_escapes_names_and_errors(tmp_path: Path) -> None:
    _fake_report(tmp_path, 'x"\ny', XSS, 2014)
    summary = {"rendered": 0, "skipped": 1, "failed": 1,
               "reports": [{"status": "failed", "error": "lỗi <script>alert(2)</script>"}]}
    page = reports.write_index(tmp_path, "vi", summary).read_text(encoding="utf-8")
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script" not in page


def test_index_shows_vietnamese_figures_and_verdict(tmp_path: Path) -> None:
    _fake_report(tmp_path, "a", "Đảng bộ A", 2014, "fail")
    page = reports.write_index(tmp_path, "vi").read_text(encoding="utf-8")
    assert "96,4%" in page and "96,6%" in page and "Không đạt" in page and 'href="a/2014/dashboard.html"' in page


def test_index_has_no_external_resource(tmp_path: Path) -> None:
    _fake_report(tmp_path, "a", "A", 2014)
    page = reports.write_index(tmp_path, "vi").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page


# --- progress and summary -----------------------------------------------------------------------

def test_progress_without_terminal_writes_plain_lines() -> None:
    out = io.StringIO()
    p = reports.Progress(out, tty=False)
    p.start(2)
    p.update(reports.ReportResult("annual", {"unit_id": "a", "year": 2014}, "rendered", seconds=1.25))
    p.update(reports.ReportResult("annual", {"unit_id": "b", "year": 2014}, "failed", error="b 2014: hỏng"))
    p.close()
    lines = out.getvalue().splitlines()
    assert lines == ["Bắt đầu: 2 báo cáo", "[1/2] đã dựng a 2014 (1.2 s)", "[2/2] LỖI b 2014 (0.0 s): b 2014: hỏng"]


def test_progress_on_terminal_draws_a_bar_with_failures() -> None:
    out = io.StringIO()
    p = reports.Progress(out, tty=True)
    p.start(1)
    p.update(reports.ReportResult("annual", {"unit_id": "b", "year": 2014}, "failed", error="hỏng"))
    p.close()
    text = out.getvalue()
    assert "\r" in text and "1/1" in text and "lỗi 1" in text and "LỖI hỏng" in text


def test_format_batch_summary_lists_failures_first() -> None:
    text = reports.format_batch_summary({"rendered": 1, "skipped": 2, "failed": 1, "seconds": 3.0,
                                         "reports": [{"status": "failed", "error": "x 2014: hỏng"}]})
    assert text.splitlines()[0] == "LỖI x 2014: hỏng" and "bỏ qua 2" in text


# --- concurrent and interrupted runs --------------------------------------------------------------

def test_index_ignores_work_folders_and_reports_moved_aside(tmp_path: Path) -> None:
    _fake_report(tmp_path, "a", "A", 2014)
    shutil.copytree(tmp_path / "a" / "2014", tmp_path / "a" / ".2015.abcd1234")
    shutil.copytree(tmp_path / "a" / "2014", tmp_path / "a" / ".2014.old-12-0123abcd")
    assert [r["folder"].name for r in reports.collect_reports(tmp_path)] == ["2014"]
    page = reports.write_index(tmp_path, "vi").read_text(encoding="utf-8")
    assert 'href="a/2014/dashboard.html"' in page and ".2015" not in page and "old-" not in page


def test_batch_on_a_locked_folder_stops_before_writing(sample_processed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with store.folder_lock(out, "other"), pytest.raises(reports.ReportsBusyError, match="đang được một lần"):
        reports.render_batch(sample_processed, out, level="cap_tren", years=(2024, 2024))
    assert sorted(p.name for p in out.iterdir()) == [store.LOCK_FILE]


def test_cli_report_on_a_locked_folder_exits_2_in_one_line(sample_processed: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    with store.folder_lock(out, "other"):
        for args in (["--all", "--level", "cap_tren"], ["--unit", "dbp", "--year", "2024"]):
            code = cli.main(["report", *args, "--data", str(sample_processed), "--out", str(out)])
            err = capsys.readouterr().err
            assert code == 2 and len(err.strip().splitlines()) == 1
            assert err.startswith(f"hoctap: Thư mục báo cáo '{out}' đang được một lần chạy khác ghi (tiến trình ")
            assert "thử lại sau" in err


def test_lock_is_released_after_a_batch(tmp_path: Path) -> None:
    with reports.reports_lock(tmp_path):
        pass
    with store.folder_lock(tmp_path, "next"):
        pass


def _report_folder(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "dashboard.html").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_replaces_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(reports, "_exchange", lambda a, b: False)
    target = _report_folder(tmp_path / "u" / "2014", "old")
    (target / "failed.ipynb").write_text("{}", encoding="utf-8")
    work = _report_folder(tmp_path / "u" / ".2014.abcd1234", "new")
    reports._swap_into_place(work, target)
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == ["2014"]
    assert sorted(p.name for p in target.iterdir()) == ["dashboard.html"]
    assert (target / "dashboard.html").read_text(encoding="utf-8") == "new"


def test_swap_into_an_empty_place(tmp_path: Path) -> None:
    work = _report_folder(tmp_path / "u" / ".2014.abcd1234", "new")
    reports._swap_into_place(work, tmp_path / "u" / "2014")
    assert [p.name for p in (tmp_path / "u").iterdir()] == ["2014"]


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = _report_folder(tmp_path / "a", "A"), _report_folder(tmp_path / "b", "B")
    if not reports._exchange(a, b):
        pytest.skip("no atomic exchange on this system")
    assert (a / "dashboard.html").read_text(encoding="utf-8") == "B"
    assert (b / "dashboard.html").read_text(encoding="utf-8") == "A"


def test_recover_reports_puts_back_and_removes_only_its_own_leftovers(tmp_path: Path) -> None:
    _report_folder(tmp_path / "u" / ".2014.old-77-0123abcd", "old 2014")  # place empty: goes back
    _report_folder(tmp_path / "u" / "2015", "2015")
    _report_folder(tmp_path / "u" / ".2015.old-77-0123abcd", "older 2015")  # place taken: removed
    _report_folder(tmp_path / "u" / ".trends-2012-2024.x_9abc12", "work")  # work folder: removed
    _report_folder(tmp_path / "u" / ".notes", "mine")  # not ours: kept
    (tmp_path / ".index.html.a1b2c3.tmp").write_text("<html", encoding="utf-8")
    (tmp_path / ".keep.tmp").write_text("x", encoding="utf-8")
    assert reports.recover_reports(tmp_path) == {"restored": 1, "removed": 3}
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == [".notes", "2014", "2015"]
    assert (tmp_path / "u" / "2014" / "dashboard.html").read_text(encoding="utf-8") == "old 2014"
    assert (tmp_path / "u" / "2015" / "dashboard.html").read_text(encoding="utf-8") == "2015"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [".keep.tmp"]


# --- one gate run per batch -----------------------------------------------------------------------

def _validation_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("validation.json", "validation.html")}


def test_validation_from_a_precomputed_result_equals_a_gate_run(sample_processed: Path, tmp_path: Path) -> None:
    from analysis.quality import gate

    for unit, year in (("tan-thanh", 2014), ("dbp", 2024)):
        params = reports.build_params("annual", unit_id=unit, year=year, data_dir=sample_processed)
        own, given = tmp_path / f"{unit}-own", tmp_path / f"{unit}-given"
        reports._write_validation(params, own)
        precomputed = gate.run_gate(sample_processed, unit=unit, year=year, lang="vi").to_json()
        reports._write_validation(params, given, json.loads(json.dumps(precomputed)))  # as a worker receives it
        assert _validation_files(own) == _validation_files(given)


def test_batch_validations_runs_the_batch_gate_once(sample_processed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.quality import gate

    calls = []

    def fake(data_dir, scopes, lang="vi", engine=None):
        calls.append((list(scopes), lang, engine))
        return {s: gate.GateResult(unit=s[0], year=s[1], engine=engine) for s in scopes}

    monkeypatch.setattr(gate, reports.BATCH_GATE, fake, raising=False)
    jobs = reports.plan_batch(reports.DataContext.load(sample_processed), "annual", "co_so", (2023, 2024))
    found = reports.batch_validations(sample_processed, jobs, "vi")
    assert len(calls) == 1 and calls[0][1:] == ("vi", "native")
    assert sorted(found) == calls[0][0] == sorted((j.params["unit_id"], j.params["year"]) for j in jobs)
    assert found[("tan-thanh", 2024)]["unit"] == "tan-thanh"


def test_batch_validations_falls_back_to_one_run_per_report(sample_processed: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.quality import gate

    jobs = reports.plan_batch(reports.DataContext.load(sample_processed), "annual", "cap_tren", (2024, 2024))
    monkeypatch.delattr(gate, reports.BATCH_GATE, raising=False)
    assert reports.batch_validations(sample_processed, jobs) == {}

    def broken(*args, **kwargs):
        raise RuntimeError("hỏng")

    monkeypatch.setattr(gate, reports.BATCH_GATE, broken, raising=False)
    assert reports.batch_validations(sample_processed, jobs) == {}


def test_batch_gate_equals_the_gate_of_each_report(sample_processed: Path) -> None:
    """Every report of the sample batch gets what ``run_gate(unit, year)`` gives it."""
    from analysis.quality import gate

    if not hasattr(gate, reports.BATCH_GATE):
        pytest.skip(f"the gate has no {reports.BATCH_GATE} yet: each report runs the gate itself")
    ctx = reports.DataContext.load(sample_processed)
    jobs = [j for level in ("cap_tren", "co_so") for j in reports.plan_batch(ctx, "annual", level, (2021, 2024))]
    batch = reports.batch_validations(sample_processed, jobs, "vi")
    assert len(batch) == len(jobs) == 20
    for j in jobs:
        unit, year = j.params["unit_id"], j.params["year"]
        assert batch[(unit, year)] == gate.run_gate(sample_processed, unit=unit, year=year, lang="vi").to_json()


def test_the_command_does_without_the_iri_grammar_but_still_validates_notebooks() -> None:
    """``hoctap`` processes skip rfc3987-syntax (a 1,8 s grammar build at import, used only for
    jsonschema's IRI formats); nbformat's validation of notebooks still works and still rejects
    a broken notebook."""
    import subprocess
    import sys

    code = (
        "import sys, analysis.cli, papermill, nbformat\n"
        "from nbformat.v4 import new_notebook, new_code_cell\n"
        "nbformat.validate(new_notebook(cells=[new_code_cell('1')]))\n"
        "bad = new_notebook(); bad['cells'] = [{'cell_type': 'nonsense'}]\n"
        "try:\n    nbformat.validate(bad)\nexcept nbformat.ValidationError:\n    print('rejected')\n"
        "print(sorted(m for m in ('rfc3987_syntax', 'lark') if sys.modules.get(m) is not None))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["rejected", "[]"]


def test_the_command_exits_quickly_with_its_output_and_exit_code_intact(sample_processed: Path,
                                                                        tmp_path: Path) -> None:
    """``python -m analysis`` (like the ``hoctap`` script) ends the process right after its exit
    handlers: output written into a pipe (block-buffered, larger than the pipe) arrives whole,
    exit handlers registered during the command still run, and the exit codes are the command's."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "analysis", "metrics", "--unit", "tan-thanh", "--year", "2024",
                          "--data", str(sample_processed), "--format", "json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)
    marker = tmp_path / "handler-ran"
    code = ("import atexit, sys\nfrom pathlib import Path\nfrom analysis import cli\n"
            f"cli.main = lambda: (atexit.register(Path({str(marker)!r}).touch), print('x' * 200000), 1)[-1]\n"
            "cli.run()\n")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert ran.returncode == 1 and ran.stdout == "x" * 200000 + "\n" and marker.exists()
    bad = subprocess.run([sys.executable, "-m", "analysis", "report", "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "hoctap" in bad.stderr
    helped = subprocess.run([sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "report" in helped.stdout
