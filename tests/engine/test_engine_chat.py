"""engine.chat against the real Qwen3 tokenizer and chat template (golden), and the mask rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.chat import (
    ChatFormatError,
    detect_style,
    render_chat,
    render_prompt_ids,
    render_prompt_text,
    response_template_ids,
)
from engine_helpers import ROOT


def trained_texts(tok, rendered) -> list[str]:
    return [tok.decode(rendered.input_ids[a:b]) for a, b in rendered.trained_spans()]


def untrained_text(tok, rendered) -> str:
    return tok.decode([t for t, m in zip(rendered.input_ids, rendered.assistant_mask) if not m])


def assert_golden(tok, messages) -> object:
    rendered = render_chat(tok, messages)
    assert rendered.text == tok.apply_chat_template(messages, tokenize=False)
    assert rendered.input_ids == tok.apply_chat_template(messages, tokenize=True)["input_ids"]
    assert len(rendered.assistant_mask) == len(rendered.input_ids)
    return rendered


def test_detects_the_qwen3_template(qwen_tokenizer) -> None:
    assert detect_style(qwen_tokenizer) == "qwen3"


def test_single_turn(qwen_tokenizer) -> None:
    msgs = [{"role": "user", "content": "What is ①+①?"}, {"role": "assistant", "content": "①⓪"}]
    r = assert_golden(qwen_tokenizer, msgs)
    assert trained_texts(qwen_tokenizer, r) == ["①⓪<|im_end|>"]
    # the template-inserted empty think block and the assistant header are not trained
    assert "<|im_start|>assistant\n<think>\n\n</think>\n\n" in untrained_text(qwen_tokenizer, r)


def test_multi_turn_trains_every_assistant_turn(qwen_tokenizer) -> None:
    msgs = [
        {"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
        {"role": "user", "content": "and 3+3?"}, {"role": "assistant", "content": "6"},
        {"role": "user", "content": "and 4+4?"}, {"role": "assistant", "content": "8, of course."},
    ]
    r = assert_golden(qwen_tokenizer, msgs)
    assert trained_texts(qwen_tokenizer, r) == ["4<|im_end|>", "6<|im_end|>", "8, of course.<|im_end|>"]
    assert r.assistant_turns == 3


def test_system_prompt_is_never_trained(qwen_tokenizer) -> None:
    msgs = [{"role": "system", "content": "You are DIO."}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello!"}]
    r = assert_golden(qwen_tokenizer, msgs)
    assert trained_texts(qwen_tokenizer, r) == ["Hello!<|im_end|>"]
    assert "You are DIO." in untrained_text(qwen_tokenizer, r)


def test_reasoning_content(qwen_tokenizer) -> None:
    msgs = [{"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1", "reasoning_content": "old thoughts"},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "a2", "reasoning_content": "\nstep by step\n"}]
    r = assert_golden(qwen_tokenizer, msgs)
    # the template drops reasoning before the last user turn; the last turn's reasoning is trained
    assert trained_texts(qwen_tokenizer, r) == ["a1<|im_end|>", "<think>\nstep by step\n</think>\n\na2<|im_end|>"]
    assert "old thoughts" not in r.text


def test_think_inside_content(qwen_tokenizer) -> None:
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>\nhm\n</think>\n\nyes"}]
    r = assert_golden(qwen_tokenizer, msgs)
    assert trained_texts(qwen_tokenizer, r) == ["<think>\nhm\n</think>\n\nyes<|im_end|>"]


def test_generation_prompt_matches_training_context(qwen_tokenizer) -> None:
    msgs = [{"role": "user", "content": "hi"}]
    ids = render_prompt_ids(qwen_tokenizer, msgs)
    ref = qwen_tokenizer.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True, enable_thinking=False)
    assert ids == ref["input_ids"]
    # the prompt is a prefix of the trained conversation, token for token
    full = render_chat(qwen_tokenizer, msgs + [{"role": "assistant", "content": "yo"}])
    assert full.input_ids[: len(ids)] == ids
    thinking = render_prompt_text(msgs, "qwen3", enable_thinking=True)
    assert thinking.endswith("<|im_start|>assistant\n")


def test_clean_chatml_style_has_no_think_injection(qwen_tokenizer) -> None:
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a 🏁"}]
    r = render_chat(qwen_tokenizer, msgs, style="chatml")
    assert r.text == "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\na 🏁<|im_end|>\n"
    assert trained_texts(qwen_tokenizer, r) == ["a 🏁<|im_end|>"]


def test_response_template(qwen_tokenizer) -> None:
    assert qwen_tokenizer.decode(response_template_ids(qwen_tokenizer)) == "<|im_start|>assistant\n"


@pytest.mark.parametrize("msgs", [[], [{"role": "tool", "content": "x"}], [{"role": "user", "content": 3}],
                                  [{"role": "assistant", "content": "x", "tool_calls": [{"name": "f"}]}]])
def test_bad_messages_are_clear_errors(qwen_tokenizer, msgs) -> None:
    with pytest.raises(ChatFormatError):
        render_chat(qwen_tokenizer, msgs)


def test_engine_chat_imports_without_side_effects() -> None:
    code = ("import sys, engine.chat\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers', 'tokenizers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
