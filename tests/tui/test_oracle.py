"""The Oracle. Without a node (nothing listens on the save's node port) it says so
plainly; the live chat tests start a real inference node on loopback and skip while
inference_node/ cannot serve yet."""

from __future__ import annotations

from backend.command_kinds import CommandKind
from game.screens.oracle import OracleScreen, explain
from backend.http_client import ModelNotLoaded, ServiceAuthError, ServiceUnavailable
from tui_helpers import Posted, commands_sent, make_app, press, screen_text, settle, wait_until


async def open_oracle(app, pilot) -> OracleScreen:
    await settle(app, pilot)
    await press(app, pilot, "o")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, OracleScreen)
    return screen


async def test_node_down_is_said_plainly(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        await wait_until(pilot, lambda: bool(screen.notes()))
        assert "The inference node is down or unreachable at http://127.0.0.1:1." in screen.notes()[-1]
        text = screen_text(app)
        assert "no checkpoint loaded" in text and "Nobody has answered yet." in text
        screen.query_one("#prompt").value = "what is ① + ①?"
        await press(app, pilot, "enter")
        assert "Choose a checkpoint first" in screen.notes()[-1]


async def test_keys_copy_load_clear_and_escape(seeded) -> None:
    app = make_app(seeded)
    posted = Posted()
    async with app.run_test(size=(100, 30), message_hook=posted) as pilot:
        screen = await open_oracle(app, pilot)
        prompt = screen.query_one("#prompt")
        assert prompt.has_focus
        await press(app, pilot, "ctrl+y")
        assert posted.toasts()[-1].text == "No answer to copy yet."
        screen.last_answer = "①⓪"
        await press(app, pilot, "ctrl+y")
        assert app.clipboard == "①⓪"  # sent as OSC 52, which works over SSH
        await press(app, pilot, "ctrl+l")
        await settle(app, pilot)
        await press(app, pilot, "down", "enter")  # 1,500 -> 1,200
        assert await commands_sent(seeded) == [(CommandKind.NODE_LOAD, {"step": 1200, "base": False, "node": None})]
        assert "Loading checkpoint-1200 on the node…" in screen.notes()
        await press(app, pilot, "ctrl+l")
        await settle(app, pilot)
        await press(app, pilot, "end", "enter")  # the base model is the last choice
        assert (await commands_sent(seeded))[-1] == (CommandKind.NODE_LOAD, {"step": None, "base": True, "node": None})
        assert "Loading base on the node…" in screen.notes()
        await press(app, pilot, "ctrl+n")
        assert screen.notes() == [] and screen.messages == []
        await press(app, pilot, "escape")
        assert not prompt.has_focus  # the mode keys work again
        await press(app, pilot, "escape")
        assert prompt.has_focus


def test_errors_are_explained() -> None:
    url = "http://127.0.0.1:8765"
    assert "checkpoint-7 is not loaded on the node" in explain(
        ModelNotLoaded("inference_node", 404, "model 'checkpoint-7' is not loaded", param="model"), "checkpoint-7", url)
    assert "down or unreachable at http://127.0.0.1:8765" in explain(ServiceUnavailable("inference_node", "refused"), "x", url)
    assert "refused the API key" in explain(ServiceAuthError("inference_node", 401, "bad key"), "x", url)


async def test_the_deployed_champion_is_offered_first(seeded) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        deployed = await screen.deployed_model()
        assert deployed is not None  # the seeded save has deployed a champion
        newer = f"checkpoint-{int(deployed.split('-')[1]) + 1000}"
        screen.deployed = deployed
        assert screen.preferred([newer, deployed, "base"]) == deployed
        assert screen.preferred([newer, "base"]) == newer  # not loaded: the newest that is
        screen.deployed = None
        assert screen.preferred(["base"]) == "base" and screen.preferred([]) is None


async def test_typing_goes_to_the_prompt_after_a_dialog_or_a_mode_switch(seeded) -> None:
    """Found by a new player: after ctrl+l -> a checkpoint -> enter, or after esc, t and o, the
    prompt had lost focus and "Greet Elzuel." fired the global keys (t: Tavern, space: pause)."""
    from game.screens.tavern import TavernScreen

    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        prompt = screen.query_one("#prompt")
        await press(app, pilot, "ctrl+l")
        await settle(app, pilot)
        await press(app, pilot, "enter")
        await settle(app, pilot)
        assert app.screen is screen and prompt.has_focus
        await press(app, pilot, *"Greet ")
        assert prompt.value == "Greet " and app.screen is screen
        await press(app, pilot, "escape", "t")
        await settle(app, pilot)
        assert isinstance(app.screen, TavernScreen)
        await press(app, pilot, "o")
        await settle(app, pilot)
        assert app.screen is screen and prompt.has_focus
        await press(app, pilot, *"Elzuel. ")
        await pilot.resize_terminal(80, 24)  # a resize keeps the prompt's focus
        await settle(app, pilot)
        await press(app, pilot, *"Quiet vows: go, guests!")  # every mode key (t q v o g s) and spaces
        assert prompt.value == "Greet Elzuel. Quiet vows: go, guests!" and app.screen is screen
        assert not [c for c in await commands_sent(seeded) if c[0] != CommandKind.NODE_LOAD]  # no pause was sent


async def test_the_prompt_takes_several_lines_and_enter_sends(seeded) -> None:
    """An SY puzzle is asked as the skill writes it: ctrl+j starts a new line, enter sends."""
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        prompt = screen.query_one("#prompt")
        await press(app, pilot, *"Syllables: el elec", "ctrl+j", *"1. jer_ey")
        assert prompt.value == "Syllables: el elec\n1. jer_ey"
        await press(app, pilot, "enter")  # no checkpoint is loaded here: the question stays, the Oracle says why
        await settle(app, pilot)
        assert prompt.value == "Syllables: el elec\n1. jer_ey" and app.screen is screen
        assert any("Choose a checkpoint first" in n for n in screen.notes())


async def test_ctrl_o_asks_another_node_of_hosts_nodes(seeded) -> None:
    import json

    from backend.config.edit import set_value

    config, problems = set_value(seeded.config_path, "hosts.nodes",
                                 json.dumps({"gpu2": {"url": "http://127.0.0.1:2", "api_key_env": "GPU2_KEY"}}))
    assert config is not None, problems
    app = make_app(seeded, environ={"GPU2_KEY": "k2"})
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_oracle(app, pilot)
        await press(app, pilot, "ctrl+o")
        assert "Asking gpu2 now (http://127.0.0.1:2)." in screen.notes()
        assert screen.get_client().client.settings.base_url == "http://127.0.0.1:2"
        await press(app, pilot, "ctrl+l")
        await settle(app, pilot)
        await press(app, pilot, "down", "enter")
        assert (await commands_sent(seeded))[-1] == (CommandKind.NODE_LOAD, {"step": 1200, "base": False, "node": "gpu2"})
        assert "Loading checkpoint-1200 on node gpu2…" in screen.notes()
        await press(app, pilot, "ctrl+o")
        assert "Asking the default node now (http://127.0.0.1:1)." in screen.notes()
        assert screen.query_one("#prompt").has_focus  # typing still goes to the prompt
