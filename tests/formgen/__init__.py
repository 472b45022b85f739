"""Test-only form generator: writers of synthetic report forms in every carrier format."""
