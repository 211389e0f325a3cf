"""Bad input never hurts the daemon; a file being written is taken only when complete."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from daemon.harness import chat_lines, make_save, store_of, wait_until
from validation.corpus import build_corpus

pytestmark = pytest.mark.slow


def fingerprint(path: Path) -> str:
    """Bytes of a regular file, target of a symlink, or the kind of anything else."""
    if path.is_symlink():
        return "symlink->" + os.readlink(path)
    if path.is_dir():
        return "dir:" + ",".join(sorted(p.name for p in path.iterdir()))
    if not path.is_file():
        return "special"
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_bad_corpus_each_fails_clearly_and_is_kept(tmp_path: Path, nano_base: Path) -> None:
    from daemon.harness import DaemonProcess

    save = await make_save(tmp_path / "save", nano_base, {"validation.level": "deep"})
    cases = build_corpus(tmp_path / "staging", aux=tmp_path / "aux")
    assert len({c.code for c in cases}) >= 25
    before = {c.path.name: fingerprint(c.path) for c in cases}
    # Clean the staging folder of control characters in names only through the move itself.
    for case in cases:
        if case.sidecar:
            os.replace(case.sidecar, save.inbox_dir / case.sidecar.name)
        os.replace(case.path, save.inbox_dir / case.path.name)
    daemon = DaemonProcess(save).start()
    store = await store_of(save)
    try:
        async def all_failed() -> bool:
            quests = await store.quests.list()
            return len(quests) == len(cases) and all(q.state == "failed" for q in quests)

        await wait_until(all_failed, 180, "every bad file to fail")
        assert daemon.alive(), daemon.tail()
        beat = await store.heartbeat.read()
        assert beat and beat.alive()
        by_name = {q.name: q for q in await store.quests.list()}
        from backend.daemon.moves import printable

        for case in cases:
            quest = by_name[printable(case.path.name)]
            assert quest.fail_reason and "fix" in quest.fail_reason, quest
            report = quest.validation or {}
            codes = {e["code"] for e in report.get("file_errors", [])} | set(report.get("reason_counts", {}))
            assert case.code in codes, (case.name, codes, quest.fail_reason)
            kept = save.root / quest.path
            assert kept.parent.name == "failed"
            assert fingerprint(kept) == before[case.path.name], case.name
        assert not any(save.inbox_dir.iterdir())
        assert await store.lineage.all()
    finally:
        await store.close()
        daemon.stop()


async def test_file_being_written_is_taken_only_when_complete(save, daemon) -> None:
    daemon.start()
    store = await store_of(save)
    try:
        await wait_until(lambda: store.heartbeat.read(), 30, "the daemon")
        data = chat_lines(300)
        chunks = [data[i:i + len(data) // 8] for i in range(0, len(data), len(data) // 8)]
        path = save.inbox_dir / "slow.jsonl"
        with open(path, "wb") as fh:
            for chunk in chunks:  # a slow writer: a chunk every 0.4 s, for ~3.5 s
                fh.write(chunk)
                fh.flush()
                time.sleep(0.4)
                assert await store.quests.list() == [], "taken while still being written"
        quest = await wait_until(lambda: _validated(store), 60, "the quest to be validated")
        assert quest.examples == 300 and quest.validation["counts"]["lines"] == 300
    finally:
        await store.close()
        daemon.stop()


async def _validated(store):
    quests = await store.quests.list()
    return quests[0] if quests and quests[0].state not in ("validating",) else None


def save_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): fingerprint(p) for p in sorted(root.rglob("*"))
            if not {"logs", "backups", "run"} & set(p.relative_to(root).parts) and not p.name.startswith("realm.db")}


async def test_quest_add_refuses_the_saves_own_files(save, daemon, tmp_path: Path) -> None:
    """`realm quest add` on the save's realm.yaml, database, hero or checkpoints is refused by
    the CLI and, asked directly, by the daemon: nothing moves and every later command works."""
    import subprocess
    import sys

    from backend.command_kinds import CommandKind
    from backend.commands_client import submit, wait_for

    daemon.start()
    store = await store_of(save)

    async def alive() -> bool:
        beat = await store.heartbeat.read()
        return bool(beat and beat.alive())

    await wait_until(alive, 60, "the daemon's heartbeat")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (folder / "q.jsonl").write_bytes(chat_lines(3))
    before = save_files(save.root)
    db_before = save.db_path.stat().st_ino
    targets = [save.config_path, save.db_path, save.root / "realm.db-wal", save.base_model_dir, save.root / "hero",
               save.checkpoints_dir, save.root, folder, Path("/dev/null")]
    for target in targets:
        if not os.path.lexists(target):
            continue
        cli = subprocess.run([sys.executable, "-m", "backend.cli", "quest", "add", "--save", str(save.root), str(target)],
                             capture_output=True, text=True, timeout=60)
        assert cli.returncode == 2, (target, cli.stdout, cli.stderr)
        assert "fix:" in cli.stderr, cli.stderr
        command_id = await submit(store, CommandKind.QUEST_ADD, {"path": str(target), "priority": "normal"},
                                  source="test")
        command = await wait_for(store, command_id, 30)
        assert command is not None and command.status == "failed", (target, command)
        assert "fix" in command.result["error"] or "\n" in command.result["error"]
    assert save_files(save.root) == before
    assert save.db_path.stat().st_ino == db_before and (folder / "q.jsonl").is_file()
    assert await store.quests.list() == []
    assert daemon.alive(), daemon.tail()
    stop = subprocess.run([sys.executable, "-m", "backend.cli", "daemon", "stop", "--save", str(save.root)],
                          capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
