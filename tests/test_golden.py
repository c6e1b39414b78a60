"""Golden results: every shipped and documented scenario's result document, byte for byte.

A change that moves a result must say why in its commit and re-record the files with
``python tools/golden.py``. Engine refactors must leave every file untouched.
"""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import golden

CASES = golden.cases()


def test_every_case_has_a_golden_file():
    recorded = {p.stem for p in golden.GOLDEN.glob("*.json")}
    assert {name for name, _, _ in CASES} == recorded


@pytest.mark.parametrize(("name", "origin", "text"), CASES, ids=[c[0] for c in CASES])
def test_result_is_byte_identical(name, origin, text):
    expected = (golden.GOLDEN / f"{name}.json").read_text(encoding="utf-8")
    assert golden.result_json(origin, text) == expected, (
        f"{name}: the result moved; if intended, run `python tools/golden.py` and say why in "
        "the commit message"
    )
