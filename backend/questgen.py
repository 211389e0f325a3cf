"""Write quest files from a skill: JSONL lines plus the `.meta.json` lineage sidecar.

Used by `realm skill generate` and by the daemon's auto-generation (which mixes in
replay of the other skills: `write_mixed_quest`). Writes are
atomic: each file goes to a temporary name in the same folder, is fsynced and
renamed into place. The sidecar is written first, so a watcher that sees the
quest file always finds its lineage next to it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from contracts.quest_meta import QuestMeta, ReplayPart, meta_path_for
from skills.base import Problem, Skill, SkillError

QuestFormat = Literal["chat_sft_v1", "syllo_v1"]
CHUNK = 2000
FILE_MODE = 0o644

Progress = Callable[[int, int], None]  # (written so far, total)


def quest_filename(skill_id: str, level: int, seed: int) -> str:
    """A conventional name for a generated quest, e.g. bin-L02-s17.jsonl."""
    return f"{skill_id}-L{level:02d}-s{seed}.jsonl"


def line_for(problem: Problem, fmt: QuestFormat) -> str:
    """One JSONL line (without newline) of a problem in a quest schema."""
    if fmt == "chat_sft_v1":
        return json.dumps(problem.to_chat(), ensure_ascii=False)
    if problem.record is None:
        raise SkillError(f"skill '{problem.skill}' has no {fmt} records; use chat_sft_v1")
    return json.dumps(problem.record, ensure_ascii=False)


@dataclass(frozen=True)
class QuestPart:
    """`count` training problems of `skill` at `level` inside a quest."""

    skill: Skill
    level: int
    count: int


def write_quest(
    skill: Skill,
    level: int,
    count: int,
    seed: int,
    out_path: Path,
    fmt: QuestFormat = "chat_sft_v1",
    progress: Progress | None = None,
) -> QuestMeta:
    """Generate `count` training problems (level, seed) of `skill` into `out_path`.

    Returns the QuestMeta also written to `meta_path_for(out_path)`. Raises
    SkillError for a bad level or a format the skill does not write; nothing is
    left behind on failure.
    """
    return write_mixed_quest([QuestPart(skill, level, count)], seed, out_path, fmt, progress)


def write_mixed_quest(
    parts: list[QuestPart],
    seed: int,
    out_path: Path,
    fmt: QuestFormat = "chat_sft_v1",
    progress: Progress | None = None,
) -> QuestMeta:
    """A quest of the first part's skill and level with the other parts' problems (replay of
    other skills) shuffled in, deterministically for (parts, seed). One part writes its
    problems in stream order. The sidecar names the first part's generator, and the others
    under `replay`."""
    main = parts[0]
    for part in parts:
        check_part(part, fmt)
    total = sum(p.count for p in parts)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    info = main.skill.info
    meta = QuestMeta(
        schema=fmt, generator_id=info.generator_id, generator_version=info.generator_version,
        skill=info.id, level=main.level, seed=seed, count=total,
        replay=[ReplayPart(skill=p.skill.info.id, level=p.level, count=p.count, generator_id=p.skill.info.generator_id,
                           generator_version=p.skill.info.generator_version) for p in parts[1:]] or None,
    )
    tmp = _temp_path(out_path)
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            written = 0
            for batch in line_batches(parts, seed, fmt):
                fh.write("".join(line + "\n" for line in batch))
                written += len(batch)
                if progress:
                    progress(written, total)
            fh.flush()
            os.fsync(fh.fileno())
        atomic_write_text(meta_path_for(out_path), meta.dump())
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return meta


def check_part(part: QuestPart, fmt: QuestFormat) -> None:
    info = part.skill.info
    if fmt not in info.formats:
        raise SkillError(f"skill '{info.id}' writes {', '.join(info.formats)}, not {fmt}")
    if part.count < 1:
        raise SkillError(f"count must be at least 1 (got {part.count} for {info.id} level {part.level})")


def part_lines(part: QuestPart, seed: int, fmt: QuestFormat) -> Iterator[str]:
    written = 0
    while written < part.count:
        batch = part.skill.sample(part.level, min(CHUNK, part.count - written), seed, start=written)
        yield from (line_for(p, fmt) for p in batch)
        written += len(batch)


def line_batches(parts: list[QuestPart], seed: int, fmt: QuestFormat) -> Iterator[list[str]]:
    """The quest's lines in CHUNK-sized batches: the parts' streams, shuffled together (one
    part streams in order, without an index list the size of the quest)."""
    streams = [part_lines(p, seed, fmt) for p in parts]
    if len(parts) == 1:
        order: Iterator[int] = itertools.repeat(0, parts[0].count)
    else:
        mixed = [i for i, p in enumerate(parts) for _ in range(p.count)]
        random.Random(f"quest-mix|{seed}").shuffle(mixed)
        order = iter(mixed)
    while batch := [next(streams[i]) for i in itertools.islice(order, CHUNK)]:
        yield batch


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file, fsync and rename."""
    tmp = _temp_path(path)
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _temp_path(path: Path) -> Path:
    """A fresh hidden temporary file next to `path` (readable like a normal file)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return Path(name)
