"""BIN problem forms: how each is drawn and how many distinct problems it has.

Operands of add, sub and cmp, the quotient of div, the big factor of mul and
the +/- operands of expressions are drawn uniformly from [min, max] (n =
max - min + 1 values). The small factor of mul, the divisor of div and the
factor of a multiplication inside an expression come from [2, small].

| form | prompt            | answer      | distinct prompts (lower bound)   |
|------|-------------------|-------------|----------------------------------|
| add  | A + B =           | A+B         | n^2                              |
| sub  | A - B =  (A >= B) | A-B         | n(n+1)/2                         |
| mul  | A × b =           | A*b         | n(small-1)                       |
| div  | A ÷ b =  (b | A)  | A/b         | n(small-1)                       |
| cmp  | A ? B             | < = or >    | n^2                              |
| cmpx | A op B ? C        | < = or >    | n^2 (A + B ? A+B alone)          |
| expr | t operands, + - × | value       | n^t (chains of + alone)          |

Every number of a problem, operands and answer alike, is then written in the
level's register: `width` bits with leading ⓪s (see `largest_number` for the
narrowest register a level's forms fit). Fixed-width registers line the bits of
the same weight up at fixed distances, which is what lets a small model learn the
carries (benchmarks/bin_notation.py: nano DIO on 7-bit addition, register against
plain notation; figures in benchmarks/RESULTS.md).

Forms never share a prompt (operator and operand counts differ), so a level's
count is the sum over its forms. `cmp` and `cmpx` make the two sides equal
one time in three, so '=' is as common as '<' and '>'. In `expr` a term is
added, subtracted (only while the running value stays >= 0) or, at most once
per expression, multiplied by a small factor; a sum or difference that gets
multiplied is put in parentheses, so ordinary precedence gives the value.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

from skills.bin.notation import to_circled as c

Form = Literal["add", "sub", "mul", "div", "cmp", "cmpx", "expr"]
FORMS: tuple[str, ...] = ("add", "sub", "mul", "div", "cmp", "cmpx", "expr")
NEEDS_SMALL = frozenset({"mul", "div", "expr", "cmpx"})

# (question, answer, decimal gloss)
Drawn = tuple[str, str, str]


def _relation(left: int, right: int) -> str:
    return "<" if left < right else ">" if left > right else "="


def draw_add(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    return f"{c(a)} + {c(b)} =", c(a + b), f"{a} + {b} = {a + b}"


def draw_sub(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    a, b = rng.randint(lo, hi), rng.randint(lo, hi)
    if a < b:
        a, b = b, a
    return f"{c(a)} - {c(b)} =", c(a - b), f"{a} - {b} = {a - b}"


def draw_mul(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    a, b = rng.randint(lo, hi), rng.randint(2, small)
    return f"{c(a)} × {c(b)} =", c(a * b), f"{a} × {b} = {a * b}"


def draw_div(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    q, b = rng.randint(lo, hi), rng.randint(2, small)
    return f"{c(q * b)} ÷ {c(b)} =", c(q), f"{q * b} ÷ {b} = {q}"


def draw_cmp(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    a = rng.randint(lo, hi)
    b = a if rng.random() < 1 / 3 else rng.randint(lo, hi)
    rel = _relation(a, b)
    return f"{c(a)} ? {c(b)}", rel, f"{a} {rel} {b}"


def draw_cmpx(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    a, op = rng.randint(lo, hi), rng.choice("+-×")
    if op == "×":
        b = rng.randint(2, small)
        value = a * b
    else:
        b = rng.randint(lo, hi)
        if op == "-" and a < b:
            a, b = b, a
        value = a + b if op == "+" else a - b
    if rng.random() < 1 / 3:
        other = value
    else:
        delta = rng.randint(1, max(1, value // 4))
        other = value + delta if rng.random() < 0.5 or value - delta < 0 else value - delta
    rel = _relation(value, other)
    return f"{c(a)} {op} {c(b)} ? {c(other)}", rel, f"{a} {op} {b} = {value} {rel} {other}"


def draw_expr(rng: random.Random, lo: int, hi: int, small: int, terms: int) -> Drawn:
    value = rng.randint(lo, hi)
    text, gloss = c(value), str(value)
    compound = False  # the text so far ends in + or - at top level
    multiplied = False
    for _ in range(terms - 1):
        op = rng.choice("+-×" if not multiplied else "+-")
        if op == "×":
            k = rng.randint(2, small)
            if compound:
                text, gloss = f"({text})", f"({gloss})"
            text, gloss = f"{text} × {c(k)}", f"{gloss} × {k}"
            value *= k
            multiplied = True
            compound = False
            continue
        t = rng.randint(lo, hi)
        if op == "-" and t > value:
            op = "+"
        value = value + t if op == "+" else value - t
        text, gloss = f"{text} {op} {c(t)}", f"{gloss} {op} {t}"
        compound = True
    return f"{text} =", c(value), f"{gloss} = {value}"


DRAW: dict[str, Callable[[random.Random, int, int, int, int], Drawn]] = {
    "add": draw_add, "sub": draw_sub, "mul": draw_mul, "div": draw_div,
    "cmp": draw_cmp, "cmpx": draw_cmpx, "expr": draw_expr,
}


def count_form(form: str, lo: int, hi: int, small: int, terms: int) -> int:
    """Distinct prompts of one form (a lower bound; see the table above)."""
    n = hi - lo + 1
    if form in ("add", "cmp", "cmpx"):
        return n * n
    if form == "sub":
        return n * (n + 1) // 2
    if form in ("mul", "div"):
        return n * (small - 1)
    if form == "expr":
        return n**terms
    raise ValueError(f"unknown form {form!r}")


def largest_number(form: str, lo: int, hi: int, small: int, terms: int) -> int:
    """The largest number (operand or answer) a form can write at these parameters."""
    if form == "add":
        return 2 * hi
    if form in ("sub", "cmp"):
        return hi
    if form in ("mul", "div"):
        return hi * small  # the product, or the dividend
    if form == "cmpx":
        value = max(2 * hi, hi * small)
        return value + value // 4  # the other side may be up to a quarter larger
    if form == "expr":
        # additions first, then the one multiplication, make the largest value
        return hi * (terms - 1) * small if small >= 2 else hi * terms
    raise ValueError(f"unknown form {form!r}")
