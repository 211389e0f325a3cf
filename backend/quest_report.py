"""A quest's details as lines of text: its facts, validation report and bad lines. The TUI's
quest details and `realm quest show` both read them, so the two never say different things.

Each line is (style, text); style is "" or one of "b", "red", "yellow", "dim" (the TUI colours
the line, the CLI prints the text).
"""

from __future__ import annotations

from typing import Any

from backend.fmt import fmt_bytes, fmt_count, fmt_duration, fmt_percent, fmt_stamp
from backend.store.quests import Quest

Line = tuple[str, str]


def fact_rows(q: Quest) -> list[tuple[str, str]]:
    skill = f"{q.skill.upper()} L{q.level}" if q.skill else "—"
    return [
        ("State", q.state + (f" — {q.fail_reason}" if q.fail_reason else "")),
        ("Priority", q.priority),
        ("File", q.path),
        ("Schema", q.schema or "—"),
        ("Skill", skill),
        ("Examples", fmt_count(q.examples)),
        ("Source", q.source + (f" ({q.generator_id} {q.generator_version})" if q.generator_id else "")),
        ("Size", f"{fmt_bytes(q.size_bytes)} · sha256 {(q.sha256 or '')[:12] or '—'}"),
        ("Steps", f"{fmt_count(q.steps_done)}/{fmt_count(q.steps_total)} · attempts {q.attempts}"),
        ("Created", fmt_stamp(q.created_at)),
        ("Finished", fmt_stamp(q.finished_at)),
    ]


def report_lines(report: dict[str, Any] | None) -> list[Line]:
    if not report:
        return [("", "Not validated yet.")]
    counts = report.get("counts") or {}
    lines = [
        ("b", str(report.get("summary", ""))),
        ("", f"verdict {report.get('verdict')} · level {report.get('level')} · policy {report.get('policy')} · "
             f"schema {report.get('quest_schema') or '—'}"),
        ("", f"lines {fmt_count(counts.get('lines'))} · ok {fmt_count(counts.get('ok'))} · bad "
             f"{fmt_count(counts.get('bad'))} ({fmt_percent(report.get('bad_fraction'), 1)}) · blank "
             f"{fmt_count(counts.get('blank'))}"),
    ]
    if report.get("reason_counts"):
        lines.append(("", "reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(report["reason_counts"].items()))))
    tokens = report.get("tokens")
    if tokens:
        lines.append(("", f"tokens: {fmt_count(tokens.get('total'))} in all, mean {tokens.get('mean', 0):.0f}, "
                          f"p95 {fmt_count(tokens.get('p95'))}, max {fmt_count(tokens.get('max'))} of "
                          f"{fmt_count(tokens.get('max_length'))}"))
    for issue in report.get("file_errors") or []:
        lines.append(("red", f"✗ {issue.get('code', '')}: {issue.get('message', '')}"))
        lines.append(("red", f"   fix: {issue.get('fix', '')}"))
    for issue in report.get("warnings") or []:
        lines.append(("yellow", f"! {issue.get('code', '')}: {issue.get('message', '')}"))
    if report.get("duration_s") is not None:
        lines.append(("dim", f"validated by {report.get('validator')} {report.get('validator_version')} "
                             f"in {fmt_duration(report.get('duration_s'))}"))
    return lines


def bad_line_lines(bad: list[dict[str, Any]], excerpt_width: int = 70) -> list[Line]:
    out: list[Line] = []
    for b in bad:
        excerpt = " ".join(str(b.get("excerpt", "")).split())
        if len(excerpt) > excerpt_width:
            excerpt = excerpt[: excerpt_width - 1] + "…"
        out.append(("b", f"line {b.get('line')} · {b.get('code', '')}: {b.get('message', '')}"))
        out.append(("dim", f"   {excerpt}"))
        out.append(("", f"   fix: {b.get('fix', '')}"))
    return out


def plain_report(q: Quest) -> str:
    """`realm quest show`: the whole quest as readable text."""
    bad = (q.validation or {}).get("bad_lines") or []
    parts = [f"Quest #{q.id} {q.name}", *(f"  {k:<9} {v}" for k, v in fact_rows(q)), "", "Validation"]
    parts += [f"  {text}" for _, text in report_lines(q.validation)]
    parts += ["", f"Bad lines ({len(bad)} shown)" if bad else "Bad lines: none"]
    parts += [f"  {text}" for _, text in bad_line_lines(bad)]
    return "\n".join(parts)
