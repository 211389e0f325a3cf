"""The reason-code vocabulary of quest validation.

Codes are stable strings: the daemon stores them, the lineage table counts them
("top error reasons") and tests assert on them. Never rename a code; add new
ones. Each code has a scope, a one-line title and a fix the player can act on.

Scopes:
- ``file``: the whole file is rejected before any line counts (not a regular
  file, unreadable, unknown schema, ...).
- ``line``: one line is bad; under the ``quarantine`` policy it is set aside.
- ``warning``: a file-level remark that never rejects by itself.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Scope = Literal["file", "line", "warning"]


class Reason(NamedTuple):
    scope: Scope
    title: str
    fix: str


REASONS: dict[str, Reason] = {
    # ----- file level: before any line is read -----------------------------------------
    "not_found": Reason("file", "the file does not exist", "check the path; the file may have been moved away"),
    "symlink": Reason("file", "the path is a symbolic link", "copy the real file into the inbox instead of linking to it"),
    "directory": Reason("file", "the path is a directory", "drop the .jsonl files themselves, not a folder"),
    "special_file": Reason("file", "the path is not a regular file (FIFO, device or socket)", "write the data to a regular .jsonl file"),
    "bad_file_name": Reason("file", "the file name contains control or unprintable characters", "rename the file using printable characters only"),
    "unreadable": Reason("file", "the file cannot be opened or read", "check its permissions (the daemon needs read access)"),
    "empty_file": Reason("file", "the file is empty (0 bytes)", "write at least one example, one JSON object per line"),
    "file_too_large": Reason("file", "the file is larger than the configured limit", "split it into several quest files"),
    "binary_file": Reason("file", "the file is binary, not UTF-8 JSON lines text", "export the data as JSON lines (one JSON object per line, UTF-8)"),
    "file_changed": Reason("file", "the file changed while it was being validated", "wait until the file is completely written, then add it again"),
    "no_examples": Reason("file", "the file holds no examples (only blank lines)", "write at least one example, one JSON object per line"),
    "bad_sidecar": Reason("file", "the .meta.json sidecar is unreadable or invalid", "fix or remove <file>.meta.json"),
    "unknown_schema": Reason(
        "file", "the lines match none of the accepted schemas",
        "use chat_sft_v1 {\"messages\": [...]}, completion_v1 {\"prompt\", \"completion\"} or syllo_v1, "
        "and/or declare it as \"schema\" in <file>.meta.json",
    ),
    "ambiguous_schema": Reason(
        "file", "a line matches more than one schema",
        "keep the keys of one schema only, or declare \"schema\" in <file>.meta.json",
    ),
    "mixed_schema": Reason("file", "lines of different schemas are mixed in one file", "split the file: one schema per quest file"),
    "schema_unavailable": Reason("file", "the validator of this schema cannot be loaded", "check the skills package (realm doctor)"),
    "too_many_bad_lines": Reason(
        "file", "more lines are bad than the configured max_bad_fraction allows",
        "fix the bad lines listed in the report, or raise validation.max_bad_fraction",
    ),
    "validator_error": Reason(
        "file", "the validator failed on this file (a bug in the validator)",
        "the file is kept unchanged; report the bug with the file, or convert the data and add it again",
    ),
    "no_good_lines": Reason("file", "no line passed validation", "fix the bad lines listed in the report"),
    "bad_lines": Reason("file", "the file has bad lines and the policy is 'reject'", "fix the bad lines listed in the report, or set validation.policy to quarantine"),
    # ----- line level: QUICK --------------------------------------------------------------
    "bom": Reason("line", "the file starts with a UTF-8 byte order mark", "save the file as UTF-8 without BOM"),
    "invalid_utf8": Reason("line", "the line is not valid UTF-8", "re-encode the file as UTF-8"),
    "nul_byte": Reason("line", "the line contains a NUL byte", "remove the NUL (\\x00) bytes; JSON text never contains them"),
    "line_too_long": Reason("line", "the line is longer than the configured byte limit", "shorten the example or split it"),
    "stray_cr": Reason(
        "line", "a carriage return inside the line (the trainer would split the line there)",
        "use \\n (or \\r\\n) line endings only; inside strings write \\r as an escape",
    ),
    "blank_line": Reason("line", "blank line (blank lines are rejected by configuration)", "remove the blank line"),
    "invalid_json": Reason("line", "the line is not valid JSON", "write exactly one JSON object per line"),
    "not_object": Reason("line", "the line is JSON but not an object", "write one JSON object {...} per line"),
    "unknown_key": Reason("line", "the object has a key the schema does not allow", "remove the key (extra data may go under \"meta\")"),
    "missing_key": Reason("line", "the object lacks a required key", "add the missing key"),
    "wrong_type": Reason("line", "a value has the wrong JSON type", "use the type the schema requires"),
    "empty_messages": Reason("line", "\"messages\" is an empty list", "add at least a user turn and an assistant turn"),
    "too_many_turns": Reason("line", "the conversation has more turns than the configured limit", "shorten the conversation or split it"),
    "bad_role": Reason("line", "a role other than system, user or assistant", "use the roles system, user and assistant only"),
    "empty_content": Reason("line", "a turn has empty or whitespace-only content", "write the turn's text, or drop the turn"),
    "content_too_long": Reason("line", "a text is longer than the configured character limit", "shorten the text"),
    "control_token": Reason(
        "line", "a text holds a chat control token such as <|im_end|> or <|endoftext|>",
        "remove it: turns are marked by the roles, never by tokens inside the text (the trainer would read "
        "it as plain characters)",
    ),
    "invalid_unicode": Reason("line", "a text holds a lone surrogate (\\ud800-\\udfff escape)", "write valid Unicode text; surrogates come in pairs"),
    "system_not_first": Reason("line", "a system turn appears after the first turn", "keep at most one system turn, as the very first turn"),
    "first_not_user": Reason("line", "the first turn after the system prompt is not from the user", "start the conversation with a user turn"),
    "bad_turn_order": Reason("line", "two consecutive turns have the same role", "alternate user and assistant turns"),
    "no_assistant": Reason("line", "the conversation has no assistant turn", "add the assistant's answer as the last turn"),
    "last_not_assistant": Reason("line", "the last turn is not from the assistant", "end the conversation with the assistant's answer"),
    "schema_mismatch": Reason("line", "the line belongs to a different schema than the file", "one schema per file: move the line to a file of its schema"),
    "invalid_record": Reason("line", "the syllo_v1 record is invalid", "fix the record (see the problems listed)"),
    # ----- line level: STANDARD ---------------------------------------------------------
    "too_long_tokens": Reason("line", "the rendered example is longer than training.max_length tokens", "shorten the example or raise training.max_length (a new save)"),
    "duplicate": Reason("line", "the example repeats an earlier line exactly", "remove the repeated example"),
    # ----- line level: DEEP -------------------------------------------------------------
    "answer_leak": Reason("line", "the golden answer appears in the prompt", "remove the answer from the prompt; the model must not be able to copy it"),
    "eval_overlap": Reason("line", "the prompt is a problem of a skill's evaluation set", "remove evaluation problems from training data (they would inflate accuracy)"),
    "near_duplicate": Reason("line", "the example is nearly identical to an earlier line", "remove or vary the near-duplicate example"),
    # ----- warnings -----------------------------------------------------------------------
    "answer_imbalance": Reason("warning", "one answer dominates the file", "balance the answers; the model may learn to always give this one"),
    "no_tokenizer": Reason("warning", "token lengths were not checked (no tokenizer)", "create the hero's base model so that its tokenizer.json exists"),
    "no_eval_sets": Reason("warning", "evaluation overlap was not checked (skills unavailable)", "check the skills package (realm doctor)"),
    "duplicate_lines": Reason("warning", "some examples repeat earlier lines exactly (kept)", "remove repeats unless they are meant as extra weight"),
    "blank_lines": Reason("warning", "blank lines were skipped", "remove blank lines (they are ignored)"),
}

FILE_CODES = frozenset(c for c, r in REASONS.items() if r.scope == "file")
LINE_CODES = frozenset(c for c, r in REASONS.items() if r.scope == "line")
WARNING_CODES = frozenset(c for c, r in REASONS.items() if r.scope == "warning")


def fix_for(code: str) -> str:
    return REASONS[code].fix


def title_for(code: str) -> str:
    return REASONS[code].title
