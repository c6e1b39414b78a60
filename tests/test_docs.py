"""Every scenario shown in the docs is valid and passes its own expectations."""

import re

import pytest
from conftest import ROOT

import pumpsim

BLOCKS = [
    (path.name, i, block)
    for path in sorted((ROOT / "docs").glob("*.md"))
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S))
    if re.search(r"^name:", block, re.M)
]


def test_docs_have_scenarios():
    assert BLOCKS


@pytest.mark.parametrize(("doc", "index", "block"), BLOCKS, ids=[f"{d}-{i}" for d, i, _ in BLOCKS])
def test_doc_scenario_runs(doc, index, block):
    result = pumpsim.simulate(pumpsim.load_scenario_text(block, f"{doc}#{index}"))
    assert result.passed, [o for o in result.outcomes if not o.passed]


def test_readme_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    fence = re.search(r"```sh\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(fence) == 2
    install, tests = fence
    assert "pip install -e '.[test]'" in install and "pumpsim run scenarios/" in install
    assert tests.strip() in ci
    assert (ROOT / install.split("pumpsim run ")[1].strip()).exists()
