"""Figures and reports for people (matplotlib is imported lazily, only here)."""
