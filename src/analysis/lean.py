"""Start-up of the ``hoctap`` processes without optional imports they never use.

jsonschema (which nbformat imports, hence papermill and every report) registers an IRI format
checker when the optional package ``rfc3987-syntax`` is installed, and that package compiles an
Earley grammar when it is imported: 1,8 s on a 2-core machine, paid by every ``hoctap report``.
``rfc3987-syntax`` is installed only for JupyterLab (jupyter-events asks for
``jsonschema[format-nongpl]``); no notebook schema and no expectation suite uses the ``iri``
formats. Importing this module (the ``hoctap`` command and its batch workers do, before anything
else) makes that optional import fail cleanly in this process only, as if the package were absent;
the JupyterLab server and analysts' kernels are untouched.
"""

from __future__ import annotations

import sys

#: Optional modules the hoctap processes do without (module name → why).
SKIPPED = {"rfc3987_syntax": "IRI format checks of jsonschema (1,8 s grammar build at import)"}


def skip_optional_imports() -> None:
    """Mark :data:`SKIPPED` as unavailable unless already imported (idempotent)."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type] - None makes `import name` raise ImportError


skip_optional_imports()
