"""The Quest board: the table, every key, the new-quest dialog, the details."""

from backend.command_kinds import CommandKind
from game.screens.new_quest import NewQuestScreen
from game.screens.quest_details import QuestDetailsScreen
from game.widgets.table import RealmTable
from tui_helpers import Posted, commands_sent, make_app, press, screen_text, settle


async def open_quests(app, pilot) -> RealmTable:
    await settle(app, pilot)
    await press(app, pilot, "q")
    await settle(app, pilot)
    return app.screen.query_one(RealmTable)


async def select(app, pilot, table: RealmTable, quest_id: int) -> None:
    keys = [str(k) for k, _ in table._rows]
    table.move_cursor(row=keys.index(str(quest_id)))
    await pilot.pause()


async def test_table_lists_quests_in_serving_order(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await open_quests(app, pilot)
        assert [k for k, _ in table._rows] == [2, 3, 5, 4, 1]  # battle, high, low, then failed and done
        text = screen_text(app)
        assert "⚔ battle  normal  bin-l2-0001.jsonl  BIN L2  2,000     300/800" in text
        assert "✗ failed  normal  my-notes.jsonl" in text and "reject: 3 bad lines" in text
        assert "✓ done    normal  bin-l1-0001.jsonl  BIN L1  2,000     ✓ 1,200   pass" in text
        assert "1 in battle · 2 queued · 0 checking · 1 failed · 1 done" in text


async def test_the_highlighted_quests_validation_shows_whole_at_80_columns(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_quests(app, pilot)
        await select(app, pilot, table, 4)  # my-notes.jsonl, rejected
        await settle(app, pilot)
        about = app.screen.query_one("#quests-about").shown
        assert about.startswith("#4 my-notes.jsonl: validation reject: 3 b") and len(about) > 40, about


async def test_board_keys(seeded) -> None:
    """+ and - change priority (refused for quests not waiting, and past high or low), d deletes
    after asking (refused for the battle), r retries failed quests only, space pauses, x stops."""
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        table = await open_quests(app, pilot)
        await select(app, pilot, table, 5)  # low
        await press(app, pilot, "plus")
        await select(app, pilot, table, 3)  # high
        await press(app, pilot, "minus")
        await press(app, pilot, "plus")  # already high: refused here, nothing sent
        assert posted.toasts()[-1].text == "Quest #3 is already high priority."
        await select(app, pilot, table, 2)  # in battle
        await press(app, pilot, "minus")
        assert posted.toasts()[-1].text == "Quest #2 is processing; only waiting quests change priority."
        await press(app, pilot, "d")
        assert "stop the battle first (x)" in posted.toasts()[-1].text
        await select(app, pilot, table, 5)
        await press(app, pilot, "d")
        assert "Delete quest #5 bin-l2-0002.jsonl?" in screen_text(app)
        await press(app, pilot, "n")
        await press(app, pilot, "d", "y")
        await select(app, pilot, table, 3)
        await press(app, pilot, "r")
        assert "only failed quests are retried" in posted.toasts()[-1].text
        await select(app, pilot, table, 4)
        await press(app, pilot, "r")
        await press(app, pilot, "space", "x", "y")
        assert await commands_sent(seeded) == [
            (CommandKind.QUEST_PRIORITY, {"quest_id": 5, "priority": "normal"}),
            (CommandKind.QUEST_PRIORITY, {"quest_id": 3, "priority": "normal"}),
            (CommandKind.QUEST_DELETE, {"quest_id": 5}),
            (CommandKind.QUEST_RETRY, {"quest_id": 4}),
            (CommandKind.PAUSE, {}),
            (CommandKind.STOP_BATTLE, {}),
        ]


async def test_details_show_the_bad_lines(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 40)) as pilot:
        table = await open_quests(app, pilot)
        await select(app, pilot, table, 4)
        await press(app, pilot, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QuestDetailsScreen)
        text = screen_text(app)
        assert "rejected: 3 of 10 lines bad (30%), over the 20% allowed" in text
        assert "reasons: json_invalid 1, no_assistant_turn 2" in text
        assert "Bad lines (3 shown)" in text
        assert "json_invalid" in text and "not JSON: Expecting ',' delimiter" in text
        assert "the last turn is from the user" in text and "end every example with an assistant turn" in text
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, QuestDetailsScreen)


