"""MkDocs hooks: publish the scenario library and the device profiles with the site.

Pages link to ``../scenarios/NAME.yaml`` and ``../pumpsim/profiles/NAME.yaml`` so that the links
work when the Markdown is read in the repository; the site has no files outside ``docs/``, so
these hooks add those files to the site (as ``scenarios/...`` and ``pumpsim/profiles/...``) and
rewrite the links to match. ``mkdocs build --strict`` then checks every one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Repository folders published with the site (every file in them, recursively).
PUBLISHED = ("scenarios", "pumpsim/profiles")


def on_files(files: Any, config: Any) -> Any:
    """Add the published folders' files to the site."""
    from mkdocs.structure.files import File

    for folder in PUBLISHED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".py":
                rel = path.relative_to(ROOT).as_posix()
                files.append(File(rel, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """``](../scenarios/x.yaml)`` → ``](scenarios/x.yaml)`` (docs pages sit at the top)."""
    for folder in PUBLISHED:
        markdown = markdown.replace(f"](../{folder}/", f"]({folder}/")
    return markdown
