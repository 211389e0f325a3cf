"""The Tavern against a seeded save: what it shows, its keys, toasts, refresh rules."""

from backend.command_kinds import CommandKind
from backend.event_kinds import EventKind
from backend.store import Store
from game.screens.tavern import TavernScreen
from game.widgets.chronicle import Chronicle
from game.widgets.hero_card import HeroCard
from game.widgets.portrait import tier_for
from tui_helpers import Posted, answer_commands, commands_sent, make_app, press, screen_text, settle, wait_until


async def test_tavern_shows_hero_battle_chronicle_and_status(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, TavernScreen)
        text = screen_text(app)
        # hero: name, level, XP bar to the next level, ATK / DEF / ACC, gold, portrait tier
        assert "DIO  Level 2" in text
        assert "XP ████░░░░ 500/1,000" in text
        # ATK: 100 / the campaign's smoothed loss of the newest step report (0.85); DEF: 100 / the
        # validation losses of the checkpoints, smoothed (2.3, 1.8, 1.4, 1.1 -> 1.6775)
        assert "ATK 117.6" in text and "DEF 59.6" in text
        # ACC is the training level's (BIN L2), not yet evaluated: not the mastered L1's 100 %
        assert "ACC —" in text and "Gold 100" in text
        assert "Next BIN L2: —" in text and "needs 80% mean of 3" in text
        assert "Apprentice" in text and ".---." in text
        assert "Skills BIN 1 · SY 0" in text
        # battle: quest, skill and level, progress with steps and ETA, loss sparkline, tokens/s
        assert "⚔ bin-l2-0001.jsonl · BIN L2" in text
        assert "step 300/800 · 38% · ETA 2m 05s" in text
        assert "loss 0.750 " in text and "▁" in text
        assert "19,030 tok/s" in text and "2 queued" in text
        # chronicle with icons and times
        assert "00:21 💀 Quest failed: my-notes.jsonl" in text
        assert "👑 New champion: checkpoint-1200" in text
        # daemon and node
        assert "Daemon ○ not running" in text
        assert "Node ○ last seen up http://127.0.0.1:8765 (1 loaded)" in text


async def test_tavern_resting_when_no_battle(tmp_path) -> None:
    from realm_seed import seed_save

    slot = await seed_save(tmp_path / "save", battle=False)
    app = make_app(slot)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "💤 DIO rests at the tavern." in text
        assert "3 quests waiting on the board." in text


def test_portrait_tiers() -> None:
    assert tier_for(1)[0] == "Apprentice"
    assert tier_for(5)[0] == "Adept"
    assert tier_for(12)[0] == "Knight"
    assert tier_for(30)[0] == "Champion"
    assert tier_for(99)[0] == "Archmage"
    assert tier_for(4)[1] != tier_for(5)[1]


async def test_tavern_keys(seeded) -> None:
    """space pauses (resumes when the daemon reports paused), x stops after asking, c checkpoints."""
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await press(app, pilot, "space")
        assert (await commands_sent(seeded))[-1] == (CommandKind.PAUSE, {})
        async with await Store.open(seeded.db_path) as store:  # the daemon reports it paused
            await store.heartbeat.beat(999_999, 0.0, 3600.0, "paused")
        await app.refresh_now()
        await press(app, pilot, "space")
        assert (await commands_sent(seeded))[-1] == (CommandKind.RESUME, {})
        await press(app, pilot, "x")
        assert "Stop the battle?" in screen_text(app)
        # the words agree with what the daemon does (tests/daemon: stop = checkpoint, then paused)
        assert "nothing trains until you resume" in " ".join(screen_text(app).split())
        await press(app, pilot, "n")
        assert len(await commands_sent(seeded)) == 2
        await press(app, pilot, "x", "y")
        await press(app, pilot, "c")
        assert [k for k, _ in await commands_sent(seeded)] == [
            CommandKind.PAUSE, CommandKind.RESUME, CommandKind.STOP_BATTLE, CommandKind.CHECKPOINT_NOW]


async def test_command_outcomes_are_toasted(seeded) -> None:
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        await settle(app, pilot)
        await press(app, pilot, "c")
        await wait_until(pilot, lambda: True)
        assert await answer_commands(seeded, ok=True) == 1
        await wait_until(pilot, lambda: any(t.title == "Done" for t in posted.toasts()))
        await press(app, pilot, "c")
        await pilot.pause(0.1)
        assert await answer_commands(seeded, ok=False, result={"error": "no battle to checkpoint"}) == 1
        await wait_until(pilot, lambda: any(t.severity == "error" for t in posted.toasts()))
        error = [t for t in posted.toasts() if t.severity == "error"][-1]
        assert error.text == "no battle to checkpoint"
        assert [o.status for o in posted.answers()] == ["done", "failed"]


