"""Helpers shared by test modules (not tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import store


def save_table(folder: Path, table: str, df: pd.DataFrame) -> None:
    """Write ``df`` as ``table`` of a processed folder, as the intake writes it (the manifest is left
    as it was)."""
    store.atomic_write_bytes(folder / f"{table}.parquet", store.table_bytes(df.reset_index(drop=True)))


def rename_unit(data: Path, old: str, new_id: str, new_name: str) -> None:
    """Rename a unit (id everywhere, name in the tree) inside a processed folder (test helper)."""
    for name in ("units", "membership", "study_participation", "unit_ratings", "member_ratings"):
        df = store.load_table(data, name)
        for col in ("unit_id", "parent_id"):
            if col in df.columns:
                df[col] = df[col].astype(object).where((df[col] != old).fillna(True), new_id).astype("string")
        if name == "units":
            df.loc[df["unit_id"] == new_id, "unit_name"] = new_name
        save_table(data, name, df)
