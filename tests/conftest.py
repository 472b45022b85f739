"""Shared fixtures: the embedded sample, ingested once per test session (per xdist worker)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RAW = ROOT / "data" / "raw"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="run heavy tests (fuzzing, scale)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--slow"):
        os.environ["HOCTAP_SLOW"] = "1"  # property tests read it to run many more examples
    # Great Expectations' progress bars (tqdm) would start tqdm's monitor thread in a test process,
    # and a process running a second thread never forks a report's kernel from itself: the
    # tests of that fork would then depend on which tests ran before them on the same worker
    try:
        import tqdm

        tqdm.tqdm.monitor_interval = 0
    except ImportError:
        pass


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="heavy test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sample_raw() -> Path:
    """The committed sample raw folder (read-only: never write into it)."""
    return SAMPLE_RAW


@pytest.fixture(scope="session")
def sample_processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample ingested into a temporary processed folder (shared, treat as read-only)."""
    from analysis.intake.pipeline import ingest

    out = tmp_path_factory.mktemp("processed")
    ingest(SAMPLE_RAW, out)
    return out


@pytest.fixture()
def processed_copy(sample_processed: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested sample that a test may modify."""
    dst = tmp_path / "processed"
    shutil.copytree(sample_processed, dst)
    return dst


@pytest.fixture(scope="session")
def sample_tables(sample_processed: Path):
    """The canonical tables of the ingested sample."""
    from analysis import store

    return store.load_tables(sample_processed)
