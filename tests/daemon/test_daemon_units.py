"""Pure pieces of the daemon: retention, the inbox's settle rule, sparring examples."""

from __future__ import annotations

import os
from pathlib import Path

from backend.daemon.intake import InboxWatcher
from backend.daemon.moves import move_with_sidecars, printable, safe_name
from backend.daemon.retention import choose_deletions
from backend.daemon.sparring import NO_ANSWER, sparring_examples, validate_sparring
from backend.skill_registry import load_skills
from backend.store.checkpoints import CheckpointRow


def row(step: int, val_loss: float | None = None, pinned: bool = False) -> CheckpointRow:
    return CheckpointRow(step, f"checkpoint-{step}", f"checkpoints/checkpoint-{step}", 0.0, None, None, None, None,
                         val_loss, None, None, None, {}, pinned, None)


def test_retention_keeps_last_best_and_protected() -> None:
    rows = [row(s, val_loss=1.0) for s in range(100, 1100, 100)]
    scores = {200: 0.9, 300: 0.5, 400: 0.9, 500: 0.1}
    doomed = {r.step for r in choose_deletions(rows, scores, keep_last=2, keep_best=2, protected={100, 600})}
    # kept: last two (1000, 900), best two by score then val loss then later step (400, 200), protected (100, 600)
    assert doomed == {300, 500, 700, 800}


def test_retention_never_removes_the_only_checkpoint() -> None:
    assert choose_deletions([row(5)], {}, keep_last=1, keep_best=0, protected=set()) == []


def test_inbox_takes_a_file_only_after_it_settles(tmp_path: Path) -> None:
    w = InboxWatcher(tmp_path, settle_s=1.0)
    f = tmp_path / "q.jsonl"
    f.write_text("a\n")
    assert w.poll(now=100.0) == []
    f.write_text("a\nb\n")  # still being written
    assert w.poll(now=100.9) == []
    assert w.poll(now=101.5) == []  # changed at 100.9: not settled yet
    assert w.poll(now=102.0) == [f]


def test_inbox_ignores_partial_names_and_waits_for_sidecar(tmp_path: Path) -> None:
    w = InboxWatcher(tmp_path, settle_s=1.0)
    for name in (".hidden.jsonl", "x.jsonl.part", "y.tmp", "z.jsonl.meta.json"):
        (tmp_path / name).write_text("{}")
    q = tmp_path / "q.jsonl"
    q.write_text("{}\n")
    w.poll(now=0.0)
    (tmp_path / "q.jsonl.meta.json").write_text('{"schema": "chat_sft_v1", "x": 1}')  # sidecar arrives later
    assert w.poll(now=1.5) == []
    assert w.poll(now=3.0) == [q]


def test_files_not_taken_from_the_inbox_are_reported_once_never_in_silence(tmp_path: Path) -> None:
    from backend.daemon.intake import LINGER_S, skipped_entries

    w = InboxWatcher(tmp_path, settle_s=1.0)
    for name in (".hidden.jsonl", "x.jsonl.part", "lonely.jsonl.meta.json"):
        (tmp_path / name).write_text("{}")
    w.poll(now=0.0)
    assert w.lingering(now=LINGER_S / 2) == []  # maybe still being written
    found = {p.name: why for p, why in w.lingering(now=LINGER_S + 1)}
    assert set(found) == {".hidden.jsonl", "x.jsonl.part", "lonely.jsonl.meta.json"}
    assert "starts with a dot" in found[".hidden.jsonl"] and "rename" in found[".hidden.jsonl"]
    assert "without its quest file lonely.jsonl" in found["lonely.jsonl.meta.json"]
    assert w.lingering(now=LINGER_S + 50) == []  # reported once
    (tmp_path / ".hidden.jsonl").write_text('{"changed": 1}')
    w.poll(now=200.0)
    assert [p.name for p, _ in w.lingering(now=200.0 + LINGER_S + 1)] == [".hidden.jsonl"]  # changed: again
    assert [n for n, _ in skipped_entries(tmp_path)] == [".hidden.jsonl", "lonely.jsonl.meta.json", "x.jsonl.part"]


