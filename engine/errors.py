"""Errors the engine reports as an `error` event: what went wrong, where, and how to fix it."""

from __future__ import annotations


class EngineError(Exception):
    """A failure with a stable `code` (bad_job, bad_data, model_load, masking, resume, ...)."""

    def __init__(self, code: str, message: str, where: str | None = None, fix: str | None = None) -> None:
        self.code = code
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        text = self.message
        if self.where:
            text += f" (at {self.where})"
        if self.fix:
            text += f"; fix: {self.fix}"
        return text
