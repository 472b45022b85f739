"""The table suites (``expectations/*.json``): loading, and the two engines that run them.

Each canonical table has one suite, a GE ``ExpectationSuite`` written as JSON and reviewed like
code. Every expectation carries ``severity`` and ``meta``: ``check`` (the stable check id of the
finding it produces) and ``message_vi`` / ``message_en`` (templates with ``{table}``,
``{column}``, ``{columns}``, ``{count}``, ``{rows}``, ``{min_value}``, ``{max_value}``,
``{value_set}``, ``{type_}``, ``{observed}``). Year bounds are suite parameters
(``{"$PARAMETER": "min_year"}``) filled from :mod:`analysis.config`.

Two engines run a suite on a frame and return the same :class:`Outcome` list:

* ``ge`` — Great Expectations through an ephemeral context built in code
  (:mod:`analysis.quality.ge_engine`; imports GE, 2–10 s the first time in a process);
* ``native`` — a vectorised evaluator of the same JSON for the expectation types the suites use
  (milliseconds; used for unit × year runs such as the one behind each dashboard). An expectation
  type it does not know raises :class:`SuiteError`, so a suite can never be half-checked. The test
  suite runs both engines on every planted fault and asserts identical findings.

Example:
    >>> suites = load_suites()  # doctest: +SKIP
    >>> sorted(suites)[:2]  # doctest: +SKIP
    ['campaigns', 'member_ratings']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import schema
from analysis.config import MAX_YEAR, MIN_YEAR, default_paths
from analysis.quality.rules import rating_valid_mask

#: Column holding the 0-based position of each row (added before validation, used to name rows).
ROW_COLUMN = "_row"

#: Expectation types the native engine evaluates (every type the packaged suites use).
NATIVE_TYPES = (
    "expect_column_to_exist",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_rating_valid_for_scheme_of_year",
)


class SuiteError(RuntimeError):
    """A suite file is missing, unreadable, or uses an expectation the engine cannot run."""


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation on one frame (engine-independent).

    Attributes:
        table: Table validated.
        config: The expectation as written in the suite JSON (type, kwargs, meta, severity).
        success: Whether the expectation held.
        positions: 0-based positions (in the validated frame) of the failing rows, sorted.
        observed: Observed value for table/column-level expectations (e.g. the dtype found).
        skipped: The expectation could not run because a column it needs is missing (the
            ``required_columns`` finding already says so).
    """

    table: str
    config: dict
    success: bool
    positions: tuple[int, ...] = ()
    observed: str | None = None
    skipped: bool = False


def suite_parameters() -> dict[str, int]:
    """Values of the ``$PARAMETER`` placeholders of the suites."""
    return {"min_year": MIN_YEAR, "max_year": MAX_YEAR}


def suites_dir() -> Path:
    """Folder of the suites: ``expectations/`` of the project (see :func:`config.default_paths`)."""
    return default_paths().expectations


