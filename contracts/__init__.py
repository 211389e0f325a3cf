"""Pydantic models at process and file boundaries, shared by every layer.

Pure pydantic and the standard library: no torch, no transformers, no I/O at import.
"""
