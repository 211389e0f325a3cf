"""Read models of the TUI: small queries over backend.store, shaped for one screen each.

Every read model is a frozen dataclass, so a screen can compare the new one with
the one it shows and leave its widgets alone when nothing changed.
"""
