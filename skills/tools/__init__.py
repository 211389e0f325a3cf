"""One-off build tools for skill data (not imported at run time)."""
