"""Small pure text helpers shared by widgets: bars, sparklines, timestamps.

Numbers and durations always go through backend.fmt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from backend.fmt import fmt_stamp

SPARK = "▁▂▃▄▅▆▇█"


def bar(done: float, total: float, width: int) -> str:
    """A filled bar `width` cells wide: ██████░░░░."""
    width = max(1, width)
    frac = 0.0 if not total or total <= 0 else min(max(done / total, 0.0), 1.0)
    full = int(round(frac * width))
    return "█" * full + "░" * (width - full)


def sparkline(values: Sequence[float | None], width: int, lo: float | None = None, hi: float | None = None) -> str:
    """The last `width` values as ▁▂▃▄▅▆▇█ (empty string for no values). Missing values are spaces."""
    vals = list(values)[-width:] if width > 0 else []
    finite = [v for v in vals if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    lo = min(finite) if lo is None else lo
    hi = max(finite) if hi is None else hi
    span = hi - lo
    out = []
    for v in vals:
        if v is None or not math.isfinite(v):
            out.append(" ")
            continue
        idx = 0 if span <= 0 else int((min(max(v, lo), hi) - lo) / span * (len(SPARK) - 1) + 0.5)
        out.append(SPARK[idx])
    return "".join(out)


def clock(ts: float | None) -> str:
    """HH:MM in local time."""
    return "--:--" if ts is None else time.strftime("%H:%M", time.localtime(ts))


def stamp(ts: float | None) -> str:
    """YYYY-MM-DD HH:MM in local time."""
    return fmt_stamp(ts)


def short_sha(sha: str | None, n: int = 12) -> str:
    return (sha or "")[:n] or "—"


def clip(text: str, width: int) -> str:
    """Cut to `width` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
