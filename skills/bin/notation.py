"""Circled binary notation: 5 -> ①⓪①, and in a 6-bit register ⓪⓪⓪①⓪①."""

from __future__ import annotations

import re

ZERO = "\u24ea"  # ⓪
ONE = "\u2460"  # ①
DIGITS = ZERO + ONE
_TO_CIRCLED = str.maketrans({"0": ZERO, "1": ONE})
_FROM_CIRCLED = str.maketrans({ZERO: "0", ONE: "1"})
CIRCLED_NUMBER = re.compile(f"[{DIGITS}]+")


def to_circled(n: int) -> str:
    """A non-negative integer in circled binary, no leading zeros (0 -> ⓪)."""
    if n < 0:
        raise ValueError(f"circled binary is for non-negative numbers (got {n})")
    return format(n, "b").translate(_TO_CIRCLED)


def from_circled(text: str) -> int:
    """Inverse of to_circled. Raises ValueError for anything but ⓪ and ①."""
    if not text or any(c not in DIGITS for c in text):
        raise ValueError(f"not circled binary: {text!r}")
    return int(text.translate(_FROM_CIRCLED), 2)


def in_register(text: str, width: int) -> str:
    """Every circled number in `text` written with `width` bits (leading ⓪s).

    A number wider than the register is an error, not silently kept: the level's
    width is checked against its largest number when the skill loads."""

    def pad(match: re.Match[str]) -> str:
        bits = match.group()
        if len(bits) > width:
            raise ValueError(f"{bits} does not fit a {width}-bit register")
        return ZERO * (width - len(bits)) + bits

    return CIRCLED_NUMBER.sub(pad, text)


def decoded(text: str) -> str:
    """Every circled number in `text` written in decimal ("①⓪⓪⓪①① + ①" -> "35 + 1")."""
    return CIRCLED_NUMBER.sub(lambda m: str(from_circled(m.group(0))), text)