async def test_new_quest_from_a_file_with_completion(seeded, tmp_path) -> None:
    quest = tmp_path / "incoming" / "my-quest.jsonl"
    quest.parent.mkdir()
    quest.write_text('{"prompt": "1+1", "completion": "2"}\n')
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_quests(app, pilot)
        await press(app, pilot, "n")
        assert isinstance(app.screen, NewQuestScreen)
        field = app.screen.query_one("#quest-path")
        field.value = str(tmp_path / "incoming" / "m")
        await pilot.press("y")  # typed: the suggester completes the rest of the file name
        await pilot.pause(0.2)
        await press(app, pilot, "right")  # accept the completion
        assert app.screen.query_one("#quest-path").value == str(quest)
        await press(app, pilot, "enter")
        assert await commands_sent(seeded) == [(CommandKind.QUEST_ADD, {"path": str(quest), "priority": "normal"})]
        await press(app, pilot, "n")  # a path that does not exist is refused in the dialog
        app.screen.query_one("#quest-path").value = str(tmp_path / "nope.jsonl")
        await press(app, pilot, "enter")
        assert "does not exist" in screen_text(app)
        await press(app, pilot, "escape")
        assert len(await commands_sent(seeded)) == 1


async def test_new_quest_generated_from_skill_level_count(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_quests(app, pilot)
        await press(app, pilot, "n")
        screen = app.screen
        await app.workers.wait_for_complete()
        screen.query_one("#quest-kind").active = "generate"
        await pilot.pause()
        screen.query_one("#gen-skill").value = "sy"
        screen.query_one("#gen-level").value = "99"
        screen.query_one("#gen-count").value = "250"
        screen.query_one("#quest-priority").value = "high"
        await press(app, pilot, "ctrl+s")
        assert "level must be from 1 to 50" in screen_text(app)
        screen.query_one("#gen-level").value = "2"
        await press(app, pilot, "ctrl+s")
        assert await commands_sent(seeded) == [
            (CommandKind.QUEST_GENERATE, {"skill": "sy", "level": 2, "count": 250, "priority": "high", "seed": None})]


async def test_a_player_quest_shows_its_test(seeded) -> None:
    """The test of a player's quest (the daemon's quest_tested event) reaches the chronicle and
    the quest's details: how many sampled and held-out lines DIO answers, with examples."""
    from backend.event_kinds import EventKind
    from backend.store import Store

    sample = {"prompt": "Greet Elzuel.", "expected": "Hail, Elzuel!", "answer": "Hail, Elzuel!", "exact": True,
              "similarity": 1.0}
    near = {"prompt": "Greet Mara.", "expected": "Hail, Mara!", "answer": "Hail, Mira!", "exact": False,
            "similarity": 0.91}
    async with await Store.open(seeded.db_path) as store:
        quest_id = await store.quests.create("greetings.jsonl", "quests/completed/00006-greetings.jsonl",
                                             state="completed", source="inbox", examples=200, finished_at=1_767_229_000.0)
        await store.events.append(EventKind.QUEST_TESTED, {
            "quest_id": quest_id, "name": "greetings.jsonl", "step": 1500,
            "seen": {"exact": 7, "total": 10, "similarity": 0.84, "samples": [sample, near]},
            "held_out": {"exact": 1, "total": 3, "similarity": 0.6, "samples": []}}, dedupe_key=f"quest_tested:{quest_id}")
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "🧪 DIO answers 7 of 10 sampled lines of greetings.jsonl (similarity 84%)" in text
        table = await open_quests(app, pilot)
        await select(app, pilot, table, quest_id)
        await press(app, pilot, "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, QuestDetailsScreen)
        text = screen_text(app)
        assert "1 of 3 held-out lines (60%)" in text
        assert "✓ Greet Elzuel. → Hail, Elzuel!" in text and "91 % Greet Mara. → Hail, Mira!" in text
