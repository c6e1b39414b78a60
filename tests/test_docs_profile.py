"""A user's own device profile, found through PUMPSIM_PROFILE_PATH (docs/howto-device-profile.md)."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT, run

from pumpsim.scenario.profiles import ProfileError, available_profiles, load_device_profile

SHIPPED = ROOT / "pumpsim" / "profiles" / "synchromed-ii.yaml"


@pytest.fixture
def profile_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PUMPSIM_PROFILE_PATH", str(tmp_path))
    load_device_profile.cache_clear()
    yield tmp_path
    load_device_profile.cache_clear()


def _write(folder, name: str, **changes) -> None:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    raw["name"] = name
    for key, value in changes.items():
        raw["parameters"][key] = value
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def test_a_profile_in_the_path_is_used(profile_dir):
    _write(
        profile_dir,
        "acme-30",
        reservoir_sizes_ml={"value": [30], "assumed": "a test pump"},
        low_reservoir_alarm_ml={"value": 3.0, "assumed": "a test pump"},
    )
    assert "acme-30" in available_profiles() and "synchromed-ii" in available_profiles()
    result = run("""
        name: acme
        duration: 30d
        pump: {profile: acme-30, reservoir_ml: 30}
        drug: {concentration_mcg_per_ml: 2000}
        therapy: {dose_mcg_per_day: 2000}
        expect:
          - {alarm: low_reservoir, first_at: 27d}
    """)
    assert result.passed, result.outcomes
    assert result.to_dict()["device_profile"] == "acme-30"


def test_a_parameter_without_provenance_is_refused(profile_dir):
    _write(profile_dir, "bad-pump", low_reservoir_alarm_ml={"value": 3.0})
    with pytest.raises(ProfileError, match="neither source nor assumed"):
        load_device_profile("bad-pump")


def test_without_the_path_only_shipped_profiles(monkeypatch):
    monkeypatch.delenv("PUMPSIM_PROFILE_PATH", raising=False)
    load_device_profile.cache_clear()
    assert available_profiles() == ["synchromed-ii"]
    with pytest.raises(ProfileError, match="no profile named"):
        load_device_profile("acme-30")
