"""A Static that repaints only when its content changes."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class Line(Static):
    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._shown: Any = content

    def set(self, content: Any) -> None:
        if content != self._shown:
            self._shown = content
            self.update(content)

    @property
    def shown(self) -> Any:
        return self._shown
