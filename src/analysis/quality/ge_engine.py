"""Run the table suites with Great Expectations (ephemeral context, built in code).

Importing this module imports ``great_expectations`` and registers the custom expectations
(:mod:`analysis.quality.custom_expectations`) *before* any suite is built. :func:`build_suite`
refuses a suite that loads with fewer expectations than its JSON lists (GE drops unknown types
with only a log line).
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import great_expectations as gx
import pandas as pd

import analysis.quality.custom_expectations  # noqa: F401 - registers the custom expectations first
from analysis.quality.suites import ROW_COLUMN, Outcome, SuiteError, columns_of

_COUNTER = itertools.count()


def build_suite(suite: dict) -> gx.ExpectationSuite:
    """Build a GE suite from its JSON dict, checking that no expectation was dropped.

    Raises:
        SuiteError: GE dropped one or more expectations (unknown type or invalid kwargs).
    """
    expectations = []
    for i, e in enumerate(suite["expectations"]):
        item = {k: v for k, v in e.items() if k in ("type", "kwargs", "severity")}
        item["meta"] = {**(e.get("meta") or {}), "position": i}  # to match results to configs
        expectations.append(item)
    gx_logger = logging.getLogger("great_expectations.core.expectation_suite")
    level = gx_logger.level
    gx_logger.setLevel(logging.CRITICAL)  # the loss is reported below, in Vietnamese
    try:
        built = gx.ExpectationSuite(name=suite["name"], expectations=expectations,
                                    meta=suite.get("meta"), notes=suite.get("notes"))
    finally:
        gx_logger.setLevel(level)
    if len(built.expectations) != len(expectations):
        known = {e.expectation_type for e in built.expectations}
        lost = sorted({e["type"] for e in expectations} - known)
        raise SuiteError(f"Bộ kiểm tra '{suite['name']}' chỉ nạp được {len(built.expectations)}/"
                         f"{len(expectations)} kiểm tra (GE không biết: {', '.join(lost) or '?'})")
    return built


def _context():
    ctx = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # noqa: BLE001 - progress bars are cosmetic
        pass
    return ctx


def _positions(result: Any) -> tuple[int, ...]:
    rows = result.result.get("unexpected_index_list") or []
    out = set()
    for r in rows:
        if isinstance(r, dict) and ROW_COLUMN in r:
            out.add(int(r[ROW_COLUMN]))
        elif isinstance(r, int | float):
            out.add(int(r))
    return tuple(sorted(out))


def run(frames: dict[str, pd.DataFrame], suites: dict[str, dict],
        params: dict[str, Any]) -> list[Outcome]:
    """Validate each frame against its table's suite; return engine-independent outcomes.

    Each frame must carry :data:`~analysis.quality.suites.ROW_COLUMN` (0-based positions), which
    GE returns as the index of failing rows.
    """
    ctx = _context()
    source = ctx.data_sources.add_pandas(f"hoctap-{next(_COUNTER)}")
    out: list[Outcome] = []
    for name in sorted(frames):
        df = frames[name]
        spec = suites[name]
        built = ctx.suites.add(build_suite(spec))
        asset = source.add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe("all")
        vd = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}-{next(_COUNTER)}", data=batch, suite=built))
        res = vd.run(batch_parameters={"dataframe": df}, expectation_parameters=params,
                     result_format={"result_format": "COMPLETE",
                                    "unexpected_index_column_names": [ROW_COLUMN]})
        by_position = {int(r.expectation_config.meta["position"]): r for r in res.results}
        for i, config in enumerate(spec["expectations"]):
            r = by_position[i]
            needed = columns_of(config)
            missing = [c for c in needed if c not in df.columns]
            if config["type"] != "expect_column_to_exist" and missing:
                out.append(Outcome(name, config, False, skipped=True))
                continue
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise SuiteError(f"Kiểm tra {config['type']} của bảng {name} lỗi: "
                                 f"{r.exception_info.get('exception_message')}")
            observed = r.result.get("observed_value")
            out.append(Outcome(name, config, bool(r.success), () if r.success else _positions(r),
                               None if observed is None else str(observed)))
    return out
