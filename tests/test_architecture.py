"""The house as its imports draw it: layers that point one way, no circle, lazy imports only
for heavy optional libraries (docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

#: Libraries that may be imported inside a function: optional extras, and numpy and matplotlib,
#: which the run path must not pay for (``pumpsim run`` starts in a few hundred milliseconds).
HEAVY = {"matplotlib", "pandas", "pyarrow", "dask", "distributed", "tqdm", "numpy"}
#: Modules that are a heavy library's home, loaded only when that library is needed: the model's
#: numpy code (arrays of instants) and the scenario figure (matplotlib), which a run never draws.
HEAVY_MODULES = {"pumpsim.model.schedule_arrays", "pumpsim.outputs.report.plot"}
#: The command line imports the library inside each command, so that ``pumpsim --help`` (and
#: building the parser) stays instant: that is its job, and it is the top layer.
LAZY_PLACES = ("pumpsim/cli/", "pumpsim/__init__.py")
#: Modules whose lazy imports are being moved to the top in work that is still landing (the
#: sweep's execution); each goes from here when it lands.
PENDING = {
    "pumpsim/studies/sweep/__init__.py",
    "pumpsim/studies/sweep/runner.py",
}


def test_the_import_contracts_hold():
    pytest.importorskip("importlinter")
    proc = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
         "lint_imports_command()"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "BROKEN" not in proc.stdout and proc.stdout.count("KEPT") >= 4


def _imports_in_functions(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    found += [(sub.lineno, a.name) for a in sub.names]
                elif isinstance(sub, ast.ImportFrom) and sub.level == 0 and sub.module:
                    found.append((sub.lineno, sub.module))
    return found


MODULES = sorted((ROOT / "pumpsim").rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_inside_functions_are_for_heavy_libraries_only(path):
    rel = str(path.relative_to(ROOT))
    if rel.startswith(LAZY_PLACES) or rel in PENDING:
        return
    wrong = [
        f"{rel}:{line} imports {name} inside a function"
        for line, name in _imports_in_functions(path)
        if name not in HEAVY_MODULES
        and (name.split(".")[0] == "pumpsim" or name.split(".")[0] not in HEAVY | _STDLIB)
    ]
    assert not wrong, "\n".join(wrong)


#: The standard library may be imported lazily where a rarely used corner needs it.
_STDLIB = set(sys.stdlib_module_names)


def test_the_names_of_events_and_alarms_have_one_list():
    """The scenario's event union, the engine's handlers and the model's event classes name the
    same event types; the expectation's alarm names, the firmware's rules and every device
    profile's alarm table the same alarms (each list is written once, in the model)."""
    from typing import get_args

    from pumpsim.model import engine, setup
    from pumpsim.model.parts.firmware import ALARM_RULES
    from pumpsim.model.profile import ALARM_NAMES
    from pumpsim.scenario.events import Event
    from pumpsim.scenario.expect import AlarmName
    from pumpsim.scenario.profiles import load_device_profile

    union = get_args(get_args(Event)[0])
    scenario_types = {get_args(m.model_fields["type"].annotation)[0] for m in union}
    assert scenario_types == set(setup.EVENT_TYPES)
    assert set(engine._HANDLERS) == set(setup.EVENT_TYPES)
    assert all(hasattr(engine.Engine, name) for name in engine._HANDLERS.values())
    assert set(get_args(AlarmName)) == set(ALARM_RULES) == set(ALARM_NAMES)
    assert set(load_device_profile("synchromed-ii").alarms) == set(ALARM_NAMES)
