import json
import subprocess
import sys
from pathlib import Path


def realm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_init_then_status_shows_dio_level_1(tmp_path: Path) -> None:
    save = tmp_path / "slot"
    first = realm("init", "--save", str(save))
    assert first.returncode == 0, first.stderr
    listing = sorted(p.relative_to(save).as_posix() for p in save.rglob("*") if p.name != "realm.db-shm")
    again = realm("--save", str(save), "init")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert sorted(p.relative_to(save).as_posix() for p in save.rglob("*") if p.name != "realm.db-shm") == listing
    status = realm("status", "--save", str(save))
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("DIO — level 1")
    assert "Daemon: never started" in status.stdout
    data = json.loads(realm("status", "--json", "--save", str(save)).stdout)
    assert data["level"] == 1 and data["xp"] == 0 and data["daemon"]["alive"] is False


def test_realm_save_env_fallback(tmp_path: Path, monkeypatch) -> None:
    save = tmp_path / "via-env"
    monkeypatch.setenv("REALM_SAVE", str(save))
    assert realm("init").returncode == 0
    assert (save / "realm.yaml").is_file() and (save / "realm.db").is_file()


def test_missing_save_is_a_clear_error(tmp_path: Path) -> None:
    result = realm("status", "--save", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "no save slot" in result.stderr and "realm init" in result.stderr


def test_config_check_reports_problems(tmp_path: Path) -> None:
    save = tmp_path / "slot"
    realm("init", "--save", str(save))
    cfg = save / "realm.yaml"
    cfg.write_text(cfg.read_text().replace("learning_rate: 0.001", "learning_rate: nope"))
    result = realm("config", "check", "--save", str(save))
    assert result.returncode == 1
    assert "training.learning_rate" in result.stdout and "fix:" in result.stdout


def test_locked_key_needs_force(tmp_path: Path) -> None:
    import asyncio

    from backend.store import Store

    save = tmp_path / "slot"
    realm("init", "--save", str(save))

    async def lock() -> None:
        async with await Store.open(save / "realm.db") as store:
            await store.meta.set("config_lock", {"step": 300, "values": {"training.max_length": 512}})

    asyncio.run(lock())
    refused = realm("config", "set", "training.max_length", "1024", "--save", str(save))
    assert refused.returncode == 2 and "locked" in refused.stderr and "--force" in refused.stderr
    assert "max_length: 512" in (save / "realm.yaml").read_text()
    check = realm("config", "check", "--save", str(save))
    assert check.returncode == 0
    forced = realm("config", "set", "training.max_length", "1024", "--force", "--save", str(save))
    assert forced.returncode == 0, forced.stderr
    check = realm("config", "check", "--save", str(save))
    assert check.returncode == 1 and "locked since step 300" in check.stdout


def test_help_lists_commands() -> None:
    out = realm("--help").stdout
    for command in ("init", "status", "config"):
        assert command in out


def test_quest_list_names_inbox_files_that_are_not_taken(tmp_path: Path) -> None:
    save = tmp_path / "slot"
    assert realm("init", "--save", str(save)).returncode == 0
    (save / "inbox" / ".greetings.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    out = realm("quest", "list", "--save", str(save))
    assert out.returncode == 0, out.stderr
    assert "Not taken from inbox/: .greetings.jsonl (its name starts with a dot" in out.stdout


def test_service_unit_keeps_the_daemon_running(tmp_path: Path) -> None:
    import os

    from backend.service_unit import unit_name, unit_text
    from backend.slot import SaveSlot

    save = tmp_path / "my save"
    assert realm("init", "--save", str(save)).returncode == 0
    slot = SaveSlot(save)
    text = unit_text(slot, python="/venv/bin/python")
    assert f"ExecStart=/venv/bin/python -m backend.cli daemon run --save {save}" in text
    for line in ("Restart=on-failure", "WantedBy=default.target", "Type=simple", f"WorkingDirectory={save}"):
        assert line in text.splitlines()
    assert unit_name(slot).startswith("realm-my_save-") and unit_name(slot).endswith(".service")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-m", "backend.cli", "service", "install", "--print", "--save", str(save)],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "Nothing was installed" in out.stdout and "Restart=on-failure" in out.stdout
    assert "systemctl --user enable --now " + unit_name(slot) in out.stdout and "loginctl enable-linger" in out.stdout
    assert not (tmp_path / "config").exists()
    status = subprocess.run([sys.executable, "-m", "backend.cli", "service", "status", "--save", str(save)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert "Service: not installed" in status.stdout


async def test_status_says_plainly_that_a_daemon_died(tmp_path: Path) -> None:
    from backend.store import Store

    save = tmp_path / "slot"
    assert realm("init", "--save", str(save)).returncode == 0
    async with await Store.open(save / "realm.db") as store:
        await store.heartbeat.beat(999_999, 1.0, 2.0, "training")  # a beat long ago, never a clean stop
    out = realm("status", "--save", str(save))
    assert "Daemon: DEAD" in out.stdout and "realm daemon start" in out.stdout and "realm service install" in out.stdout


def test_doctor_says_what_training_will_run_with_and_refuses_an_impossible_choice(tmp_path: Path) -> None:
    save = tmp_path / "slot"
    assert realm("init", "--save", str(save)).returncode == 0
    out = realm("doctor", "--save", str(save))
    lines = {line.split()[1]: line for line in out.stdout.splitlines() if line[:1] in "✓!✗"}
    assert lines["training"].startswith("✓") and "sdpa attention, fp32 on cpu" in lines["training"]
    assert realm("config", "set", "training.attention", "flash_attention_2", "--save", str(save)).returncode == 0
    out = realm("doctor", "--save", str(save))
    assert out.returncode == 1
    bad = next(line for line in out.stdout.splitlines() if " training " in line)
    assert bad.startswith("✗") and "flash_attention_2 needs a CUDA device" in bad
    assert "fix: change training.precision / training.attention" in out.stdout


async def test_quest_show_is_a_readable_report_in_local_time_with_the_raw_record_behind_json(tmp_path: Path) -> None:
    import time

    from backend.store import Store

    save = tmp_path / "slot"
    assert realm("init", "--save", str(save)).returncode == 0
    created = 1_767_225_600.0  # printed in the machine's local time, as the TUI does
    report = {"summary": "2 of 53 lines are bad and were set aside", "verdict": "pass", "level": "standard",
              "policy": "drop", "quest_schema": "chat_sft_v1", "counts": {"lines": 53, "ok": 51, "bad": 2, "blank": 0},
              "bad_fraction": 2 / 53, "reason_counts": {"mixed_schema": 2},
              "bad_lines": [{"line": 7, "code": "mixed_schema", "message": "a prompt/completion line in a chat file",
                             "excerpt": '{"prompt": "x"}', "fix": "write it as messages, or remove it"}]}
    async with await Store.open(save / "realm.db") as store:
        await store.quests.create("greetings.jsonl", "quests/completed/00001-greetings.jsonl", state="completed",
                                  examples=51, validation=report, created_at=created)
    shown = realm("quest", "show", "1", "--save", str(save))
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert text.startswith("Quest #1 greetings.jsonl\n")
    assert f"Created   {time.strftime('%Y-%m-%d %H:%M', time.localtime(created))}" in text
    assert str(int(created)) not in text and "{'" not in text and '"counts"' not in text
    assert "2 of 53 lines are bad and were set aside" in text and "reasons: mixed_schema 2" in text
    assert "Bad lines (1 shown)" in text and "line 7 · mixed_schema: a prompt/completion line" in text
    assert "fix: write it as messages, or remove it" in text
    raw = json.loads(realm("quest", "show", "1", "--json", "--save", str(save)).stdout)
    assert raw["created_at"] == created and raw["validation"]["bad_lines"][0]["line"] == 7


def test_the_command_registry_names_what_each_module_registers() -> None:
    """`realm status` imports only cmd_status: the registry must list every command of every module."""
    import argparse
    import importlib

    from backend.cli import COMMANDS, COMMAND_MODULES, command_of

    for module in COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers(dest="command")
        importlib.import_module(module).register(sub)
        assert set(sub.choices) == {c for c, m in COMMANDS.items() if m == module}, module
    assert command_of(["--save", "/x", "status", "--json"]) == "status"
    assert command_of(["--save=/x", "quest", "list"]) == "quest"
    assert command_of(["--help"]) is None and command_of([]) is None
