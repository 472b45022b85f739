"""``python -m analysis`` runs the hoctap command."""

from analysis.cli import run

run()
