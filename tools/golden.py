"""Record (or check) the golden result documents of every shipped and documented scenario.

    python tools/golden.py          # rewrite tests/golden/*.json from the current code
    python tools/golden.py --check  # exit 1 when any result differs

A golden file changes only with a reason in the commit message (see tests/test_golden.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def _uses_shipped_profile(block: str) -> bool:
    """Whether a scenario block's device profile ships with pumpsim (or it names none)."""
    m = re.search(r"\bprofile:\s*([\w.-]+)", block)
    return m is None or (ROOT / "pumpsim" / "profiles" / f"{m.group(1)}.yaml").exists()


def cases() -> list[tuple[str, str, str]]:
    """(golden name, origin, YAML text) for every scenario file and docs scenario block."""
    out = []
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"^therapy\s*:", text, re.M) and re.search(r"^name\s*:", text, re.M):
            rel = path.relative_to(ROOT / "scenarios").with_suffix("")
            out.append((str(rel).replace("/", "__"), str(path), text))
    for path in sorted((ROOT / "docs").rglob("*.md")):
        blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
        for i, block in enumerate(blocks):
            if re.search(r"^name:", block, re.M) and re.search(r"^therapy\s*:", block, re.M):
                if not _uses_shipped_profile(block):
                    continue  # needs PUMPSIM_PROFILE_PATH (docs/howto-device-profile.md)
                out.append((f"docs__{path.stem}-{i}", f"{path}#{i}", block))
    return out


def result_json(origin: str, text: str) -> str:
    """The result document of one scenario, as `pumpsim run --json` writes it."""
    import pumpsim

    if "#" in origin:
        scenario = pumpsim.load_scenario_text(text, origin)
    else:
        scenario = pumpsim.load_scenario(origin)
    doc = pumpsim.simulate(scenario).to_dict()
    doc["pumpsim_version"] = "(any)"  # a release must not move every golden file
    import json

    return json.dumps(doc, indent=2, allow_nan=False, sort_keys=False) + "\n"


def main() -> int:
    check = "--check" in sys.argv
    GOLDEN.mkdir(parents=True, exist_ok=True)
    bad = 0
    names = set()
    for name, origin, text in cases():
        names.add(name + ".json")
        got = result_json(origin, text)
        path = GOLDEN / f"{name}.json"
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != got:
                print(f"differs: {name}")
                bad += 1
        else:
            path.write_text(got, encoding="utf-8")
    if not check:
        for stale in GOLDEN.glob("*.json"):
            if stale.name not in names:
                stale.unlink()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