def load_suites(folder: Path | None = None) -> dict[str, dict]:
    """Read every canonical table's suite JSON.

    Raises:
        SuiteError: A suite file is missing or not valid JSON, or its name is not its table.
    """
    folder = Path(folder) if folder is not None else suites_dir()
    out: dict[str, dict] = {}
    for name in schema.TABLES:
        path = folder / f"{name}.json"
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SuiteError(f"Thiếu bộ kiểm tra '{path}' (mỗi bảng chuẩn cần một tệp trong "
                             f"'{folder}')") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise SuiteError(f"Không đọc được bộ kiểm tra '{path}': {exc}") from exc
        if suite.get("name") != name:
            raise SuiteError(f"Bộ kiểm tra '{path}' có name '{suite.get('name')}', cần '{name}'")
        out[name] = suite
    return out


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """Replace a ``{"$PARAMETER": name}`` placeholder by its value."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        return params[value["$PARAMETER"]]
    return value


def columns_of(config: dict) -> list[str]:
    """Columns an expectation reads."""
    kw = config["kwargs"]
    if "column" in kw:
        return [kw["column"]]
    if "column_list" in kw:
        return list(kw["column_list"])
    return [c for c in (kw.get("column_A"), kw.get("column_B")) if c]


# ---------------------------------------------------------------------------------------------
# Native engine
# ---------------------------------------------------------------------------------------------


def _positions(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask))


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


_COLUMN_FAIL = np.zeros(0, dtype=bool)  # sentinel: a column-level expectation failed


def _evaluate(df: pd.DataFrame, config: dict, params: dict[str, Any]) -> tuple[np.ndarray | None,
                                                                               str | None]:
    """Failing-row mask, ``None`` (column-level success) or :data:`_COLUMN_FAIL`; observed value."""
    typ, kw = config["type"], config["kwargs"]
    n = len(df)
    if typ == "expect_column_to_exist":
        return (None if kw["column"] in df.columns else _COLUMN_FAIL), None
    if typ == "expect_column_values_to_be_of_type":
        col = df[kw["column"]]
        observed = col.dtype.type.__name__  # GE's pandas rule: the dtype's scalar type
        if observed == "object_" and kw["type_"] not in ("object", "object_", "O"):
            wanted = {"str": str, "int64": int, "float64": float, "bool": bool}.get(kw["type_"], str)
            bad = np.array([v is not None and not pd.isna(v) and not isinstance(v, wanted)
                            for v in col], dtype=bool)
            return bad, None
        return (None if observed == kw["type_"] else _COLUMN_FAIL), observed
    if typ == "expect_rating_valid_for_scheme_of_year":
        return ~rating_valid_mask(df[list(kw["column_list"])], kw.get("subject", "unit")).to_numpy(), \
            None
    if typ == "expect_compound_columns_to_be_unique":
        sub = df[list(kw["column_list"])]
        all_missing = sub.isna().all(axis=1).to_numpy()
        dup = sub.duplicated(keep=False).to_numpy() & ~all_missing
        return dup, None
    if typ == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = df[kw["column_A"]], df[kw["column_B"]]
        missing = (a.isna() | b.isna()) if kw.get("ignore_row_if", "both_values_are_missing") == \
            "either_value_is_missing" else (a.isna() & b.isna())
        an, bn = _numeric(a).to_numpy(float, na_value=np.nan), _numeric(b).to_numpy(float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            ok = an >= bn if kw.get("or_equal") else an > bn
        return ~ok & ~missing.to_numpy(), None
    col = df[kw["column"]]
    present = col.notna().to_numpy()
    if typ == "expect_column_values_to_not_be_null":
        return ~present, None
    if typ == "expect_column_values_to_be_unique":
        return col.duplicated(keep=False).to_numpy() & present, None
    if typ == "expect_column_values_to_be_between":
        vals = _numeric(col).to_numpy(float, na_value=np.nan)
        bad = np.zeros(n, dtype=bool)
        lo, hi = resolve(kw.get("min_value"), params), resolve(kw.get("max_value"), params)
        with np.errstate(invalid="ignore"):
            if lo is not None:
                bad |= vals < lo
            if hi is not None:
                bad |= vals > hi
        bad |= present & np.isnan(vals)  # a value that is not a number is outside any range
        return bad & present, None
    if typ == "expect_column_values_to_be_in_set":
        return ~col.isin(list(kw["value_set"])).to_numpy(dtype=bool, na_value=False) & present, None
    if typ == "expect_column_values_to_match_regex":
        rx = re.compile(kw["regex"])
        hit = np.array([bool(rx.search(str(v))) if p else True for v, p in zip(col, present,
                                                                               strict=True)])
        return ~hit & present, None
    raise SuiteError(f"Bộ kiểm tra dùng loại kiểm tra '{typ}' mà bộ chạy nội bộ không hỗ trợ")


def run_native(table: str, suite: dict, df: pd.DataFrame,
               params: dict[str, Any] | None = None) -> list[Outcome]:
    """Run ``suite`` on ``df`` with the built-in evaluator (same semantics as GE's pandas engine).

    Raises:
        SuiteError: The suite uses an expectation type outside :data:`NATIVE_TYPES`.
    """
    params = params or suite_parameters()
    out = []
    for config in suite["expectations"]:
        needed = columns_of(config)
        if config["type"] != "expect_column_to_exist" and any(c not in df.columns for c in needed):
            if config["type"] not in NATIVE_TYPES:
                raise SuiteError(f"Bộ kiểm tra dùng loại kiểm tra '{config['type']}' mà bộ chạy nội "
                                 "bộ không hỗ trợ")
            out.append(Outcome(table, config, False, skipped=True))
            continue
        mask, observed = _evaluate(df, config, params)
        if mask is None:
            out.append(Outcome(table, config, True, observed=observed))
        elif mask is _COLUMN_FAIL:
            out.append(Outcome(table, config, False, observed=observed))
        else:
            pos = _positions(mask)
            out.append(Outcome(table, config, not pos, pos, observed))
    return out


def run_suites(frames: dict[str, pd.DataFrame], suites: dict[str, dict],
               engine: str = "native") -> list[Outcome]:
    """Run the suite of each table in ``frames`` with ``engine`` (``"ge"`` or ``"native"``)."""
    if engine == "ge":
        from analysis.quality import ge_engine

        return ge_engine.run(frames, suites, suite_parameters())
    if engine != "native":
        raise ValueError(f"engine must be 'ge' or 'native', not {engine!r}")
    out: list[Outcome] = []
    for name in sorted(frames):
        out.extend(run_native(name, suites[name], frames[name]))
    return out
