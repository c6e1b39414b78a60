"""The printed sweep summary's numbers read as numbers (review D6): no scientific notation for
rates, intervals that stay readable when negative, numeric groups in increasing order."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT

import pumpsim
from pumpsim.studies.sweep.summary_text import _ci, _group, _num, _range, _versus

BASE = ROOT / "scenarios" / "steady-state-year.yaml"


def test_numbers_keep_three_figures_without_scientific_notation():
    assert _num(2263.7) == "2,260" and _num(1607.9) == "1,610" and _num(996.2) == "996"
    assert _num(41234.0) == "41,200" and _num(-1530.0) == "-1,530"
    assert _num(0.00115) == "0.00115" and _num(0) == "0" and _num(None) == "-"
    assert _num(9.70379e-05) == "0.000097" and _num(1.0268) == "1.03" and _num(0.5) == "0.5"
    assert _num(999.7) == "1,000" and _num(9.996) == "10" and _num(100.0) == "100"


def test_intervals_and_groups_read_with_to_even_when_negative():
    assert _ci([-153.2, -121.4]) == "95 % CI -153 to -121"
    assert _ci([0.261, 0.316], 100, " %") == "95 % CI 26.1 to 31.6 %"
    assert _range([2150.0, 2370.0]) == "2,150 to 2,370" and _range(None) == "-"
    assert _group({"range": [517.0, 1613.0]}) == "517 to 1,610"
    assert _group({"range": [None, 200.0]}) == "< 200"
    line = _versus(
        {"difference": -137.0, "difference_95ci": [-153.0, -121.0], "ratio": 0.5,
         "ratio_95ci": [0.45, 0.55]}
    )  # fmt: skip
    assert line == "    vs grid point 0: -137 (95 % CI -153 to -121), x0.5 (95 % CI 0.45 to 0.55)"


def test_by_a_numeric_choice_lists_its_groups_in_increasing_order(tmp_path: Path):
    path = tmp_path / "by.yaml"
    path.write_text(
        f"name: by\nbase: {BASE}\npatients: 12\nseed: 3\nduration: 90d\nfaults: none\n"
        "vary:\n  drug.concentration_mcg_per_ml: {choice: {500: 1, 4000: 1, 2000: 1}}\n"
        "grid:\n  pump.reservoir_ml: [40, 20]\n",
        encoding="utf-8",
    )
    result = pumpsim.sweep(
        str(path),
        workers=1,
        parquet=False,
        by=["drug.concentration_mcg_per_ml", "pump.reservoir_ml"],
    )
    point = result.summary["grid_points"][0]
    groups = point["by"]["drug.concentration_mcg_per_ml"]
    assert [g["value"] for g in groups] == [500, 2000, 4000]
    assert [g["value"] for g in point["by"]["pump.reservoir_ml"]] == [20, 40]
    text = result.text
    assert text.index("    500 ") < text.index("    2000 ") < text.index("    4000 ")
    assert "e+0" not in text
