"""The realm's own themes (Textual's built-in themes are there too: palette > Theme)."""

from __future__ import annotations

from textual.theme import Theme

REALM_THEMES: tuple[Theme, ...] = (
    Theme(
        name="realm-tavern",
        primary="#E0A526",
        secondary="#8E6BBF",
        accent="#4FB0A5",
        warning="#E8A33D",
        error="#D9534F",
        success="#7CB855",
        foreground="#E9E1D3",
        background="#1B1712",
        surface="#241E17",
        panel="#2F271E",
        dark=True,
    ),
    Theme(
        name="realm-parchment",
        primary="#7A4E12",
        secondary="#5B3F8C",
        accent="#1F7A70",
        warning="#A86A00",
        error="#B3261E",
        success="#3C7A1E",
        foreground="#2B2115",
        background="#F4ECD8",
        surface="#EADFC4",
        panel="#E0D2B0",
        dark=False,
    ),
)
