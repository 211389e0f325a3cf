"""Lineage statistics per generator and per validator (name, version)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from backend.store.rows import Repository, dumps, loads

MAX_OFFENDERS = 20


@dataclass(frozen=True)
class LineageRow:
    kind: str
    name: str
    version: str
    validations: int
    passed: int
    failed: int
    lines_total: int
    lines_bad: int
    reasons: dict[str, int]
    offenders: list[dict[str, Any]]

    @property
    def fail_rate(self) -> float:
        return self.failed / self.validations if self.validations else 0.0


class Lineage(Repository):
    async def record(self, kind: str, name: str, version: str, *, passed: bool, lines_total: int, lines_bad: int,
                     reasons: dict[str, int], file: str) -> None:
        """Add one validation outcome; files with > 5 % bad lines become offenders."""
        async with self.store.transaction() as conn:
            row = await (await conn.execute(
                "SELECT reasons, offenders FROM lineage_stats WHERE kind = ? AND name = ? AND version = ?",
                (kind, name, version),
            )).fetchone()
            merged = Counter(loads(row["reasons"], {}) if row else {})
            merged.update(reasons)
            offenders = loads(row["offenders"], []) if row else []
            if lines_total and lines_bad / lines_total > 0.05:
                offenders = (offenders + [{"file": file, "bad": lines_bad, "total": lines_total}])[-MAX_OFFENDERS:]
            await conn.execute(
                "INSERT INTO lineage_stats(kind, name, version, validations, passed, failed, lines_total, lines_bad, reasons, offenders) "
                "VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT(kind, name, version) DO UPDATE SET "
                "validations = validations + 1, passed = passed + excluded.passed, failed = failed + excluded.failed, "
                "lines_total = lines_total + excluded.lines_total, lines_bad = lines_bad + excluded.lines_bad, "
                "reasons = excluded.reasons, offenders = excluded.offenders",
                (kind, name, version, int(passed), int(not passed), lines_total, lines_bad, dumps(dict(merged)), dumps(offenders)),
            )

    async def all(self) -> list[LineageRow]:
        rows = await self.store.fetchall("SELECT * FROM lineage_stats ORDER BY kind, name, version")
        return [
            LineageRow(r["kind"], r["name"], r["version"], r["validations"], r["passed"], r["failed"],
                       r["lines_total"], r["lines_bad"], loads(r["reasons"], {}), loads(r["offenders"], []))
            for r in rows
        ]
