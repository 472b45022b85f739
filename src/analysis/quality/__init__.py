"""The pre-submission data-quality gate: GE suites, cross-table and over-time checks, reports."""
