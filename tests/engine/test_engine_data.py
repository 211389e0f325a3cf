"""Quest records -> tokenized examples: schemas, clear errors with file and line, overlength policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.data.records import ChatExample, CompletionExample, read_examples
from engine.data.tokenize import IGNORE, TokenizeStats, tokenize_example
from engine.errors import EngineError
from engine.profiles import get_profile


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    return path


GOOD = {"messages": [{"role": "user", "content": "①+①="}, {"role": "assistant", "content": "①⓪"}]}


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("{not json", "not valid JSON"),
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "at least one assistant turn"),
        ({"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}, "last turn"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role must be"),
        ({"messages": GOOD["messages"], "extra": 1}, "unknown key"),
        ({"messages": [{"role": "user", "content": "q", "name": "x"}, {"role": "assistant", "content": "a"}]},
         "unknown key"),
        ({"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "a"}]}, "must be a string"),
    ],
)
def test_bad_chat_line_names_file_and_line(tmp_path: Path, bad, needle: str) -> None:
    path = write_lines(tmp_path / "quest.jsonl", [GOOD, GOOD, bad, GOOD])
    with pytest.raises(EngineError) as err:
        read_examples(path, "chat_sft_v1")
    assert err.value.code == "bad_data"
    assert f"{path}:3:" in err.value.message and needle in err.value.message
    assert err.value.fix


def test_many_errors_are_summarised(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", ["{"] * 15)
    with pytest.raises(EngineError, match="15 invalid chat_sft_v1 record"):
        read_examples(path, "chat_sft_v1")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="not found"):
        read_examples(tmp_path / "nope.jsonl", "chat_sft_v1")


def test_completion_records(tmp_path: Path, nano_dir: Path) -> None:
    from transformers import AutoTokenizer

    path = write_lines(tmp_path / "c.jsonl", [{"prompt": "①+①=", "completion": "①⓪"}])
    ex = read_examples(path, "completion_v1")
    assert ex == [CompletionExample("①+①=", "①⓪", f"{path}:1")]
    with pytest.raises(EngineError, match="completion is empty"):
        read_examples(write_lines(tmp_path / "e.jsonl", [{"prompt": "a", "completion": ""}]), "completion_v1")
    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    t = tokenize_example(tok, ex[0], get_profile("none"), "chatml", 64, "drop", TokenizeStats())
    trained = [x for x in t.labels if x != IGNORE]
    assert tok.decode(trained) == "①⓪<|im_end|>"
    assert t.labels[0] == IGNORE and t.kind == "completion"


def test_syllo_records_go_through_the_sy_skill(tmp_path: Path, nano_dir: Path) -> None:
    from transformers import AutoTokenizer

    import skills.catalog as skills

    sy = skills.builtin_skills()["sy"]
    record = sy.sample(1, 1, seed=0)[0].record
    path = write_lines(tmp_path / "sy.jsonl", [record])
    (ex,) = read_examples(path, "syllo_v1")
    assert isinstance(ex, ChatExample) and ex.messages[-1]["role"] == "assistant"
    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    t = tokenize_example(tok, ex, get_profile("none"), "chatml", 1024, "drop", TokenizeStats())
    assert tok.decode([x for x in t.labels if x != IGNORE]) == ex.messages[-1]["content"] + "<|im_end|>"
    bad = write_lines(tmp_path / "bad.jsonl", [{"id": "x"}])
    with pytest.raises(EngineError, match=r"bad.jsonl:1: syllo_to_chat rejected"):
        read_examples(bad, "syllo_v1")


def test_overlength_policy(nano_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    long = ChatExample([{"role": "user", "content": "q"}, {"role": "assistant", "content": "①" * 40}], "f:1")
    stats = TokenizeStats()
    assert tokenize_example(tok, long, get_profile("none"), "chatml", 20, "drop", stats) is None
    assert stats.dropped_overlength == 1
    t = tokenize_example(tok, long, get_profile("none"), "chatml", 20, "truncate", stats)
    assert t is not None and len(t) == 20 and stats.truncated_overlength == 1
    assert t.labels[-1] != IGNORE  # ends on a trained token
    prompt_only = ChatExample([{"role": "user", "content": "q" * 60}, {"role": "assistant", "content": "a"}], "f:2")
    assert tokenize_example(tok, prompt_only, get_profile("none"), "chatml", 20, "truncate", stats) is None
    assert stats.dropped_unsupervised == 1


def test_labels_trim_after_last_trained_token(nano_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(nano_dir))
    t = tokenize_example(tok, ChatExample(GOOD["messages"], "f:1"), get_profile("none"), "chatml", 64, "drop",
                         TokenizeStats())
    assert tok.convert_ids_to_tokens(t.input_ids[-1]) == "<|im_end|>"  # the trailing newline is trimmed
    assert t.labels[0] == IGNORE and t.expected_spans == 1
