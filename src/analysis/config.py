"""Paths and frozen settings. Importing this module has no side effect."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Folder that holds ``data/``, ``notebooks/`` and ``expectations/`` in a source checkout.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Oldest and newest assessment years the package accepts (checked by the quality gate).
MIN_YEAR = 2000
MAX_YEAR = 2100

#: Version of the processed-data layout; bumped when canonical tables change shape.
DATA_FORMAT_VERSION = 3  # 2: study_participation.members_exempt_attended; 3: quarantine.unit_id/year


@dataclass(frozen=True)
class Paths:
    """Where the pipeline reads and writes.

    Attributes:
        raw: Folder of raw workbooks as received (read-only).
        processed: Folder of canonical Parquet tables written by ``hoctap ingest``.
        reports: Folder of rendered dashboards.
        notebooks: Folder of the parameterised notebooks.
        expectations: Folder of Great Expectations suites (JSON).
    """

    raw: Path
    processed: Path
    reports: Path
    notebooks: Path
    expectations: Path


def default_paths(root: Path | None = None) -> Paths:
    """Return the default folders under ``root`` (the current directory by default).

    ``HOCTAP_HOME`` overrides the root. Notebooks and expectations fall back to the copies in the
    source checkout when ``root`` has none, so the command works from any folder.

    Example:
        >>> default_paths(Path("/x")).processed
        PosixPath('/x/data/processed')
    """
    base = Path(root or os.environ.get("HOCTAP_HOME") or Path.cwd())
    notebooks = base / "notebooks"
    expectations = base / "expectations"
    if not notebooks.is_dir():
        notebooks = PROJECT_ROOT / "notebooks"
    if not expectations.is_dir():
        expectations = PROJECT_ROOT / "expectations"
    return Paths(
        raw=base / "data" / "raw",
        processed=base / "data" / "processed",
        reports=base / "reports",
        notebooks=notebooks,
        expectations=expectations,
    )


def load_yaml(text: str):
    """Parse YAML safely, with libyaml's C loader when it is installed (same result, ~10× faster)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
