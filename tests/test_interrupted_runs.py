"""Interrupted and concurrent runs: a real SIGKILL at several moments never leaves a broken folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import reports, store

pytestmark = pytest.mark.xdist_group("subprocess-heavy")


def consistent(folder: Path) -> dict:
    """Load the folder and check every table file matches the manifest's hash; return the manifest."""
    manifest = store.read_manifest(folder)
    for name, info in manifest["tables"].items():
        data = (folder / f"{name}.parquet").read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"], f"{name} does not match the manifest"
    store.load_tables(folder)
    return manifest


def start_ingest(raw: Path, out: Path, pause: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "HOCTAP_TEST_WRITE_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-m", "analysis", "ingest", str(raw), "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "ingest ended before reaching the moment to kill"
        assert time.monotonic() < end
        time.sleep(0.02)


@pytest.fixture()
def two_states(sample_raw: Path, tmp_path: Path) -> tuple[Path, Path, int]:
    """A processed folder holding a small ingest (2014 only) and a raw folder for a full ingest."""
    small = tmp_path / "raw-small"
    small.mkdir()
    for name in ("units.csv", "campaigns.csv"):
        shutil.copy(sample_raw / name, small / name)
    shutil.copytree(sample_raw / "2014", small / "2014")
    out = tmp_path / "processed"
    from analysis.intake.pipeline import ingest

    rows_small = ingest(small, out).manifest["totals"]["rows_kept"]
    return sample_raw, out, rows_small


@pytest.mark.parametrize("delay", [0.8, 3.0])
def test_sigkill_leaves_previous_or_complete_tables(two_states, delay: float) -> None:
    raw, out, rows_small = two_states
    proc = start_ingest(raw, out)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    manifest = consistent(out)  # readable and self-consistent whatever the moment of the kill
    assert manifest["totals"]["rows_kept"] in (rows_small, 3394)
    # the next run completes
    done = start_ingest(raw, out)
    assert done.wait(timeout=180) == 0, done.stderr.read().decode()
    assert consistent(out)["totals"]["rows_kept"] == 3394
    assert not (out / store.STAGING).exists()


@pytest.mark.parametrize("moment", ["while staging", "while replacing"])
def test_sigkill_inside_the_write_window(two_states, moment: str) -> None:
    raw, out, rows_small = two_states
    proc = start_ingest(raw, out, pause=0.4)
    marker = out / store.STAGING / ("manifest.json" if moment == "while staging" else store.COMMIT_MARK)
    wait_for(marker, proc)
    if moment == "while replacing":
        time.sleep(0.6)  # some tables already replaced, others not
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    expected = rows_small if moment == "while staging" else 3394
    assert consistent(out)["totals"]["rows_kept"] == expected


def test_interrupted_write_before_commit_is_discarded(tmp_path: Path, sample_processed: Path) -> None:
    out = tmp_path / "p"
    shutil.copytree(sample_processed, out)
    before = (out / "membership.parquet").read_bytes()
    (out / store.STAGING).mkdir()
    (out / store.STAGING / "membership.parquet").write_bytes(b"half written")
    consistent(out)
    assert (out / "membership.parquet").read_bytes() == before
    assert store.recover(out) == "discarded"


def test_second_run_at_once_says_already_running(tmp_path: Path, sample_raw: Path) -> None:
    out = tmp_path / "p"
    with store.folder_lock(out, "test"):
        proc = start_ingest(sample_raw, out)
        assert proc.wait(timeout=60) == 2
        err = proc.stderr.read().decode()
    assert "đang ghi" in err and len(err.strip().splitlines()) == 1
    assert not (out / "manifest.json").exists()


def test_lock_is_released_after_a_run(tmp_path: Path) -> None:
    with store.folder_lock(tmp_path, "a"):
        pass
    with store.folder_lock(tmp_path, "b"):
        assert json.dumps({"pid": os.getpid()})


# --- hoctap report: the lock, and a real SIGKILL at several moments ------------------------------
#
# The batches render a tiny annual notebook (HOCTAP_HOME/notebooks) so that each report costs a
# kernel start, the gate and the export (a few seconds), not the whole dashboard: what is tested is
# how reports reach the folder, which does not depend on the notebook's content.

REPORT_ARGS = ["--level", "cap_tren"]  # one unit (dbp): each batch below is 1–3 reports


@pytest.fixture(scope="module")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import nbformat

    home = tmp_path_factory.mktemp("home")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                           "name": "python3"}})
    params = nbformat.v4.new_code_cell('unit_id = ""\nyear = 0\ndata_dir = ""\nlang = "vi"\nvalidation_path = ""\n'
                                       'rendered_at = ""\nout_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell('print(f"Báo cáo {unit_id} {year}")')]
    (home / "notebooks").mkdir()
    nbformat.write(nb, home / "notebooks" / "annual_dashboard.ipynb")
    return home


def start_report(data: Path, out: Path, home: Path, *extra: str, pause: str = "", mark: Path | None = None) \
        -> subprocess.Popen:
    env = {**os.environ, "HOCTAP_HOME": str(home), reports.TEST_PAUSE_ENV: pause,
           reports.TEST_MARK_ENV: str(mark or "")}
    return subprocess.Popen([sys.executable, "-m", "analysis", "report", "--all", "--data", str(data), "--out",
                             str(out), "--format", "json", *REPORT_ARGS, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, dict | None, str]:
    out, err = proc.communicate(timeout=timeout)
    try:
        summary = json.loads(out.decode())
    except ValueError:
        summary = None
    return proc.returncode, summary, err.decode()


def wait_mark(mark: Path, moment: str, proc: subprocess.Popen, timeout: float = 180) -> int:
    """Wait until the run reaches ``moment`` (its pause hook wrote it); return the pid that did."""
    end = time.monotonic() + timeout
    while True:
        if mark.is_file():
            for line in mark.read_text(encoding="utf-8").splitlines():
                name, pid = line.split()
                if name == moment:
                    return int(pid)
        assert proc.poll() is None, f"the run ended before '{moment}': {proc.stderr.read().decode()}"
        assert time.monotonic() < end, f"'{moment}' not reached"
        time.sleep(0.05)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def visible_files(out: Path) -> dict[str, bytes]:
    """Every file a reader sees: index, summary and the files of report folders (not hidden ones)."""
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    for p in out.glob("*/*/*"):
        if p.is_file() and not p.parent.name.startswith(".") and not p.parent.parent.name.startswith("."):
            files[str(p.relative_to(out))] = p.read_bytes()
    return files


def hidden_dirs(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.glob("*/.*") if p.is_dir())


def assert_reports_intact(out: Path) -> list[Path]:
    """Every report folder is complete and readable; the index links only those. Returns them."""
    from html.parser import HTMLParser

    folders = sorted(p for p in out.glob("*/*") if p.is_dir() and not p.name.startswith("."))
    for folder in folders:
        names = {p.name for p in folder.iterdir()}
        assert {"dashboard.html", reports.PROVENANCE_FILE, reports.HASH_FILE, "validation.json",
                "validation.html"} <= names, f"{folder} is not a complete report: {sorted(names)}"
        page = (folder / "dashboard.html").read_text(encoding="utf-8")
        assert page.rstrip().endswith("</html>")
        HTMLParser().feed(page)
        prov = json.loads((folder / reports.PROVENANCE_FILE).read_text(encoding="utf-8"))
        fp = json.loads((folder / reports.HASH_FILE).read_text(encoding="utf-8"))
        assert prov["input_hash"] == fp["input_hash"]
        json.loads((folder / "validation.json").read_text(encoding="utf-8"))
    listed = [r["folder"] for r in reports.collect_reports(out)]
    assert listed == folders
    if (out / reports.INDEX_FILE).exists():
        page = (out / reports.INDEX_FILE).read_text(encoding="utf-8")
        assert page.rstrip().endswith("</html>")
        for href in re.findall(r'href="([^"]+)"', page):
            assert (out / href).is_file() and not any(part.startswith(".") for part in Path(href).parts)
    if (out / reports.SUMMARY_FILE).exists():
        json.loads((out / reports.SUMMARY_FILE).read_text(encoding="utf-8"))
    return folders


def run_again(data: Path, out: Path, home: Path, years: str) -> dict:
    """The run after a kill: it must end with exit 0 and skip exactly the reports whose stored input
    hash is current (all of them when only the killed run touched the folder), render the others,
    and leave no hidden folder."""
    stored = {f.name: reports.stored_hash(f) for f in (out / "dbp").iterdir()
              if f.is_dir() and not f.name.startswith(".")}
    code, summary, err = finish(start_report(data, out, home, "--years", years))
    assert code == 0 and summary["failed"] == 0, err
    for r in summary["reports"]:
        expected = "skipped" if stored.get(str(r["year"])) == r["input_hash"] else "rendered"
        assert r["status"] == expected, (r, stored)
    assert hidden_dirs(out) == [] and not list(out.glob(".*.tmp"))
    assert [f.name for f in assert_reports_intact(out)] == [str(r["year"]) for r in summary["reports"]]
    assert json.loads((out / reports.SUMMARY_FILE).read_text(encoding="utf-8"))["reports"] == summary["reports"]
    return summary


@pytest.fixture(scope="module")
def reports_before(sample_processed: Path, tiny_home: Path, tmp_path_factory: pytest.TempPathFactory) \
        -> tuple[Path, Path]:
    """A copy of the sample data and a reports folder holding dbp 2023 and 2024 (from a real run)."""
    base = tmp_path_factory.mktemp("reports-before")
    data = base / "processed"
    shutil.copytree(sample_processed, data)
    code, summary, err = finish(start_report(data, base / "reports", tiny_home, "--years", "2023-2024"))
    assert code == 0 and summary["rendered"] == 2, err
    return data, base / "reports"


@pytest.fixture()
def before(reports_before: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """A private copy of :func:`reports_before` and the files a reader saw in it."""
    data, out = reports_before
    mine = tmp_path / "reports"
    shutil.copytree(out, mine)
    (mine / store.LOCK_FILE).unlink(missing_ok=True)
    return data, mine, visible_files(mine)


def test_second_report_run_at_once_says_already_running(before, tiny_home: Path, tmp_path: Path) -> None:
    data, out, files = before
    mark = tmp_path / "mark"
    first = start_report(data, out, tiny_home, "--force", "--years", "2023-2024", pause="locked=120", mark=mark)
    try:
        wait_mark(mark, "locked", first)
        code, _, err = finish(start_report(data, out, tiny_home, "--years", "2023-2024"))
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "đang được một lần chạy khác ghi" in err and str(first.pid) in err and "Traceback" not in err
        single = subprocess.run([sys.executable, "-m", "analysis", "report", "--unit", "dbp", "--year", "2024",
                                 "--data", str(data), "--out", str(out)], capture_output=True, text=True,
                                env={**os.environ, "HOCTAP_HOME": str(tiny_home)}, timeout=120)
        assert single.returncode == 2 and "đang được một lần chạy khác ghi" in single.stderr
    finally:
        kill(first)
    assert visible_files(out) == files  # neither run wrote anything


def test_sigkill_mid_render_keeps_the_previous_reports(before, tiny_home: Path) -> None:
    data, out, files = before
    proc = start_report(data, out, tiny_home, "--years", "2022-2024")  # renders 2022, skips 2023-2024
    try:
        end = time.monotonic() + 120
        while not list((out / "dbp").glob(".2022.*")):
            assert proc.poll() is None and time.monotonic() < end, proc.stderr.read().decode()
            time.sleep(0.02)
        time.sleep(0.5)  # inside the render (gate or kernel)
    finally:
        kill(proc)
    now = visible_files(out)
    assert {k: now.get(k) for k in files} == files  # old reports, index and summary untouched
    assert all(k.startswith("dbp/2022/") for k in set(now) - set(files))  # 2022: nothing or all of it
    assert {f.name for f in assert_reports_intact(out)} <= {"2022", "2023", "2024"}
    assert len(run_again(data, out, tiny_home, "2022-2024")["reports"]) == 3  # renders 2022, skips 2023-2024


def test_sigkill_while_a_report_is_swapped_into_place(before, tiny_home: Path, tmp_path: Path) -> None:
    data, out, files = before
    mark = tmp_path / "mark"
    proc = start_report(data, out, tiny_home, "--force", "--years", "2023-2024", pause="swap=120", mark=mark)
    try:
        wait_mark(mark, "swap", proc)
    finally:
        kill(proc)
    now = visible_files(out)
    assert [f.name for f in assert_reports_intact(out)] == ["2023", "2024"]
    assert {k: v for k, v in now.items() if not k.startswith("dbp/2023/")} == \
        {k: v for k, v in files.items() if not k.startswith("dbp/2023/")}  # 2024, index, summary: old
    assert hidden_dirs(out)  # the replaced report, not yet removed: not a report
    run_again(data, out, tiny_home, "2023-2024")


@pytest.mark.parametrize("moment", ["index", "summary"])
def test_sigkill_while_the_index_is_written(before, tiny_home: Path, tmp_path: Path, moment: str) -> None:
    data, out, files = before
    mark = tmp_path / "mark"
    proc = start_report(data, out, tiny_home, "--force", "--years", "2024-2024", pause=f"{moment}=120", mark=mark)
    try:
        wait_mark(mark, moment, proc)
    finally:
        kill(proc)
    now = visible_files(out)
    assert_reports_intact(out)
    assert now[reports.SUMMARY_FILE] == files[reports.SUMMARY_FILE]  # the old summary, whole
    if moment == "index":
        assert now[reports.INDEX_FILE] == files[reports.INDEX_FILE]
    assert now["dbp/2023/dashboard.html"] == files["dbp/2023/dashboard.html"]
    run_again(data, out, tiny_home, "2023-2024")


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with the batch on Linux only")
def test_sigkill_of_a_parallel_batch_stops_its_workers(before, tiny_home: Path, tmp_path: Path) -> None:
    data, out, files = before
    mark = tmp_path / "mark"
    proc = start_report(data, out, tiny_home, "--force", "--jobs", "2", "--years", "2023-2024", pause="swap=120",
                        mark=mark)
    try:
        worker = wait_mark(mark, "swap", proc)
        assert worker != proc.pid
    finally:
        kill(proc)
    end = time.monotonic() + 20
    while not _gone(worker):  # a worker left running would go on writing without the lock
        assert time.monotonic() < end, f"worker {worker} still running after the batch was killed"
        time.sleep(0.1)
    assert_reports_intact(out)
    assert visible_files(out)[reports.INDEX_FILE] == files[reports.INDEX_FILE]
    run_again(data, out, tiny_home, "2023-2024")


def test_next_run_puts_back_a_report_moved_aside(before, tiny_home: Path) -> None:
    """The state a kill leaves between the two renames where no atomic exchange is available."""
    data, out, files = before
    os.replace(out / "dbp" / "2023", out / "dbp" / ".2023.old-4242-0123abcd")
    shutil.copytree(out / "dbp" / "2024", out / "dbp" / ".2023.k3_9zq1x")  # a work folder, never a report
    (out / ".index.html.x1y2.tmp").write_text("<html", encoding="utf-8")
    assert [r["folder"].name for r in reports.collect_reports(out)] == ["2024"]
    with reports.reports_lock(out):  # what the next run does first
        pass
    assert hidden_dirs(out) == [] and not list(out.glob(".*.tmp"))
    now = visible_files(out)
    assert {k: v for k, v in now.items() if k.startswith("dbp/")} == {k: v for k, v in files.items()
                                                                       if k.startswith("dbp/")}
    run_again(data, out, tiny_home, "2023-2024")
