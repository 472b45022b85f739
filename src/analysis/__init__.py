"""hoctap: study coverage and quality classification analysis for Party committees.

The public entry points are the modules themselves (``analysis.metrics``, ``analysis.store``,
``analysis.ratings`` …) and the ``hoctap`` command (``analysis.cli``). Importing this package
does nothing but define the version.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hoctap")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
