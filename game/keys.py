"""Every screen's keys, from the bindings themselves: the Help screen shows this,
and the README's "Screens and keys" section is this (a test keeps them equal)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

KEY_NAMES = {
    "question_mark": "?", "plus": "+", "minus": "-", "escape": "esc", "space": "space", "enter": "enter",
    "f1": "F1",
}


@dataclass(frozen=True)
class Section:
    title: str
    summary: str
    keys: tuple[tuple[str, str], ...]


def key_text(binding: Binding) -> str:
    keys = [k.strip() for k in binding.key.split(",")]
    return " / ".join(KEY_NAMES.get(k, k) for k in keys)


def keys_of(bindings: list[Binding | tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    out = []
    for b in bindings:
        binding = b if isinstance(b, Binding) else Binding(*b)
        out.append((key_text(binding), binding.tooltip or binding.description))  # the footer's word, or its long form
    return tuple(out)


def sections() -> list[Section]:
    from game.modes import MODES
    from game.screens.vram import VramScreen

    everywhere = [(m.key, m.label) for m in MODES]
    everywhere += [("? / F1", "Help: this list"), ("ctrl+p", "Command palette: every action, themes, switch save"),
                   ("ctrl+q", "Quit (the daemon keeps training)"), ("tab / shift+tab", "Move between fields")]
    modes = [Section(f"{m.label} ({m.key})", m.help, keys_of(m.screen_class().BINDINGS)) for m in MODES]
    return [
        Section("Everywhere", "Mode keys work wherever no text field has the focus (esc leaves the Oracle's prompt).",
                tuple(everywhere)),
        *modes,
        Section("VRAM calculator (m in Settings)", "Weights, gradients, optimizer state and activations of one "
                "micro-batch for a model, precision, tokens per micro-batch, sequence length, gradient checkpointing and "
                "optimizer, against an RTX 4090 24 GB, an RTX 3090 24 GB and an H100 80 GB.", keys_of(VramScreen.BINDINGS)),
        Section("Dialogs", "Confirmations, details and forms.",
                (("y / n", "Yes / no in a confirmation"), ("enter", "Confirm or submit"), ("esc", "Close or cancel"),
                 ("→", "Accept the path completion in a path field"), ("ctrl+s", "Post a new quest"))),
    ]


def markdown() -> str:
    """The README's "Screens and keys" section body."""
    lines = ["`realm-tui [--save PATH] [--no-daemon]` opens the Tavern of the save (starting its daemon when none runs; "
             "with news since you last looked, a \"While you were away\" summary comes first). Keyboard only; "
             "readable at 80x24. (This section is generated from the app's key bindings: `python -m game.keys`.)", ""]
    for s in sections():
        lines += [f"### {s.title}", "", s.summary, "", "| key | action |", "|---|---|"]
        lines += [f"| `{k}` | {d} |" for k, d in s.keys]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
