"""Peer of workload 1: the canonical aggregates of a national year computed by DuckDB SQL.

Reads ``<raw>/<year>/member_register.parquet`` and ``attendance.parquet`` plus ``units.csv`` and
writes ``membership``, ``study_participation`` and ``member_ratings`` as Parquet into ``OUT``.
Labels are mapped to rating codes by a 12-row table built with ``analysis.ratings.match_label``
(the only Python in the hot path is that lookup of distinct labels). As in the package, a register
row naming an unknown/inactive unit or a label invalid for the year's scheme is left out entirely
(the package quarantines it).

Usage: ``python benchmarks/duckdb_register.py RAW YEAR OUT [THREADS]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from analysis import ratings


def run(raw: Path, year: int, out: Path, threads: int = 2) -> None:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    reg = raw / str(year) / "member_register.parquet"
    att = raw / str(year) / "attendance.parquet"
    labels = con.execute(f"SELECT DISTINCT rating_label FROM read_parquet('{reg}') WHERE rating_label IS NOT NULL"
                         ).fetchall()
    rows = []
    for (label,) in labels:
        m = ratings.match_label(label, year, "member")
        if m.matched and m.rating_rank is not None:
            rows.append((label, m.rating_code, m.scheme_id, m.rating_rank))
    con.execute("CREATE TABLE label_map(label VARCHAR, rating_code VARCHAR, scheme_id VARCHAR, rating_rank BIGINT)")
    con.executemany("INSERT INTO label_map VALUES (?, ?, ?, ?)", rows)
    con.execute(f"""
        CREATE VIEW units AS SELECT DISTINCT unit_id FROM read_csv('{raw / "units.csv"}', all_varchar = true)
        WHERE CAST(valid_from_year AS INT) <= {year}
          AND (valid_to_year IS NULL OR valid_to_year = '' OR CAST(valid_to_year AS INT) >= {year});
        -- a row with a label not valid for the year keeps its member (only the rating is set aside)
        CREATE TABLE reg AS SELECT r.* FROM read_parquet('{reg}') r SEMI JOIN units u ON r.unit_id = u.unit_id;
    """)
    con.execute(f"""COPY (
        SELECT unit_id, CAST({year} AS BIGINT) AS year, count(*) AS members_total,
               count(*) FILTER (WHERE is_exempt) AS members_exempt
        FROM reg GROUP BY unit_id ORDER BY unit_id) TO '{out / "membership.parquet"}' (FORMAT parquet)""")
    con.execute(f"""COPY (
        SELECT r.unit_id, a.campaign_id, count(*) AS members_attended,
               count(*) FILTER (WHERE r.is_exempt) AS members_exempt_attended
        FROM read_parquet('{att}') a JOIN reg r ON a.member_id = r.member_id
        GROUP BY r.unit_id, a.campaign_id ORDER BY r.unit_id, a.campaign_id)
        TO '{out / "study_participation.parquet"}' (FORMAT parquet)""")
    con.execute(f"""COPY (
        WITH counts AS (
            SELECT r.unit_id, m.rating_code, count(*) AS members_count
            FROM reg r JOIN label_map m ON r.rating_label = m.label GROUP BY r.unit_id, m.rating_code),
        na AS (SELECT unit_id, count(*) FILTER (WHERE rating_label IS NULL AND NOT is_exempt) AS members_not_assessed
               FROM reg GROUP BY unit_id),
        levels AS (SELECT DISTINCT rating_code, scheme_id, rating_rank FROM label_map)
        SELECT n.unit_id, CAST({year} AS BIGINT) AS year, l.rating_code, l.scheme_id, l.rating_rank,
               coalesce(c.members_count, 0) AS members_count, n.members_not_assessed
        FROM na n CROSS JOIN levels l
        LEFT JOIN counts c ON c.unit_id = n.unit_id AND c.rating_code = l.rating_code
        ORDER BY n.unit_id, l.rating_code)
        TO '{out / "member_ratings.parquet"}' (FORMAT parquet)""")


if __name__ == "__main__":
    run(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 2)