def test_moves_keep_bytes_and_sidecars(tmp_path: Path) -> None:
    src = tmp_path / "in" / "a.jsonl"
    src.parent.mkdir()
    src.write_bytes(b"\x00\xffraw")
    side = src.with_name("a.jsonl.meta.json")
    side.write_text("{}")
    dest = move_with_sidecars(src, tmp_path / "out" / "00001-a.jsonl")
    assert dest.read_bytes() == b"\x00\xffraw" and dest.with_name("00001-a.jsonl.meta.json").exists()
    assert not src.exists() and not side.exists()


def test_names_are_made_safe_and_printable() -> None:
    assert safe_name("evil\n name\x1b.jsonl") == "evil__name_.jsonl"
    assert printable("a\x1bb") == "a\\x1bb"
    assert os.sep not in safe_name("../../etc/passwd")


def test_sparring_examples_never_train_the_wrong_answer() -> None:
    skill = load_skills()["bin"]
    problem, fresh = skill.sample(1, 2, 99)
    examples = sparring_examples(problem, "", fresh)
    assert [e["messages"][-1]["content"] for e in examples] == ["It is incorrect.", problem.answer, "It is correct."]
    assert NO_ANSWER in examples[0]["messages"][-2]["content"]
    for e in examples:
        assert [m["role"] for m in e["messages"]].count("assistant") == 1
    assert validate_sparring(skill, problem, "", fresh) == []
    assert validate_sparring(skill, problem, problem.answer, fresh)  # a right answer is not a sparring mistake


def test_generated_quests_are_sized_by_tokens_so_every_skill_trains_as_long(nano_base: Path) -> None:
    from backend.quest_size import examples_for_tokens, mean_example_tokens
    from backend.skill_registry import load_skills

    skills = load_skills()
    tokenizer = nano_base / "tokenizer.json"
    bin_n = examples_for_tokens(skills["bin"], 1, 200_000, tokenizer)
    sy_n = examples_for_tokens(skills["sy"], 1, 200_000, tokenizer)
    assert bin_n > 4 * sy_n  # BIN examples are short, SY examples long
    bin_tokens = bin_n * mean_example_tokens(skills["bin"], 1, tokenizer)
    sy_tokens = sy_n * mean_example_tokens(skills["sy"], 1, tokenizer)
    assert abs(bin_tokens - 200_000) < 1_000 and abs(sy_tokens - 200_000) < 1_000
    # without a tokenizer on disk (a hub id not fetched yet) a byte estimate still sizes the quest
    assert 1_000 < examples_for_tokens(skills["bin"], 1, 200_000, None) < 20_000
    assert examples_for_tokens(skills["bin"], 1, 10, tokenizer) == 50  # never a near-empty quest
    assert examples_for_tokens(skills["sy"], 1, 1_000, tokenizer, minimum=1) < 10  # a small rehearsal part stays small


def test_free_name_never_overwrites_a_file_or_its_sidecars(tmp_path) -> None:
    from backend.daemon.moves import free_name

    dest = tmp_path / "00001-q.jsonl"
    assert free_name(dest) == dest
    dest.write_text("old")
    assert free_name(dest) == tmp_path / "00001-q.2.jsonl"
    (tmp_path / "00001-q.2.jsonl.meta.json").write_text("{}")
    assert free_name(dest) == tmp_path / "00001-q.3.jsonl"


async def test_doctor_reports_unlisted_checkpoints_and_unfinished_saves(tmp_path, nano_base) -> None:
    from backend.doctor import check_checkpoint_folders
    from daemon.harness import make_save
    from node.node_helpers import make_checkpoint

    save = await make_save(tmp_path / "save", nano_base)
    assert check_checkpoint_folders(save).ok
    make_checkpoint(nano_base, save.checkpoints_dir, 40)
    (save.checkpoints_dir / ".tmp-checkpoint-50-x-1").mkdir()
    check = check_checkpoint_folders(save)
    assert not check.ok and check.warn_only
    assert "1 unfinished save folder(s)" in check.detail and ".tmp-checkpoint-50-x-1" in check.detail
    assert "1 complete checkpoint(s) not listed by the save (step 40)" in check.detail
    assert "realm daemon start" in check.fix


