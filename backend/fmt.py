"""The one formatter for numbers and durations, used everywhere.

Numbers: 999, 1,234, 1.50M, 2.00B. Durations: 42s, 3m 05s, 2h 10m, 3d 4h.
"""

from __future__ import annotations

import math

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))


def fmt_count(n: float | int | None) -> str:
    """Whole quantities: 999, 1,234, 999,999, 1.50M."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return "—"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for size, suffix in _SUFFIXES:
        if n >= size:
            return f"{sign}{n / size:.2f}{suffix}"
    return f"{sign}{int(round(n)):,}"


def fmt_float(x: float | None, digits: int = 2) -> str:
    """Measured quantities (loss, lr): fixed digits, scientific when tiny."""
    if x is None or not math.isfinite(x):
        return "—"
    if x != 0 and abs(x) < 10 ** -digits:
        return f"{x:.{max(digits - 1, 0)}e}"
    if abs(x) >= 1e6:
        return fmt_count(x)
    return f"{x:,.{digits}f}"


def fmt_percent(x: float | None, digits: int = 0) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x * 100:.{digits}f}%"


def fmt_duration(seconds: float | None) -> str:
    """42s, 3m 05s, 2h 10m, 3d 4h."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def fmt_stamp(ts: float | None) -> str:
    """YYYY-MM-DD HH:MM in local time."""
    import time

    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
