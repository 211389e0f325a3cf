"""realm skill list|info|sample|eval-set|generate|serve."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from backend.cli.common import add_command
from backend.errors import UserFacingError
from backend.fmt import fmt_count
from skills.base import Problem, Skill, SkillError

# backend.skill_registry (and httpx with it) is imported inside the commands, so that
# building the `realm` parser stays quick.

FORMATS = ("chat_sft_v1", "syllo_v1")
PROGRESS_FROM = 5000  # show progress for counts at least this large


def register(sub: Any) -> None:
    group = sub.add_parser("skill", help="list, sample, generate and serve skills", description="list, sample, generate and serve skills")
    inner = group.add_subparsers(dest="skill_command", metavar="ACTION")

    p = _action(inner, "list", cmd_list, "list the skills (skills/*.yaml)")
    p = _action(inner, "info", cmd_info, "show a skill and every level's parameters")
    p.add_argument("skill", help="skill id, e.g. bin")

    p = _action(inner, "sample", cmd_sample, "show training problems with their golden answers")
    _skill_level(p)
    p.add_argument("--count", type=int, default=5, help="problems to show (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the stream (default 0)")

    p = _action(inner, "eval-set", cmd_eval_set, "show a level's fixed evaluation problems")
    _skill_level(p)

    p = _action(inner, "generate", cmd_generate, "write a quest file (JSONL) and its .meta.json lineage sidecar")
    _skill_level(p)
    p.add_argument("--count", type=int, required=True, help="examples to write")
    p.add_argument("--out", type=Path, required=True, help="quest file to write, e.g. quest.jsonl")
    p.add_argument("--seed", type=int, default=0, help="seed of the stream (default 0)")
    p.add_argument("--format", choices=FORMATS, default="chat_sft_v1", help="line schema (default chat_sft_v1)")

    p = _action(inner, "serve", cmd_serve, "serve a built-in skill over the skill API (HTTP)")
    p.add_argument("skill", help="skill id, e.g. sy")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")

    group.set_defaults(func=lambda args: (group.print_help(), 0)[1])


def _action(inner: Any, name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
    p = add_command(inner, name, func, help_text)
    p.add_argument("--skills-dir", type=Path, default=None, metavar="PATH",
                   help="folder of skill files (default: $REALM_SKILLS_DIR, else the built-in skills/)")
    return p


def _skill_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("skill", help="skill id, e.g. bin")
    p.add_argument("--level", type=int, required=True, help="skill level")


def _skills(args: argparse.Namespace) -> dict[str, Skill]:
    from backend.skill_registry import load_skills

    return load_skills(args.skills_dir)


def _skill(args: argparse.Namespace, with_level: bool = True) -> Skill:
    from backend.skill_registry import check_level, get_skill

    skill = get_skill(_skills(args), args.skill)
    if with_level:
        _call(lambda: check_level(skill, args.skill, args.level))
    return skill


def cmd_list(args: argparse.Namespace) -> int:
    skills = _skills(args)
    if not skills:
        print("no skills installed")
        return 0
    for skill_id, skill in skills.items():
        try:
            info = skill.info
        except SkillError as exc:
            print(f"  {skill_id:<6} (unavailable: {exc})")
            continue
        where = getattr(skill, "url", None) or "built-in"
        print(f"{info.icon} {info.id:<6} {info.name:<18} {info.max_level:>3} levels   "
              f"{info.generator_id} v{info.generator_version} ({where})")
        print(f"    {_wrap(info.description, 76, '    ')}")
        print(f"    level 1: {info.level_summary(1)}")
        print(f"    level {info.max_level}: {info.level_summary(info.max_level)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = _call(lambda: _skill(args, with_level=False).info)
    print(f"{info.icon} {info.id.upper()} · {info.name} · {info.max_level} levels · "
          f"{info.generator_id} v{info.generator_version} · formats {', '.join(info.formats)}")
    print(f"  {_wrap(info.description, 78, '  ')}")
    print(f"  evaluation: {info.eval_per_level} problems per level")
    for level in info.levels:
        print(f"  {level.level:>3}  {level.summary}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    if not 1 <= args.count <= 1000:
        raise UserFacingError(f"--count {args.count} is out of range", fix="show 1 to 1000 problems")
    skill = _skill(args)
    problems = _call(lambda: skill.sample(args.level, args.count, args.seed))
    _show(skill, args.level, problems, f"training sample, seed {args.seed}")
    return 0


def cmd_eval_set(args: argparse.Namespace) -> int:
    skill = _skill(args)
    _show(skill, args.level, _call(lambda: skill.eval_set(args.level)), "evaluation set (fixed)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from backend.questgen import write_quest

    if args.count < 1:
        raise UserFacingError(f"--count {args.count} must be at least 1")
    skill = _skill(args)
    started = time.perf_counter()
    show = args.count >= PROGRESS_FROM

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\r  {fmt_count(done)} / {fmt_count(total)} ({done / total:.0%})", end="", file=sys.stderr, flush=True)

    meta = _call(lambda: write_quest(skill, args.level, args.count, args.seed, args.out, args.format, progress))
    if show:
        print(file=sys.stderr)
    took = time.perf_counter() - started
    print(f"wrote {fmt_count(meta.count)} {meta.quest_schema} examples of {meta.skill} level {meta.level} "
          f"(seed {meta.seed}) to {args.out} in {took:.1f}s; lineage in {args.out.name}.meta.json")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from backend.skill_api.server import serve

    skill = _skill(args, with_level=False)
    if getattr(skill, "url", None):
        raise UserFacingError(f"skill '{args.skill}' is itself remote ({skill.url})",  # type: ignore[attr-defined]
                              fix="serve a built-in skill (generator.module)")
    info = skill.info
    print(f"serving {info.icon} {info.id} ({info.name}) on http://{args.host}:{args.port}  (Ctrl-C stops)", flush=True)
    serve(skill, host=args.host, port=args.port)
    return 0


def _call(fn: Any) -> Any:
    """Run a skill call; a SkillError (bad level, unreachable remote skill) becomes a UserFacingError."""
    try:
        return fn()
    except SkillError as exc:
        raise UserFacingError(str(exc)) from exc


def _show(skill: Skill, level: int, problems: list[Problem], what: str) -> None:
    info = skill.info
    print(f"{info.icon} {info.id.upper()} · {info.name} · level {level}: {info.level_summary(level)}")
    print(f"  {what}, {len(problems)} problem(s)\n")
    for n, problem in enumerate(problems, 1):
        print(f"#{n}  {problem.id}")
        for message in problem.messages:
            label = "ask" if message.role == "user" else message.role
            print(f"    {label:<7} {_indent(message.content, 12)}")
        print(f"    {'answer':<7} {_indent(problem.answer, 12)}")
        if problem.note:
            print(f"    {'':<7} ({problem.note})")
        print()


def _indent(text: str, width: int) -> str:
    return text.replace("\n", "\n" + " " * width)


def _wrap(text: str, width: int, indent: str) -> str:
    import textwrap

    return ("\n" + indent).join(textwrap.wrap(" ".join(text.split()), width))
