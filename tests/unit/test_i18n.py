"""Message catalogues (geomon/i18n): negotiation, translation, zones, and the catalogue checks
that fail when a marked string has no Russian translation or a catalogue entry is unused."""

from __future__ import annotations

from pathlib import Path

from geomon.i18n import (
    available_locales,
    completeness,
    js_messages,
    negotiate,
    parse_accept_language,
    translator,
)
from geomon.i18n.check import (
    catalogue_msgids,
    extracted_msgids,
    placeholder_mismatches,
    problems,
    untranslated,
)
from geomon.i18n.zones import time_zone_for


def test_the_catalogues_match_the_code() -> None:
    # fails on: a marked string missing from messages.pot or without a Russian translation,
    # an entry no code uses any more, a translation that drops or renames a placeholder
    assert problems() == []


def test_every_marked_string_has_russian_and_no_entry_is_unused() -> None:
    used = extracted_msgids()
    assert {"Events", "Legend", "{speed} km/h", "border crossed", "Sign in"} <= used
    assert untranslated("ru", used) == []
    assert catalogue_msgids("ru") - used == set()


def test_the_checks_see_python_and_js_marks_and_would_fail(tmp_path: Path) -> None:
    (tmp_path / "babel.cfg").write_text("[python: **.py]\n[javascript: **.js]\n")
    (tmp_path / "a.py").write_text('X = N_("only python")\nprint(_("near {place}", place=1))\n')
    (tmp_path / "b.js").write_text('el.textContent = g.t("only js {n}", { n: 2 });\n')
    found = extracted_msgids(tmp_path)
    assert found == {"only python", "near {place}", "only js {n}"}
    # what the Russian catalogue lacks for this code, and what it has that this code never uses
    assert untranslated("ru", found) == ["near {place}", "only js {n}", "only python"]
    assert "Legend" in catalogue_msgids("ru") - found


def test_placeholders_survive_translation() -> None:
    assert placeholder_mismatches("ru") == []
    _ = translator("ru")
    assert _("{speed} km/h", speed="90") == "90 км/ч"
    assert _("near {place} ({distance})", place="Хорог", distance="3 км").startswith("вблизи")
    assert translator("en")("{n} km", n="2") == "2 km"
    assert _("not in any catalogue") == "not in any catalogue"


def test_language_negotiation() -> None:
    assert parse_accept_language("kk-KZ,ru;q=0.9,en;q=0.8,de;q=0") == ["kk-KZ", "ru", "en"]
    assert negotiate([None], "kk-KZ,ru;q=0.9,en;q=0.8") == "ru"  # kk is only scaffolding
    assert negotiate(["en"], "ru-RU") == "en"  # the user's setting wins
    assert negotiate([None, "ru"], "en") == "ru"
    assert negotiate(["xx", None], "de-DE") == "en"
    assert negotiate([], None) == "en"


def test_scaffold_catalogues_exist_but_are_offered_only_when_translated() -> None:
    for code in ("kk", "ky", "tg", "uz"):
        assert completeness(code) < 0.9
        assert code not in available_locales()
    assert available_locales() == ("ru", "en")
    assert completeness("ru") == 1.0
    assert js_messages("ru")["Events"] == "События"
    assert js_messages("en") == {}


def test_time_zone_defaults_from_the_agency() -> None:
    assert time_zone_for(None, "KGZ") == "Asia/Bishkek"
    assert time_zone_for(None, "tjk") == "Asia/Dushanbe"
    assert time_zone_for(None, "UZB") == "Asia/Tashkent"
    assert time_zone_for(None, "KAZ") == "Asia/Almaty"
    assert time_zone_for(None, "TKM") == "Asia/Ashgabat"
    assert time_zone_for("Asia/Tashkent", "KGZ") == "Asia/Tashkent"
    assert time_zone_for("Mars/Olympus", "KGZ") == "Asia/Bishkek"
    assert time_zone_for(None, None) == "UTC"
