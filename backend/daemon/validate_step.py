"""Running the configured validation on a quest file (in a thread) and writing the
quarantine sidecar and clean training copy when bad lines are set aside."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.daemon.context import DaemonContext
from backend.daemon.jobs import TRAIN_COPY_SUFFIX
from backend.hero import tokenizer_file
from backend.store.quests import Quest
from backend.validation import (
    QuarantineError,
    ValidationLimits,
    ValidationReport,
    load_sidecar,
    validate_quest,
    write_quarantine,
)

QUARANTINE_SUFFIX = ".quarantine.jsonl"


@dataclass
class Verdict:
    accepted: bool
    reason: str
    report: dict[str, Any]
    level: str
    schema: str | None
    examples: int
    lines_total: int
    lines_bad: int
    validator_name: str
    validator_version: str
    reason_counts: dict[str, int] = field(default_factory=dict)
    generator_id: str | None = None
    generator_version: str | None = None
    skill: str | None = None
    skill_level: int | None = None


def reason_of(report: ValidationReport) -> str:
    """The report's first problem, with its fix, for the quest list."""
    if report.file_errors:
        first = report.file_errors[0]
        return f"{first.message} — fix: {first.fix}"
    return report.summary


def sidecar_facts(path: Path) -> dict[str, Any]:
    side = load_sidecar(path)
    meta = side.meta if side else None
    if meta is None:
        return {}
    return {"generator_id": meta.generator_id, "generator_version": meta.generator_version,
            "skill": meta.skill, "skill_level": meta.level}


def quarantine(report: ValidationReport, path: Path) -> str | None:
    """Write the sidecar and clean copy; None when fine, else why the quest cannot train."""
    try:
        write_quarantine(report, path, quarantine_path=path.with_name(path.name + QUARANTINE_SUFFIX),
                         clean_path=path.with_name(path.name + TRAIN_COPY_SUFFIX))
    except QuarantineError as exc:
        return str(exc)
    return None


def limits_for(ctx: DaemonContext) -> ValidationLimits:
    """The validation limits: the same duplicate rule for generated quests and the player's own."""
    return ValidationLimits(duplicates=ctx.config.validation.duplicates)  # one rule for every quest


def validate_sync(ctx: DaemonContext, path: Path) -> tuple[ValidationReport, str | None]:
    v = ctx.config.validation
    report = validate_quest(path, level=v.level, policy=v.policy, max_bad_fraction=v.max_bad_fraction,
                            max_length=ctx.config.training.max_length,
                            tokenizer_file=tokenizer_file(ctx.slot, ctx.config), limits=limits_for(ctx))
    problem = quarantine(report, path) if report.verdict == "quarantine" else None
    return report, problem


async def run_validation(ctx: DaemonContext, quest: Quest, path: Path) -> Verdict:
    facts = await asyncio.to_thread(sidecar_facts, path) if not path.is_symlink() and path.is_file() else {}
    report, problem = await asyncio.to_thread(validate_sync, ctx, path)
    accepted = report.accepted and problem is None
    return Verdict(
        accepted=accepted, reason=problem or reason_of(report), report=report.model_dump(mode="json"),
        level=report.level, schema=report.quest_schema, examples=report.counts.ok,
        lines_total=report.counts.lines, lines_bad=report.counts.bad, validator_name=report.validator,
        validator_version=report.validator_version, reason_counts=dict(report.reason_counts), **facts,
    )
