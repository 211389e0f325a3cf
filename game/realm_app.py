"""The Textual application: modes, the database watch, commands, toasts, the daemon.

Refreshes are driven by the database: a one-shot timer checks `PRAGMA data_version`
(one tiny query), then re-arms itself. Only when the version moved does the app
pull the new events (folded into the hero's stats incrementally) and ask the
visible screen to refresh; each screen re-reads what it shows and touches only
the widgets whose data changed. Hidden screens are refreshed when they come back.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from backend.config import check_config
from backend.config.model import RealmConfig
from backend.errors import UserFacingError
from backend.event_kinds import EventKind, icon_for
from backend.progression import away_summary
from backend.progression.restore_notice import restore_notice
from backend.slot import SaveSlot, resolve_save_path
from backend.store import Event, Store
from game.data.eventtext import TOAST_KINDS, TOAST_TITLES, describe
from game.data.evals import EvalIndex
from game.data.feed import EventFeed
from game.data.skills import Catalogue, load_catalogue
from game.data.state import TuiState, load_state, save_state, seen_now
from game.hangup import HangupGuard
from game.messages import CommandAnswered, Toasted
from game.screens.base import DataView
from game.modes import MODES as GAME_MODES
from game.theme import REALM_THEMES

if TYPE_CHECKING:
    from backend.store.commands import Command

POLL_S = 1.0  # how often data_version is checked
REFRESH_MIN_S = 2.0  # while the daemon trains the database changes every second: redraw at most this often
LIVENESS_S = 5.0  # re-judge daemon liveness this often even when nothing changed (a dead daemon writes nothing)
STATE_SAVE_S = 60.0  # how often the last seen event is written while the app is open
COMMAND_WAIT_S = 30.0


TOAST_LINES_MAX = 6


def toast_line(event: Event) -> str:
    icon = {EventKind.ACHIEVEMENT: event.payload.get("icon")}.get(event.kind) or icon_for(event.kind)
    return f"{icon} {describe(event.kind, event.payload)}"

STOP_BATTLE_TEXT = ("DIO saves a checkpoint and rests: nothing trains until you resume with space. "
                    "The quest then carries on from that checkpoint.")


class RealmApp(App[int]):
    TITLE = "Realm of Training"
    CSS_PATH = "realm.tcss"
    MODES = {m.id: m.factory() for m in GAME_MODES}
    BINDINGS = [
        # the mode bar names the modes, so the footer keeps its room for the screen's own keys
        *[Binding(m.key, f"switch_mode('{m.id}')", m.label, show=False) for m in GAME_MODES],
        Binding("question_mark,f1", "help", "Help", show=False),  # the mode bar shows it
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),  # the mode bar shows it
    ]

    def __init__(
        self,
        save: str | os.PathLike[str] | None = None,
        start_daemon: bool = True,
        *,
        poll_s: float = POLL_S,
        refresh_min_s: float = REFRESH_MIN_S,
        environ: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.slot = SaveSlot(resolve_save_path(save))
        self.start_daemon = start_daemon
        self.poll_s = poll_s
        self.refresh_min_s = refresh_min_s
        self.environ = dict(os.environ if environ is None else environ)
        self.store: Store | None = None
        self.config: RealmConfig | None = None
        self.config_mtime: int = 0
        self.feed: EventFeed | None = None
        self.evals = EvalIndex()
        self.catalogue: Catalogue | None = None
        self.tui_state = TuiState()
        self.daemon_note = ""  # why the daemon could not be started
        self.ready = asyncio.Event()
        self.switch_to: Path | None = None  # set by "switch save": main() opens that save next
        self.away_lines: list[str] = []
        self._version: int | None = None
        self._timer: Any = None
        self._force = False
        self._polling = False
        self._look = asyncio.Lock()
        self._watch_error_shown = False
        self._last_liveness = 0.0
        self._last_refresh = 0.0
        self._last_state_save = 0.0
        self._hangup = HangupGuard(self)
        for theme in REALM_THEMES:
            self.register_theme(theme)
        self.theme = REALM_THEMES[0].name

    # ----- start-up -----------------------------------------------------------------------

    def on_mount(self) -> None:
        self.sub_title = self.slot.name
        if not self.is_headless:
            self._hangup.install()
        self.switch_mode("tavern")
        self.run_worker(self.boot, name="boot", group="boot", exclusive=True)

    async def boot(self) -> None:
        from backend.savegame import init_save

        try:
            if not self.slot.exists():
                await init_save(self.slot)  # a new save: folders, realm.yaml, the database
            self.config = self.read_config_strict()
            self.store = await Store.open(self.slot.db_path)
        except UserFacingError as exc:
            from game.screens.fatal import FatalScreen

            self.push_screen(FatalScreen("This save cannot be opened.", f"{self.slot.root}\n\n{exc}"))
            return
        self.feed = EventFeed(self.config.game)
        everything = await self.feed.pull(self.store, keep_all=True)
        stored = load_state(self.slot.tui_state_path)
        if stored is not None:
            self.tui_state = stored
            if stored.theme and stored.theme in self.available_themes:
                self.theme = stored.theme
        notice = restore_notice(everything)
        if notice is not None and notice.ts <= self.tui_state.restore_seen_at:
            notice = None
        elif notice is not None:
            self.tui_state.restore_seen_at = notice.ts  # told once: saved with the seen mark below
        away = None
        if stored is not None and self.feed.last_id > stored.last_seen_event_id:
            away = await asyncio.to_thread(away_summary, everything, stored.last_seen_event_id, self.config.game,
                                           seen_ts=stored.last_seen_at, now_ts=time.time())
        del everything
        self._version = await self.store.data_version()
        self.mark_seen()
        self.ready.set()
        await self.refresh_screen(self.screen)
        if away is not None and not away.empty:
            from game.screens.away import AwayScreen

            self.away_lines = away.lines()
            self.push_screen(AwayScreen(self.away_lines))
        if notice is not None:
            from game.screens.away import AwayScreen

            self.push_screen(AwayScreen(notice.lines(), title="Your save was restored from a backup"))
        if self.start_daemon:
            self.start_daemon_worker()
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        self.arm_timer()

    def read_config_strict(self) -> RealmConfig:
        config, problems = check_config(self.slot.config_path, self.environ)
        if config is None:
            raise UserFacingError(
                "realm.yaml has problems:\n" + "\n".join(p.render() for p in problems),
                where=str(self.slot.config_path), fix="fix them (`realm config check` lists them again)",
            )
        self.config_mtime = self._mtime()
        return config

    def config_mtime_now(self) -> int:
        return self._mtime()

    def _mtime(self) -> int:
        try:
            return self.slot.config_path.stat().st_mtime_ns
        except OSError:
            return 0

    def reload_config_if_changed(self) -> bool:
        mtime = self._mtime()
        if mtime == self.config_mtime:
            return False
        config, _ = check_config(self.slot.config_path, self.environ)
        self.config_mtime = mtime
        if config is None:
            return False  # keep showing the last good settings; Settings lists the problems
        self.config = config
        if self.feed:
            self.feed.set_rules(config.game)
        return True

    def start_daemon_worker(self) -> None:
        self.run_worker(self.ensure_daemon, thread=True, name="daemon-start", group="daemon", exclusive=True)

    def ensure_daemon(self) -> None:
        """Thread worker: start the daemon when none runs (it detaches and outlives the app)."""
        from backend.daemon.control import start

        try:
            result = start(self.slot)
        except Exception as exc:  # noqa: BLE001 - say why, never crash the UI over it
            self.call_from_thread(self.daemon_start_failed, f"{type(exc).__name__}: {exc}")
            return
        if result.error:
            self.call_from_thread(self.daemon_start_failed, result.error)
        elif not result.already_running:
            self.call_from_thread(self.notify, f"The daemon is up (pid {result.pid}); training continues when you close the app.",
                                  title="Daemon started")
            self.call_from_thread(self.poll_now)

    def daemon_start_failed(self, why: str) -> None:
        first = why.strip().splitlines()[0] if why.strip() else "unknown reason"
        self.daemon_note = f"cannot start: {first}"
        self.notify(f"The daemon could not be started: {why}", title="Daemon", severity="error", timeout=30)
        self.poll_now()

    # ----- the database watch --------------------------------------------------------------

    def arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.poll_s, self._on_timer, name="data-watch")

    def _on_timer(self) -> None:
        self._timer = None
        self.start_poll()

    def poll_now(self) -> None:
        """Check for changes now and refresh the visible screen even if none."""
        self._force = True
        if self.ready.is_set():
            self.start_poll()

    def start_poll(self) -> None:
        if not self._polling:  # one look at a time; a look asked for meanwhile follows at once
            self._polling = True
            self.run_worker(self._poll, name="poll", group="poll", exit_on_error=False)

    async def _poll(self) -> None:
        try:
            await self.check_for_changes()
            while self._force and self.is_running:
                await self.check_for_changes()
        except Exception as exc:  # noqa: BLE001 - keep watching; say it once
            self.log.error(f"data watch: {exc!r}")
            if not self._watch_error_shown:
                self._watch_error_shown = True
                self.notify(f"Reading the save failed: {type(exc).__name__}: {exc}. Still trying.", severity="error")
        finally:
            self._polling = False
            if self.is_running:
                self.arm_timer()

    async def check_for_changes(self) -> bool:
        """One look at the database; True when the visible screen was refreshed."""
        if self.store is None or self.feed is None:
            return False
        async with self._look:
            return await self._look_once()

    async def _look_once(self) -> bool:
        assert self.store is not None and self.feed is not None
        self._hangup.check()
        force, self._force = self._force, False
        version = await self.store.data_version()
        now = time.monotonic()
        changed = version != self._version
        liveness_due = now - self._last_liveness >= LIVENESS_S
        if not (changed or force or liveness_due):
            return False
        if changed and not (force or liveness_due) and now - self._last_refresh < self.refresh_min_s:
            return False  # the version is not taken: the next look within POLL_S refreshes
        self._version = version
        self._last_refresh = now
        self._last_liveness = now
        if changed or force:
            new = await self.feed.pull(self.store)
            self.reload_config_if_changed()
            self.toast_events(new)
            if now - self._last_state_save >= STATE_SAVE_S and self.screen_is_tavern():
                self.mark_seen()
        await self.refresh_screen(self.screen)
        return True

    async def refresh_now(self) -> None:
        """Look at the database and refresh the visible screen (tests and explicit refreshes)."""
        await self.ready.wait()
        self._force = True
        await self.check_for_changes()

    async def refresh_screen(self, screen: Screen[Any]) -> None:
        if isinstance(screen, DataView) and self.store is not None:
            try:
                await screen.refresh_data()
            except Exception as exc:  # noqa: BLE001 - a bad row must not kill the app left open for days
                self.log.error(f"refresh of {screen!r} failed: {exc!r}")
                if not screen.refresh_error_shown:
                    screen.refresh_error_shown = True
                    self.notify(f"Could not refresh this screen: {type(exc).__name__}: {exc}", severity="error")

    def screen_resumed(self, screen: Screen[Any]) -> None:
        """A screen came back into view: bring it up to date."""
        if self.ready.is_set():
            self.poll_now()

    def screen_is_tavern(self) -> bool:
        return getattr(self.screen, "MODE", None) == "tavern"

    # ----- toasts --------------------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        self.post_message(Toasted(title, message, str(severity)))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def toast_events(self, events: list[Event]) -> None:
        """One toast per severity for what arrived together (a quest's end brings its completion,
        level-ups, a champion, achievements): the first one's title, every outcome on its own line."""
        groups: dict[str, list[Event]] = {}
        for event in events:
            severity = TOAST_KINDS.get(event.kind)
            if severity is not None:
                groups.setdefault(severity, []).append(event)
        for severity, group in groups.items():
            lines = [toast_line(e) for e in group[-TOAST_LINES_MAX:]]
            if len(group) > TOAST_LINES_MAX:
                lines.insert(0, f"… and {len(group) - TOAST_LINES_MAX} earlier (see the chronicle)")
            title = TOAST_TITLES.get(group[0].kind, "")
            if len(group) > 1:
                title += f" (+{len(group) - 1} more)"
            self.notify("\n".join(lines), title=title, severity=severity, timeout=8)

    # ----- commands ------------------------------------------------------------------------

    def send(self, kind: str, payload: dict[str, Any] | None = None, *, done: str,
             on_done: Callable[[Command], None] | None = None) -> None:
        """Write a command for the daemon; a worker waits for its outcome and toasts it."""
        self.run_worker(partial(self._send, kind, payload or {}, done, on_done), name=f"command:{kind}",
                        group="commands", exit_on_error=False)

    async def _send(self, kind: str, payload: dict[str, Any], done: str,
                    on_done: Callable[[Command], None] | None) -> None:
        from backend.commands_client import submit, wait_for  # (not needed for the first paint)

        await self.ready.wait()
        assert self.store is not None
        try:
            command_id = await submit(self.store, kind, payload, source="tui")
        except UserFacingError as exc:
            self.notify(str(exc), title="Not sent", severity="error")
            return
        command = await wait_for(self.store, command_id, COMMAND_WAIT_S, poll_s=0.25)
        if command is None:
            daemon = await self.store.heartbeat.read()
            alive = bool(daemon and daemon.alive())
            why = ("the daemon is not running; it will carry it out when it starts"
                   if not alive else f"the daemon has not answered in {COMMAND_WAIT_S:.0f} s; it is still queued")
            self.post_message(CommandAnswered(command_id, kind, "pending", None))
            self.notify(f"{done}: {why}.", title="Waiting", severity="warning")
            return
        self.post_message(CommandAnswered(command_id, kind, command.status, command.result))
        if command.status == "done":
            self.notify(done_text(done, command.result), title="Done")
            if on_done:
                on_done(command)
        else:
            error = (command.result or {}).get("error") if isinstance(command.result, dict) else command.result
            self.notify(str(error or "failed"), title=f"{kind.replace('_', ' ')} refused", severity="error", timeout=15)
        self.poll_now()

    def pause_or_resume(self, paused: bool) -> None:
        """space: resume a paused battle (as the screen showing it knows), else pause."""
        from backend.command_kinds import CommandKind

        if paused:
            self.send(CommandKind.RESUME, done="Battle resumed")
        else:
            self.send(CommandKind.PAUSE, done="Battle paused")

    def confirm_stop(self) -> None:
        from backend.command_kinds import CommandKind
        from game.screens.confirm import ConfirmScreen

        def chosen(yes: bool | None) -> None:
            if yes:
                self.send(CommandKind.STOP_BATTLE, done="Battle stopped: a checkpoint was saved; space resumes it")

        self.push_screen(ConfirmScreen("Stop the battle?", STOP_BATTLE_TEXT), chosen)

    # ----- actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        from game.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_switch_save(self) -> None:
        from game.screens.ask_path import AskPathScreen

        def chosen(path: str | None) -> None:
            if path:
                self.switch_to = Path(path).expanduser().resolve()
                self.exit(0)

        self.push_screen(AskPathScreen("Switch save", "Folder of the save slot to open (a new folder creates a new save):",
                                       str(self.slot.root.parent), directories_only=True), chosen)

    def mark_seen(self) -> None:
        if self.feed is None:
            return
        seen_now(self.tui_state, self.feed.last_id)
        self.tui_state.theme = self.theme
        save_state(self.slot.tui_state_path, self.tui_state)
        self._last_state_save = time.monotonic()

    def _on_theme_changed(self, theme: Any) -> None:
        self.tui_state.theme = getattr(theme, "name", None)
        save_state(self.slot.tui_state_path, self.tui_state)

    def get_system_commands(self, screen: Screen[Any]):  # type: ignore[override]
        from game.palette import realm_commands

        yield from realm_commands(self, screen)
        yield from super().get_system_commands(screen)

    async def on_unmount(self) -> None:
        self._hangup.uninstall()
        if self._timer is not None:
            self._timer.stop()
        if self.ready.is_set():
            self.mark_seen()
        if self.store is not None:
            store, self.store = self.store, None
            await store.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "boot" and worker.error is not None:
            self.notify(f"Opening the save failed: {worker.error!r}", severity="error", timeout=60)

    # ----- for screens ---------------------------------------------------------------------

    async def skill_catalogue(self) -> Catalogue:
        """The skills (loaded once, in a thread: reading skills/*.yaml takes a moment)."""
        if self.catalogue is None:
            self.catalogue = await asyncio.to_thread(load_catalogue)
        return self.catalogue


def done_text(done: str, result: Any) -> str:
    """The toast of a finished command: `done` with the result's fields filled in ("Sparring: {line}"),
    or with the quest, destination or folder it names."""
    if isinstance(result, dict) and "{" in done:
        try:
            return done.format_map(result)
        except (KeyError, ValueError, IndexError):
            return done
    if isinstance(result, dict):
        extra = {k: v for k, v in result.items() if k not in ("ok",)}
        if "moved_to" in extra:
            return f"{done} (moved to {extra['moved_to']})"
        if "quest_id" in extra and "priority" not in extra:
            return f"{done} (quest #{extra['quest_id']})"
        if "dest" in extra:
            return f"{done} ({extra['dest']})"
    return done

