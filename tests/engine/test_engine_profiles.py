"""Data profiles: transform, system prompt, stop sequences, logit penalties."""

from __future__ import annotations

import pytest

from engine.profiles import get_profile


def conv(reasoning=None, content="①⓪"):
    assistant = {"role": "assistant", "content": content}
    if reasoning is not None:
        assistant["reasoning_content"] = reasoning
    return [{"role": "user", "content": "①+①="}, assistant]


def test_none_keeps_examples() -> None:
    p = get_profile("none")
    msgs = conv("because")
    assert p.transform_messages(msgs) == msgs
    assert p.chat_style is None and p.logit_penalties() == {}


def test_emoji_think() -> None:
    p = get_profile("emoji_think")
    out = p.transform_messages(conv("one plus one is two"))
    assert out[0]["role"] == "system"
    assert out[-1] == {"role": "assistant", "content": "🤔 one plus one is two 💡\n①⓪ 🏁"}
    assert p.transform_messages(conv())[-1]["content"] == "①⓪ 🏁"
    # reasoning written inline with <think> tags is moved into the emoji block too
    inline = p.transform_messages(conv(content="<think>\nsum\n</think>\n\n①⓪"))
    assert inline[-1]["content"] == "🤔 sum 💡\n①⓪ 🏁"
    assert "🏁" in p.stop_sequences()
    assert p.logit_penalties()["<think>"] < 0
    assert p.chat_style == "chatml"


def test_regime3() -> None:
    p = get_profile("regime3")
    out = p.transform_messages(conv("carry the one\nwrite zero"))
    assert out[-1]["content"] == "§ carry the one\n§ write zero\n∴ ①⓪ ∎"
    assert "∎" in p.stop_sequences() and p.chat_style == "chatml"
    described = p.describe()
    assert described["name"] == "regime3" and described["stop_sequences"] == p.stop_sequences()


def test_existing_system_prompt_is_kept() -> None:
    msgs = [{"role": "system", "content": "mine"}] + conv()
    assert get_profile("emoji_think").transform_messages(msgs)[0]["content"] == "mine"


def test_unknown_profile() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("shouting")
