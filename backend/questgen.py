"""Write quest files from a skill: JSONL lines plus the `.meta.json` lineage sidecar.

Used by `realm skill generate` and by the daemon's auto-generation. Writes are
atomic: each file goes to a temporary name in the same folder, is fsynced and
renamed into place. The sidecar is written first, so a watcher that sees the
quest file always finds its lineage next to it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from contracts.quest_meta import QuestMeta, meta_path_for
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
    info = skill.info
    if fmt not in info.formats:
        raise SkillError(f"skill '{info.id}' writes {', '.join(info.formats)}, not {fmt}")
    if count < 1:
        raise SkillError(f"count must be at least 1 (got {count})")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    meta = QuestMeta(
        schema=fmt, generator_id=info.generator_id, generator_version=info.generator_version,
        skill=info.id, level=level, seed=seed, count=count,
    )
    tmp = _temp_path(out_path)
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            written = 0
            while written < count:
                batch = skill.sample(level, min(CHUNK, count - written), seed, start=written)
                fh.write("".join(line_for(p, fmt) + "\n" for p in batch))
                written += len(batch)
                if progress:
                    progress(written, count)
            fh.flush()
            os.fsync(fh.fileno())
        atomic_write_text(meta_path_for(out_path), meta.dump())
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return meta


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
