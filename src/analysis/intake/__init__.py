"""Intake: raw workbooks and CSV files as received -> staged canonical tables + quarantine."""
