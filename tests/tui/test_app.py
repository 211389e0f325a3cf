"""The app as a whole: a new save, modes, help, the palette, 'While you were away',
starting the daemon, switching saves, a broken realm.yaml, themes."""

import json

from backend.command_kinds import CommandKind
from backend.daemon.control import log_path, lock_path
from backend.daemon.lock import DaemonLock
from backend.slot import SaveSlot
from backend.store import Store
from game.data.state import TuiState, load_state, save_state
from game.screens.ask_path import AskPathScreen
from game.screens.away import AwayScreen
from game.screens.fatal import FatalScreen
from game.screens.guild import GuildScreen
from game.screens.help import HelpScreen
from game.screens.oracle import OracleScreen
from game.screens.quests import QuestsScreen
from game.screens.settings import SettingsScreen
from game.screens.tavern import TavernScreen
from game.screens.vault import VaultScreen
from tui_helpers import Posted, commands_sent, make_app, press, screen_text, settle, wait_until


async def test_a_new_save_is_created_and_the_tavern_opens(tmp_path) -> None:
    slot = SaveSlot(tmp_path / "fresh")
    app = make_app(slot)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert slot.exists()
        text = screen_text(app)
        assert "DIO  Level 1" in text and "XP ░░░░░░░░ 0/1,000" in text
        assert "💤 DIO rests at the tavern." in text
        assert "🏰 The realm is founded for DIO" in text
        assert not isinstance(app.screen, AwayScreen)  # never looked before: nothing to summarise
    assert load_state(slot.tui_state_path).last_seen_event_id == 1


async def test_mode_keys_and_help(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        for key, screen in (("q", QuestsScreen), ("v", VaultScreen), ("o", OracleScreen), ("g", GuildScreen),
                            ("s", SettingsScreen), ("t", TavernScreen)):
            await press(app, pilot, key)
            assert isinstance(app.screen, screen), key
            if key == "o":
                await press(app, pilot, "escape")  # the prompt has the focus: esc leaves it
        for key in ("question_mark", "f1"):
            await press(app, pilot, key)
            assert isinstance(app.screen, HelpScreen)
            text = screen_text(app)
            assert "Realm of Training: numbers, screens and keys" in text and "What the numbers mean" in text
            assert "ATK" in text and "of 100 / that skill's smoothed" in text
            await press(app, pilot, "escape")
            assert isinstance(app.screen, TavernScreen)


async def test_palette_holds_every_action(seeded) -> None:
    from game.palette import pick_checkpoint

    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("New quest…", "Generate a quest…", "Pause battle", "Resume battle", "Stop battle…", "Checkpoint now",
                       "Promote a checkpoint…", "Load a checkpoint on the node…", "Change strategy: equal",
                       "Change strategy: focus", "Change strategy: weighted", "Change strategy: catch-up",
                       "VRAM calculator", "Switch save…", "Shut the daemon down…", "Open Quest board", "Open Oracle",
                       "Help", "Theme", "Quit"):
            assert wanted in titles, wanted
        await press(app, pilot, "ctrl+p")
        await pilot.press(*"checkpoint now")
        await pilot.pause(0.5)
        await press(app, pilot, "enter")
        await wait_until(pilot, lambda: bool(app.workers))
        await pilot.pause(0.3)
        assert await commands_sent(seeded) == [(CommandKind.CHECKPOINT_NOW, {})]
        pick_checkpoint(app, "promote")
        await settle(app, pilot)
        await press(app, pilot, "down", "down", "enter")  # 1,500 -> 1,200 -> 800
        assert "Promote checkpoint-800 to champion?" in screen_text(app)
        await press(app, pilot, "y")
        assert (await commands_sent(seeded))[1:] == [(CommandKind.PROMOTE, {"step": 800})]


async def test_while_you_were_away(seeded) -> None:
    save_state(seeded.tui_state_path, TuiState(last_seen_event_id=5, last_seen_at=1_767_225_000.0))
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, AwayScreen)
        text = screen_text(app)
        assert "While you were away" in text
        assert "⬆ 1 level(s) gained — now level 2" in text
        assert "✦ 1,500 XP" in text and "💰 100 gold" in text
        assert "🏆 1 quest(s) completed: bin-l1-0001.jsonl" in text
        assert "✨ BIN mastered level 1" in text and "👑 new champion: checkpoint-1200" in text
        assert "🏅 ⚔ First Blood" in text
        await press(app, pilot, "enter")
        assert isinstance(app.screen, TavernScreen)
    async with await Store.open(seeded.db_path) as store:
        assert load_state(seeded.tui_state_path).last_seen_event_id == await store.events.last_id()


async def test_a_restore_is_explained_once_in_the_tui_and_in_realm_status(seeded) -> None:
    import subprocess
    import sys

    from backend.event_kinds import EventKind

    async with await Store.open(seeded.db_path) as store:
        await store.events.append(EventKind.DATABASE_RESTORED, {
            "reason": "database disk image is malformed", "moved_to": "backups/damaged/realm.db.x",
            "backup": "backups/realm-20260101-120000.db", "backup_time": 1_767_268_800.0,
            "lost": "changes made in the last 42 min (after the backup of 2026-01-01 12:00)"})
        await store.events.append(EventKind.WARNING, {"source": "vault", "code": "checkpoints_recorded",
                                                      "message": "recorded 2 checkpoint(s) found on disk"})
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, AwayScreen)
        await wait_until(pilot, lambda: "restored" in screen_text(app))
        text = screen_text(app)
        assert "Your save was restored from a backup" in text and "image is malformed" in text
        assert "realm-20260101-120000.db" in text and "last 42 min" in text
        assert "Recovered from disk: recorded 2 checkpoint(s)" in text
        await press(app, pilot, "enter")
    app = make_app(seeded)  # told once
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert not isinstance(app.screen, AwayScreen)
    status = subprocess.run([sys.executable, "-m", "backend.cli", "status", "--save", str(seeded.root)],
                            capture_output=True, text=True, timeout=120)
    assert "Restored:" in status.stdout and "last 42 min" in status.stdout, status.stdout + status.stderr


