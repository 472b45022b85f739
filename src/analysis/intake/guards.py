"""Limits checked before a raw file is parsed, so a hostile file is refused before memory blows.

* size: a file larger than ``max_file_mb`` is refused unread;
* zip bombs: an .xlsx (a zip archive) whose members would expand beyond ``max_unzipped_mb`` in
  total, or whose member expands more than ``max_ratio`` times its compressed size (beyond a small
  floor), is refused from its zip directory alone — nothing is decompressed.

Limits come from :class:`Limits` (defaults below) and may be raised with environment variables
``HOCTAP_MAX_FILE_MB``, ``HOCTAP_MAX_UNZIPPED_MB`` and ``HOCTAP_MAX_ZIP_RATIO``. XML entity tricks
are handled by the XML parser itself: openpyxl uses ``defusedxml`` when it is installed (it is a
dependency of this package), which refuses DTD entity declarations.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path


class GuardError(RuntimeError):
    """A file breaks a safety limit (message in Vietnamese, names the file)."""


@dataclass(frozen=True)
class Limits:
    """Safety limits for raw files.

    Attributes:
        max_file_mb: Largest file accepted, in MiB.
        max_unzipped_mb: Largest total uncompressed size of an .xlsx, in MiB.
        max_ratio: Largest compression ratio of one member bigger than ``ratio_floor_mb``.
        ratio_floor_mb: Members smaller than this (uncompressed, MiB) are not ratio-checked.
    """

    max_file_mb: float = 200.0
    max_unzipped_mb: float = 1024.0
    max_ratio: float = 200.0
    ratio_floor_mb: float = 5.0

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults overridden by ``HOCTAP_MAX_FILE_MB`` / ``HOCTAP_MAX_UNZIPPED_MB`` / ``HOCTAP_MAX_ZIP_RATIO``."""
        def get(name: str, default: float) -> float:
            value = os.environ.get(name)
            try:
                return float(value) if value else default
            except ValueError:
                return default

        d = cls()
        return cls(get("HOCTAP_MAX_FILE_MB", d.max_file_mb), get("HOCTAP_MAX_UNZIPPED_MB", d.max_unzipped_mb),
                   get("HOCTAP_MAX_ZIP_RATIO", d.max_ratio), d.ratio_floor_mb)


MIB = 1024 * 1024


def check_file(path: Path, rel: str, limits: Limits | None = None) -> None:
    """Refuse a raw file that breaks a limit, before any parsing.

    Raises:
        GuardError: Too large, or an .xlsx that is a zip bomb.

    Example:
        >>> check_file(Path(__file__), "guards.py")  # a small text file passes
    """
    limits = limits or Limits.from_env()
    size = path.stat().st_size
    if size > limits.max_file_mb * MIB:
        raise GuardError(f"{rel}: tệp quá lớn ({size / MIB:.0f} MiB > {limits.max_file_mb:.0f} MiB) — "
                         "từ chối đọc (đặt HOCTAP_MAX_FILE_MB để nâng giới hạn)")
    if path.suffix.lower() in (".xlsx", ".xlsm") and zipfile.is_zipfile(path):
        check_zip(path, rel, limits)


def check_zip(path: Path, rel: str, limits: Limits) -> None:
    """Refuse a zip whose directory promises an explosive expansion (nothing is decompressed).

    Raises:
        GuardError: Total or per-member expansion beyond the limits.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise GuardError(f"{rel}: tệp .xlsx bị hỏng ({exc})") from exc
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_mb * MIB:
        raise GuardError(f"{rel}: giải nén ra {total / MIB:.0f} MiB (> {limits.max_unzipped_mb:.0f} MiB) — "
                         "nghi là 'bom zip', từ chối đọc")
    for info in infos:
        if info.file_size > limits.ratio_floor_mb * MIB:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise GuardError(f"{rel}: phần '{info.filename}' nén {ratio:.0f} lần (> {limits.max_ratio:.0f}) — "
                                 "nghi là 'bom zip', từ chối đọc")
