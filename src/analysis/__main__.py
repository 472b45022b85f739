"""``python -m analysis`` runs the hoctap command."""

import sys

from analysis.cli import main

sys.exit(main())