async def test_new_events_raise_toasts_and_reach_the_screen(seeded) -> None:
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        await settle(app, pilot)
        assert posted.toasts() == []  # old events never toast
        async with await Store.open(seeded.db_path) as store:
            await store.events.append(EventKind.QUEST_COMPLETED, {"quest_id": 2, "name": "bin-l2-0001.jsonl", "skill": "bin",
                                                                  "level": 2, "steps": 800, "final_step": 2000})
            await store.events.append(EventKind.LEVEL_UP, {"level": 3})
            await store.events.append(EventKind.SKILL_LEVEL_UP, {"skill": "bin", "level": 2})
            await store.events.append(EventKind.CHAMPION, {"step": 1500, "accuracy": 0.9})
            await store.events.append(EventKind.ACHIEVEMENT, {"id": "level_5", "name": "Seasoned", "icon": "🌿"})
            await store.events.append(EventKind.WARNING, {"source": "test", "message": "no toast for me"})
        await app.refresh_now()
        await pilot.pause()
        # what arrived together is one toast, each outcome on its own line (not five stacked toasts)
        assert [(t.title, t.severity) for t in posted.toasts()] == [("Quest complete (+4 more)", "information")]
        assert posted.toasts()[0].text.splitlines() == [
            "🏆 Quest complete: bin-l2-0001.jsonl (BIN L2) in 800 steps", "⬆ Level up! DIO reaches level 3",
            "✨ BIN mastered level 2!", "👑 New champion: checkpoint-1500 (90%)", "🌿 Achievement unlocked: Seasoned"]
        text = screen_text(app)
        assert "DIO  Level 3" in text and "Gold 200" in text  # XP and gold rose on screen
        assert "no toast for me" in text  # in the chronicle


async def test_unchanged_data_redraws_nothing(seeded) -> None:
    app = make_app(seeded, refresh_min_s=3600.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        card = app.screen.query_one(HeroCard)
        chronicle = app.screen.query_one(Chronicle)
        hero_before, last_id = card.hero, chronicle.last_id
        # the daemon's heartbeat moves data_version, but nothing the Tavern shows changes
        async with await Store.open(seeded.db_path) as store:
            await store.services.report("inference_node", "up", "http://127.0.0.1:8765", {"loaded": ["checkpoint-1200"]})
        assert await app.check_for_changes() is False  # a change right after a refresh waits (refresh_min_s) ...
        app.refresh_min_s = 0.0
        assert await app.check_for_changes() is True  # ... then it looked ...
        assert card.hero is hero_before  # ... and left the widgets alone
        assert chronicle.last_id == last_id
        assert await app.check_for_changes() is False  # no change, no look


async def test_hidden_screens_are_not_refreshed(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        tavern = app.screen
        await press(app, pilot, "q")
        await settle(app, pilot)
        calls = []
        original = tavern.refresh_data

        async def counting() -> None:
            calls.append(1)
            await original()

        tavern.refresh_data = counting  # type: ignore[method-assign]
        async with await Store.open(seeded.db_path) as store:
            await store.events.append(EventKind.LEVEL_UP, {"level": 3})
        await app.refresh_now()
        assert calls == []
        await press(app, pilot, "t")  # coming back brings it up to date
        await settle(app, pilot)
        assert calls and "DIO reaches level 3" in screen_text(app)


async def test_xp_and_atk_move_with_step_events(seeded) -> None:
    """XP is every optimizer step trained: it moves with the battle's step reports, not only
    at checkpoints; ATK follows the campaign's smoothed loss that they carry."""
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert "XP ████░░░░ 500/1,000" in screen_text(app)
        async with await Store.open(seeded.db_path) as store:
            quest = (await store.quests.in_state("processing"))[0]
            await store.metrics.add_many([{"quest_id": quest.id, "step": 1500 + 5 * i, "job_step": 300 + 5 * i,
                                           "total_steps": 800, "loss": 0.8, "loss_ema": 0.8} for i in range(1, 31)])
        await app.refresh_now()
        await wait_until(pilot, lambda: "650/1,000" in screen_text(app))
        text = screen_text(app)
        assert "650/1,000" in text and "ATK 125.0" in text  # 100 / 0.8


async def test_a_rich_heros_numbers_fit_their_lines_at_80_columns(seeded) -> None:
    """Gold 12,345 and the widest ACC ("100% BIN") share a line of the hero card, uncut, at 80x24."""
    from dataclasses import replace

    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        card = app.screen.query_one(HeroCard)
        card.show(replace(card.hero, gold=12_345, acc=1.0, acc_skill="bin", atk=1234.5, defense=999.9,
                          xp_into=999, xp_need=1_000, level=13))
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert any("ACC 100% BIN Gold 12,345" in line for line in lines), "\n".join(lines[:10])
        assert any("ATK 1,234.5 DEF 999.9" in line or "ATK 1,234.5" in line and "DEF 999.9" in line for line in lines)
        assert any("XP ████████ 999/1,000" in line for line in lines)
        assert "…" not in "\n".join(lines[:8])  # nothing of the hero card is cut


async def test_the_chronicle_follows_the_newest_event_across_a_resize_unless_the_player_scrolled_up(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        async with await Store.open(seeded.db_path) as store:
            for i in range(40):
                await store.events.append(EventKind.WARNING, {"source": "test", "message": f"event {i}"})
        await app.refresh_now()
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert "test: event 39" in screen_text(app)  # shrunk: the newest line is still in view
        await pilot.resize_terminal(160, 45)
        await pilot.pause()
        await pilot.pause()
        assert "test: event 39" in screen_text(app)  # back to the big size: still at the newest line
        chronicle = app.screen.query_one(Chronicle)
        chronicle.focus()
        await press(app, pilot, "pageup", "pageup")
        assert not chronicle.following
        async with await Store.open(seeded.db_path) as store:
            await store.events.append(EventKind.WARNING, {"source": "test", "message": "while you read"})
        await app.refresh_now()
        await pilot.pause()
        assert "while you read" not in screen_text(app)  # reading older lines: not pulled down
        await press(app, pilot, "end")
        await pilot.pause()
        assert chronicle.following and "while you read" in screen_text(app)