def test_the_loop_never_builds_on_a_checkpoint_whose_loss_exploded(tmp_path: Path, nano_base: Path) -> None:
    """Measured before: a stale sparring set took train loss from 0.0008 to 20.1 in 2 steps and the
    next quest started from that checkpoint. Now the champion is the start, steps go on."""
    import hashlib
    import json

    from backend.config.model import RealmConfig
    from backend.daemon.jobs import start_point
    from backend.slot import SaveSlot
    from backend.store.quests import Quest
    from node.node_helpers import make_checkpoint

    slot = SaveSlot(tmp_path / "save")
    slot.checkpoints_dir.mkdir(parents=True)
    losses = {100: (0.02, 0.03), 200: (0.0008, 0.002), 300: (20.1, 0.4)}  # step: (train loss, running loss)
    folders = {}
    for step, (loss, ema) in losses.items():
        folders[step] = make_checkpoint(nano_base, slot.checkpoints_dir, step)
        state = folders[step] / "resume_state.pt"
        state.write_bytes(b"state")
        ledger_file = folders[step] / ".ledger.json"
        ledger = json.loads(ledger_file.read_text())
        ledger["train_loss"] = loss
        ledger["files"]["resume_state.pt"] = {"sha256": hashlib.sha256(b"state").hexdigest(), "size": 5}
        ledger["resume"] = {"job_id": "quest-7", "init_step": 0, "job_step": step, "total_steps": 300, "epoch": 0,
                            "step_in_epoch": step, "data_fingerprint": "x", "loss_ema": ema}
        ledger_file.write_text(json.dumps(ledger))
    quest = Quest(**{**{f: None for f in Quest.__dataclass_fields__}, "id": 8, "name": "next.jsonl", "path": "",
                     "state": "processing", "priority": "normal", "source": "generator", "attempts": 0})
    config = RealmConfig()
    start = start_point(slot, config, quest, champion_step=100)
    assert start.continue_from == str(folders[100]) and start.init_step == 300  # the champion, steps go on
    assert start.avoided and "step 300" in start.avoided and "20.1" in start.avoided
    start = start_point(slot, config, quest, champion_step=None)  # no champion: the newest sound one
    assert start.continue_from == str(folders[200]) and start.init_step == 300
    folders[300].rename(folders[300].with_name(".gone"))  # without the exploded one: the newest, as always
    start = start_point(slot, config, quest, champion_step=100)
    assert start.continue_from == str(folders[200]) and start.init_step == 200 and start.avoided is None


def test_the_daemon_log_rotates_at_its_size_and_keeps_http_chatter_out(tmp_path: Path) -> None:
    import logging
    import subprocess
    import sys

    from backend.config.model import DaemonConfig
    from backend.daemon.logs import setup_daemon_logging

    log_file = tmp_path / "logs" / "daemon.log"
    config = DaemonConfig(log_max_mb=0.01, log_files_kept=3)  # 10 KB
    handler = setup_daemon_logging(log_file, config, to_stderr=False)
    try:
        for i in range(2000):
            logging.getLogger("httpx").info('HTTP Request: GET http://127.0.0.1:1/health "HTTP/1.1 200 OK"')
            logging.getLogger("realm.daemon").info("event %05d", i)
        handler.flush()
        files = sorted(p.name for p in log_file.parent.iterdir())
        assert files == ["daemon.log", "daemon.log.1", "daemon.log.2", "daemon.log.3"]
        assert all(p.stat().st_size <= int(0.01 * 1024 * 1024) for p in log_file.parent.iterdir())
        text = log_file.read_text()
        assert "event 01999" in text and "HTTP Request" not in text
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    save = tmp_path / "save"
    subprocess.run([sys.executable, "-m", "backend.cli", "init", "--save", str(save)], check=True, capture_output=True)
    (save / "logs").mkdir(exist_ok=True)
    (save / "logs" / "daemon.log").write_text("".join(f"line {i}\n" for i in range(100)))
    out = subprocess.run([sys.executable, "-m", "backend.cli", "logs", "-n", "3", "--save", str(save)],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.splitlines() == ["line 97", "line 98", "line 99"], out.stderr
