"""The rule model: the documented example parses and merges as documented; mistakes are
refused with a message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from geomon.alerts.rules import DEFAULT_RULES, AgencyRules, load_rules_file
from geomon.errors import InvalidRequest

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _write(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_documented_example_merges_default_agency_kind_and_zone(tmp_path: Path) -> None:
    toml = re.search(r"```toml\n(.*?)```", DOC.read_text(), re.S).group(1)  # type: ignore[union-attr]
    data = load_rules_file(_write(tmp_path, toml))
    kgz = AgencyRules.build(data["default"], data["agency"]["KGZ-BS"])
    other = AgencyRules.build(data["default"])
    assert (kgz["overspeed_kmh"], other["overspeed_kmh"]) == (100, 130)
    assert kgz["silent_minutes"] == 10 and other["silent_minutes"] == 15
    assert kgz.zone_severity("enter", "restricted") == "critical"
    assert kgz.zone_severity("enter", "unknown_kind") == "info"
    assert kgz.zone_severity("enter", "restricted", {"enter": "off"}) == "off"
    assert kgz.zone_value("stop_minutes", {"stop_minutes": 5}) == 5
    assert "jamming" in kgz["io_flags"]  # merged, not replaced, by the sos override
    assert DEFAULT_RULES["overspeed_kmh"] == 130.0  # merging never mutates the defaults


def test_documented_border_tolerance_example(tmp_path: Path) -> None:
    toml = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)[1]
    tjk = AgencyRules.build(load_rules_file(_write(tmp_path, toml))["agency"]["TJK-BS"])
    assert tjk["border_cross_depth_m"] == {"AFG-TJK": 800, "CHN-TJK": 2500}
    assert tjk["border_cross_margin_m"] == 50
    with pytest.raises(InvalidRequest, match="border_cross_depth_m.AFG-TJK"):
        load_rules_file(_write(tmp_path, '[default]\nborder_cross_depth_m = {"AFG-TJK" = -1}\n'))


def test_json_rules_and_errors(tmp_path: Path) -> None:
    ok = load_rules_file(_write(tmp_path, '{"default": {"enter": "warning"}}', "r.json"))
    assert AgencyRules.build(ok["default"])["enter"] == "warning"
    with pytest.raises(InvalidRequest, match="unknown rule keys"):
        load_rules_file(_write(tmp_path, "[default]\nsilence = 3\n"))
    with pytest.raises(InvalidRequest, match="severity"):
        load_rules_file(_write(tmp_path, "[default]\nenter = 'loud'\n"))
    with pytest.raises(InvalidRequest, match="zone_kinds.restricted.enter"):
        load_rules_file(_write(tmp_path, "[default.zone_kinds.restricted]\nenter = 'x'\n"))
    with pytest.raises(InvalidRequest, match="top-level"):
        load_rules_file(_write(tmp_path, "[defaults]\n"))
    with pytest.raises(InvalidRequest, match="not valid"):
        load_rules_file(_write(tmp_path, "[default\n"))
