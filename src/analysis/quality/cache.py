"""What the gate computes from a processed folder alone, kept in ``<data_dir>/.cache/`` between runs.

A unit's run still checks the whole unit tree (it may only compare a unit with its siblings when
the tree is sound), which takes about a second at national scale although it depends on
``units.parquet`` and ``merges.parquet`` only. Such results are stored here, one JSON file per
kind, under a key that makes a stale entry impossible to read back:

* the SHA-256 of the bytes of every file the result is computed from (the very bytes the run
  parsed, so a file replaced by ``hoctap ingest`` or rewritten by hand is a new key; the manifest
  is not trusted: tests and tools rewrite tables without it);
* the code version (:func:`code_version`: the source of the modules that compute the result, the
  versions of pandas, pyarrow and numpy, and :data:`CACHE_VERSION`).

The cache never changes a result: a missing, unreadable or malformed entry is recomputed; a
folder that cannot be written (read-only, full disk) is simply not cached. Writes are atomic
(:func:`analysis.store.atomic_write_text`) and replace the entries of the same kind with other
keys. The folder ``.cache`` is ignored by everything else: tables, the manifest and report
fingerprints are read by name, and ``hoctap ingest`` replaces the tables in place (a new table is
a new key). ``HOCTAP_GATE_CACHE=0`` turns the cache off.

Example:
    >>> c = FolderCache(Path("data/processed"))  # doctest: +SKIP
    >>> c.get("tree", key) is None  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import __version__, store

#: Bump when the layout of a cached value changes.
CACHE_VERSION = 1
#: Folder of the cache inside a processed folder.
CACHE_DIR = ".cache"
#: Modules whose code computes a cached value (their source is part of every key).
_SOURCES = ("hierarchy.py", "schema.py", "quality/checks.py", "quality/gate.py", "quality/messages.py",
            "quality/cache.py")


def enabled() -> bool:
    """Whether the cache is used (``HOCTAP_GATE_CACHE=0`` turns it off)."""
    return os.environ.get("HOCTAP_GATE_CACHE", "1").strip() not in ("0", "false", "no", "off")


@functools.cache
def code_version() -> str:
    """A hash of the code that computes the cached values and of the libraries it relies on."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"{CACHE_VERSION}|{__version__}|{pd.__version__}|{pa.__version__}|"
                            f"{np.__version__}".encode())
    for rel in _SOURCES:
        digest.update(rel.encode("utf-8"))
        with contextlib.suppress(OSError):
            digest.update((root / rel).read_bytes())
    return digest.hexdigest()


def key_of(*parts: str) -> str:
    """The cache key of a value computed from files with these SHA-256 digests (and this code)."""
    return hashlib.sha256("|".join((code_version(), *parts)).encode("utf-8")).hexdigest()


class FolderCache:
    """The cache of one processed folder.

    Args:
        data_dir: The processed folder.
    """

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / CACHE_DIR
        self.on = enabled()

    def _path(self, kind: str, key: str) -> Path:
        return self.folder / f"{kind}-{key[:40]}.json"

    def get(self, kind: str, key: str) -> Any | None:
        """The value stored under ``kind`` and ``key``, or None (absent, unreadable, another key)."""
        if not self.on:
            return None
        try:
            data = json.loads(self._path(kind, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("key") != key or "value" not in data:
            return None
        return data["value"]

    def put(self, kind: str, key: str, value: Any) -> bool:
        """Store ``value`` (JSON) under ``kind`` and ``key``; False when the folder cannot be written."""
        if not self.on:
            return False
        path = self._path(kind, key)
        try:
            self.folder.mkdir(exist_ok=True)
            store.atomic_write_text(path, json.dumps({"key": key, "value": value}, ensure_ascii=False))
            for old in self.folder.glob(f"{kind}-*.json"):
                if old != path:
                    old.unlink(missing_ok=True)
        except (OSError, TypeError, ValueError):
            return False
        return True