async def test_no_summary_when_nothing_happened(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, TavernScreen)


async def test_daemon_that_cannot_start_says_why(seeded, monkeypatch) -> None:
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        await settle(app, pilot)
        # the daemon inherits the environment: this override makes its settings invalid, so it exits at once
        monkeypatch.setenv("REALM_TRAINING__LEARNING_RATE", "-5")
        app.start_daemon_worker()  # what opening the app does when start_daemon is on
        await wait_until(pilot, lambda: bool(app.daemon_note), timeout=60)
        assert app.daemon_note.startswith("cannot start: the daemon exited at once")
        error = [t for t in posted.toasts() if t.title == "Daemon"][-1]
        assert error.severity == "error" and "learning_rate" in error.text
        await app.refresh_now()
        await pilot.pause()
        assert "Daemon ● cannot start: the daemon exited at once" in screen_text(app)


async def test_running_daemon_is_left_alone(seeded) -> None:
    lock = DaemonLock(lock_path(seeded))
    lock.acquire()  # this test process plays the running daemon
    try:
        app = make_app(seeded, start_daemon=True)
        posted = Posted()
        async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
            await settle(app, pilot)
            assert app.daemon_note == ""
            assert not [t for t in posted.toasts() if t.title.startswith("Daemon")]
        assert not log_path(seeded).exists()  # nothing was spawned
    finally:
        lock.release()


async def test_switch_save(seeded, tmp_path) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.action_switch_save()
        await pilot.pause()
        assert isinstance(app.screen, AskPathScreen)
        app.screen.query_one("#path").value = str(tmp_path / "other")
        await press(app, pilot, "enter")
    assert app.switch_to == tmp_path / "other"


def test_main_opens_the_switched_save(tmp_path, monkeypatch) -> None:
    import game.app
    import game.realm_app

    opened = []

    class Recorder(game.realm_app.RealmApp):
        def run(self, *args, **kwargs):  # the terminal is not available in tests; record what would open
            opened.append((self.slot.root, self.start_daemon))
            if len(opened) == 1:
                self.switch_to = tmp_path / "second"

    monkeypatch.setattr(game.realm_app, "RealmApp", Recorder)
    assert game.app.main(["--save", str(tmp_path / "first"), "--no-daemon"]) == 0
    assert opened == [(tmp_path / "first", False), (tmp_path / "second", False)]


async def test_broken_config_is_explained(tmp_path) -> None:
    slot = SaveSlot(tmp_path / "broken")
    slot.root.mkdir()
    slot.config_path.write_text("training:\n  learning_rate: -1\n")
    app = make_app(slot)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, FatalScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "cannot be opened" in text and "training.learning_rate" in text
        await press(app, pilot, "enter")
    assert app.return_code == 1


async def test_theme_is_remembered(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.theme = "realm-parchment"
        await pilot.pause()
    assert json.loads(seeded.tui_state_path.read_text())["theme"] == "realm-parchment"
    again = make_app(seeded)
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(again, pilot)
        assert again.theme == "realm-parchment"


def readme_section(text: str) -> str:
    start = text.index("## Screens and keys\n")
    rest = text[start + len("## Screens and keys\n"):]
    end = rest.find("\n## ")
    return (rest if end < 0 else rest[:end + 1]).strip("\n") + "\n"


def test_readme_screens_and_keys_match_the_app() -> None:
    from pathlib import Path

    from game.keys import markdown

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme_section(readme) == markdown(), "README.md's 'Screens and keys' is stale: python -m game.keys prints it"


def test_readme_stats_table_is_the_glossary() -> None:
    from pathlib import Path

    from backend.progression.glossary import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README.md's stats table is stale: backend.progression.glossary has it"


def test_every_screen_binding_is_documented() -> None:
    from game.keys import sections

    documented = {d for s in sections() for _, d in s.keys}
    for cls in (TavernScreen, QuestsScreen, VaultScreen, OracleScreen, GuildScreen, SettingsScreen):
        for binding in cls.BINDINGS:
            assert (binding.tooltip or binding.description) in documented, (cls.__name__, binding.key)


def test_one_registry_of_modes_feeds_the_bindings_mode_bar_palette_and_help() -> None:
    from game.keys import sections
    from game.modes import MODES
    from game.realm_app import RealmApp
    from game.widgets.mode_bar import ModeBar

    ids = [m.id for m in MODES]
    assert list(RealmApp.MODES) == ids
    assert [b.key for b in RealmApp.BINDINGS if b.action.startswith("switch_mode(")] == [m.key for m in MODES]
    assert any(b.action == "help" for b in RealmApp.BINDINGS)  # help's "? / F1" line
    bar = ModeBar.build("tavern", "save").plain
    assert [label for label in (m.label for m in MODES) if label in bar] == [m.label for m in MODES]
    titles = [s.title for s in sections()]
    assert all(f"{m.label} ({m.key})" in titles for m in MODES)
    assert all(m.screen_class().MODE == m.id for m in MODES)
