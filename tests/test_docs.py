"""The docs run: every command and code block in README.md and docs/*.md, the site builds."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT

import pumpsim

sys.path.insert(0, str(ROOT / "tools"))
import docs_exec
import golden

BLOCKS = [
    (path.name, i, block)
    for path in sorted((ROOT / "docs").glob("*.md"))
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S))
    if re.search(r"^name:", block, re.M) and re.search(r"^therapy\s*:", block, re.M)
    if golden._uses_shipped_profile(block)  # a user's own profile runs in its how-to only
]

#: How-tos that land from other branches (issues #11, #12, #13); linked from these pages.
PENDING_PAGES = ("howto-sweep.md", "howto-replay.md", "howto-report.md", "architecture.md")


def test_docs_have_scenarios():
    assert BLOCKS


@pytest.mark.parametrize(("doc", "index", "block"), BLOCKS, ids=[f"{d}-{i}" for d, i, _ in BLOCKS])
def test_doc_scenario_runs(doc, index, block):
    result = pumpsim.simulate(pumpsim.load_scenario_text(block, f"{doc}#{index}"))
    failing = [o for o in result.outcomes if not o.passed]
    if "wrong" not in result.scenario.name:  # the tutorial's deliberately failing example
        assert result.passed, failing
    else:
        assert failing


@pytest.mark.parametrize("page", docs_exec.pages(), ids=lambda p: p.name)
def test_page_runs_and_shows_what_it_prints(page):
    report = docs_exec.run_page(page)
    problems = report.failures + report.mismatches
    assert not problems, "\n\n".join(problems) + (
        "\n\nIf the new output is right: python tools/docs_exec.py --update, then review the diff"
    )


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    fence = re.search(r"```sh\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(fence) == 2
    install, tests = fence
    assert "pip install -e '.[test]'" in install and "pumpsim run scenarios/" in install
    assert tests.strip() in ci
    assert (ROOT / install.split("pumpsim run ")[1].strip()).exists()


def _nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return re.findall(r":\s*([\w./-]+\.(?:md|ipynb))\s*$", text, re.M)


def test_every_page_is_in_the_navigation():
    listed = set(_nav_pages())
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name in listed, f"add docs/{page.name} to the nav in mkdocs.yml"
    for name in listed:
        assert (ROOT / "docs" / name).exists() or name in PENDING_PAGES, name


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
def test_site_builds_strict_without_network(tmp_path):
    """``mkdocs build --strict``; pages still to land from other branches get a stub here."""
    for folder in ("docs", "scenarios", "pumpsim/profiles"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for name in ("mkdocs.yml", "tools/mkdocs_hooks.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for name in PENDING_PAGES:
        stub = tmp_path / "docs" / name
        if not stub.exists():
            stub.write_text(f"# {name}\n\nLands from another branch.\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "reference" / "index.html").exists()


# -- the harness itself -------------------------------------------------------------------------
def _page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_harness_passes_a_truthful_page(tmp_path):
    page = _page(
        tmp_path,
        """
        <!-- file: s.yaml -->
        ```yaml
        name: s
        duration: 2d
        drug: {concentration_mcg_per_ml: 2000}
        therapy: {dose_mcg_per_day: 400}
        ```

        ```sh
        $ pumpsim validate s.yaml
        ok  s.yaml
        $ pumpsim validate missing.yaml  # exit 2
        missing.yaml: no such file
        ```

        ```python
        import pumpsim
        result = pumpsim.simulate(pumpsim.load_scenario("s.yaml"))
        ```

        ```pycon
        >>> result.scenario.name
        's'
        >>> for x in (1, 2):
        ...     print(x / 3)
        0.3333333333
        ...
        ```

        <!-- skip: needs a cluster -->
        ```sh
        $ pumpsim sweep big.yaml --dask tcp://cluster:8786
        ```
        """,
    )
    report = docs_exec.run_page(page)
    assert report.ok, report.failures + report.mismatches
    assert len(report.skipped) == 1 and report.skipped[0].endswith(": needs a cluster")
    assert report.run == 4


def test_harness_catches_a_lie_and_update_fixes_it(tmp_path):
    page = _page(
        tmp_path,
        """
        Some prose.

        ```sh
        $ echo hello
        goodbye
        $ echo same
        same
        ```

        ```pycon
        >>> 6 * 7
        41
        ```
        """,
    )
    report = docs_exec.run_page(page)
    assert len(report.mismatches) == 2 and not report.failures
    report = docs_exec.run_page(page, update=True)
    assert report.updated == 2
    text = page.read_text(encoding="utf-8")
    assert "$ echo hello\nhello\n$ echo same\nsame\n" in text
    assert ">>> 6 * 7\n42\n" in text and "Some prose." in text
    assert docs_exec.run_page(page).ok


def test_harness_fails_on_exit_codes_exceptions_and_installs(tmp_path):
    page = _page(
        tmp_path,
        """
        ```sh
        $ false
        $ true  # exit 1
        ```

        ```python
        raise RuntimeError("boom")
        ```

        ```sh
        pip install pandas
        ```
        """,
    )
    report = docs_exec.run_page(page)
    text = "\n".join(report.failures)
    assert "`false` exited 1, the page says 0" in text
    assert "exited 0, the page says 1" in text
    assert "RuntimeError: boom" in text
    assert "installs software" in text
    assert len(report.failures) == 4


def test_harness_skips_blocks_whose_module_is_missing(tmp_path):
    page = _page(
        tmp_path,
        """
        <!-- requires: surely_not_installed_pkg -->
        ```python
        import surely_not_installed_pkg
        ```

        <!-- requires: json -->
        ```pycon
        >>> import json; json.dumps(1)
        '1'
        ```
        """,
    )
    report = docs_exec.run_page(page)
    assert report.ok and report.run == 1
    assert report.skipped[0].endswith("needs surely_not_installed_pkg (not installed)")


def test_normalise():
    from pumpsim import __version__

    work = "/tmp/pumpsim-docs-abc"
    raw = (
        f"pumpsim {__version__}\n{work}/out.json written\n12 passed in 0.53s\n"
        f"x = 0.1234567891234\n{ROOT}/scenarios   \n\n"
    )
    assert docs_exec.normalise(raw, work) == (
        "pumpsim <VERSION>\nout.json written\n12 passed in <SECONDS>\nx = 0.123457\n"
        "<ROOT>/scenarios"
    )
    assert docs_exec.matches(["a", "...", "d"], "a\nb\nc\nd\n")
    assert docs_exec.matches(["a", "...", "b"], "a\nb")
    assert not docs_exec.matches(["a", "...", "d"], "a\nb\nc\n")
    assert docs_exec.matches([], "")
    assert not docs_exec.matches([], "something")


def test_docs_exec_command_line(tmp_path, capsys):
    page = _page(tmp_path, "```sh\n$ echo 1\n2\n```\n")
    assert docs_exec.main([str(page)]) == 1
    assert "DIFFERS" in capsys.readouterr().out
    assert docs_exec.main(["--update", str(page)]) == 0
    assert docs_exec.main([str(page)]) == 0
