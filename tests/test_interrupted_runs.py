"""Interrupted and concurrent runs: a real SIGKILL at several moments never leaves a broken folder."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis import store

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
