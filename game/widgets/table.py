"""A DataTable that updates in place: unchanged rows are left alone, changed cells are
rewritten, and the cursor stays on the same item when rows come and go."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from textual.widgets import DataTable


class RealmTable(DataTable[Any]):
    DEFAULT_CSS = """
    RealmTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._columns = list(columns)
        self._rows: list[tuple[Hashable, tuple[Any, ...]]] = []

    def on_mount(self) -> None:
        for key, label in self._columns:
            self.add_column(label, key=key)

    @property
    def current_key(self) -> Hashable | None:
        if not self._rows or self.cursor_row < 0 or self.cursor_row >= len(self._rows):
            return None
        return self._rows[self.cursor_row][0]

    def set_rows(self, rows: Sequence[tuple[Hashable, tuple[Any, ...]]]) -> bool:
        """Show these (key, cells) rows; True when anything changed."""
        rows = list(rows)
        if rows == self._rows:
            return False
        old_keys = [k for k, _ in self._rows]
        new_keys = [k for k, _ in rows]
        if old_keys == new_keys:
            for (key, cells), (_, old) in zip(rows, self._rows):
                if cells != old:
                    for (col, _), value, before in zip(self._columns, cells, old):
                        if value != before:
                            self.update_cell(str(key), col, value, update_width=True)
            self._rows = rows
            return True
        keep = self.current_key
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=str(key))
        self._rows = rows
        if keep is not None and keep in new_keys:
            self.move_cursor(row=new_keys.index(keep), animate=False)
        return True
