"""What the table screens (Quests, Vault, Guild, Settings) share: the row under the cursor,
and a hint when there is none. A screen says where its rows are and what keys them."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from game.widgets.table import RealmTable


class TableScreen:
    EMPTY_HINT = "Nothing selected."

    def table_rows(self) -> Sequence[Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def row_key(self, row: Any) -> Hashable:  # pragma: no cover - overridden
        raise NotImplementedError

    def selected(self) -> Any | None:
        key = self.query_one(RealmTable).current_key  # type: ignore[attr-defined]
        return next((r for r in self.table_rows() if str(self.row_key(r)) == str(key)), None)

    def need_selected(self) -> Any | None:
        row = self.selected()
        if row is None:
            self.notify(self.EMPTY_HINT, severity="warning")  # type: ignore[attr-defined]
        return row
