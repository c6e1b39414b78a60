"""The version of pumpsim (a leaf any layer may import)."""

__version__ = "0.1.0"
