"""Helpers shared by the subcommands: exit codes and scenario file expansion."""

from __future__ import annotations

import os
from collections.abc import Sequence

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def _scenario_files(paths: Sequence[str]) -> list[str]:
    """Expand folders into their ``*.yaml``/``*.yml`` files (sorted); keep files as given."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if name.endswith((".yaml", ".yml")) and not name.startswith(".")
            )
            files.extend(found)
        else:
            files.append(path)
    return files
