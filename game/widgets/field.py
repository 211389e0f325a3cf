"""A text input that does not blink (no timer left running while the app idles)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input


class Field(Input):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_reactive(Input.cursor_blink, False)
