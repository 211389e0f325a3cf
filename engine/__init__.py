"""The training engine (Layer 1): the only code that builds optimizers and runs training steps.

Run as a subprocess: `python -m engine run JOB.json` (see engine.cli). Importing the package
imports nothing heavy; `engine.chat` and `engine.loading` are usable on their own.
"""
