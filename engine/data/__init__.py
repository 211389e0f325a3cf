"""Quest data: read JSONL records, render them to token ids + labels, split off validation."""
