"""realm skill list|info|sample|eval-set|generate: output and clear errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from backend.cli import cmd_skill
from backend.errors import UserFacingError
from skills.bin.notation import ONE, ZERO


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="realm")
    cmd_skill.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skill", "list"]) == 0
    out = capsys.readouterr().out
    assert "bin" in out and "Binary Alchemy" in out and "30 levels" in out
    assert "sy" in out and "Word Weaving" in out and "50 levels" in out
    assert "level 1: add; operands 1-10" in out


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skill", "info", "sy"]) == 0
    out = capsys.readouterr().out
    assert "50 levels" in out and "syllo_v1" in out and " 50  10 words" in out


def test_sample_shows_problem_and_golden_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skill", "sample", "bin", "--level", "3", "--count", "5"]) == 0
    out = capsys.readouterr().out
    assert "level 3: add; operands 1-127" in out
    assert out.count("answer ") == 5 and "#5  bin/L3/train0/4" in out
    assert ZERO in out and ONE in out and " = " in out  # the decimal gloss


def test_eval_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["skill", "eval-set", "sy", "--level", "10"]) == 0
    out = capsys.readouterr().out
    assert "evaluation set (fixed), 5 problem(s)" in out and "sy/L10/eval/4" in out and "Syllables:" in out


def test_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bin.jsonl"
    assert run(["skill", "generate", "bin", "--level", "2", "--count", "1000", "--out", str(out), "--seed", "4"]) == 0
    assert "wrote 1,000 chat_sft_v1 examples of bin level 2 (seed 4)" in capsys.readouterr().out
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1000
    assert json.loads(Path(str(out) + ".meta.json").read_text())["seed"] == 4


def test_generate_shows_progress_for_large_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["skill", "generate", "bin", "--level", "1", "--count", "6000", "--out", str(tmp_path / "q.jsonl")])
    assert "6,000 / 6,000 (100%)" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "words"), [
    (["skill", "sample", "chess", "--level", "1"], ["unknown skill 'chess'", "bin, sy"]),
    (["skill", "sample", "bin", "--level", "31"], ["level 31 is out of range", "1 to 30"]),
    (["skill", "eval-set", "sy", "--level", "0"], ["level 0 is out of range", "1 to 50"]),
    (["skill", "generate", "bin", "--level", "1", "--count", "5", "--out", "x.jsonl", "--format", "syllo_v1"],
     ["writes chat_sft_v1, not syllo_v1"]),
    (["skill", "sample", "bin", "--level", "1", "--count", "0"], ["--count 0", "1 to 1000"]),
])
def test_bad_input_names_the_valid_choices(argv: list[str], words: list[str]) -> None:
    with pytest.raises(UserFacingError) as caught:
        run(argv)
    for w in words:
        assert w in str(caught.value)


def test_broken_skills_dir(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_text("id: bin\n", encoding="utf-8")
    with pytest.raises(UserFacingError, match="bin.yaml"):
        run(["skill", "list", "--skills-dir", str(tmp_path)])
