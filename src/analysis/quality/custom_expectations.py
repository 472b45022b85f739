"""Custom Great Expectations used by the suites in ``expectations/``.

Importing this module registers the classes with GE. It must be imported before any suite is
loaded: GE drops an expectation whose type it does not know with only a log line, and the suite
would then pass silently (:mod:`analysis.quality.ge_engine` imports it first and checks the count).

This module imports ``great_expectations`` (2–10 s): import it only where GE validation runs.
"""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    MulticolumnMapMetricProvider,
    multicolumn_condition_partial,
)

from analysis.quality.rules import rating_valid_mask

#: Type names (snake case, as written in the suite JSON) of the custom expectations defined here.
CUSTOM_TYPES = ("expect_rating_valid_for_scheme_of_year",)


class MulticolumnRatingValidForYear(MulticolumnMapMetricProvider):
    """Row condition: the rating is a level of the scheme in force in its year."""

    condition_metric_name = "multicolumn_values.rating_valid_for_scheme_of_year"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser",
                             "ignore_row_if")
    condition_value_keys = ("subject",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):  # noqa: N805 - GE's metric signature
        return rating_valid_mask(column_list, kwargs.get("subject", "unit"))


class ExpectRatingValidForSchemeOfYear(MulticolumnMapExpectation):
    """Expect ``rating_code`` (and ``rating_rank``) to be a level of the scheme of ``year``.

    ``column_list`` is ``[year, scheme_id, rating_code, rating_rank]``; ``subject`` is ``unit`` or
    ``member``. See :func:`analysis.quality.rules.rating_valid_mask`.
    """

    subject: str = "unit"
    ignore_row_if: str = "never"

    map_metric = "multicolumn_values.rating_valid_for_scheme_of_year"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly", "subject")
    args_keys: ClassVar[tuple[str, ...]] = ("column_list", "subject")
