import pytest

from geomon.plates import NormalisedPlate, normalise_plate


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("01 KG 123 ABC", None, NormalisedPlate("01KG123ABC", None)),  # Kyrgyz
        ("01 kg 123 abc", "kg", NormalisedPlate("01KG123ABC", "KG")),
        ("123 АВС 02", None, NormalisedPlate("123ABC02", None)),  # Kazakh, Cyrillic
        ("KZ:123-ABC-02", None, NormalisedPlate("123ABC02", "KZ")),
        ("1234 ТС 01", "TJ", NormalisedPlate("1234TC01", "TJ")),  # Tajik
        ("01 А 123 ВС", None, NormalisedPlate("01A123BC", None)),  # Uzbek
        ("UZ/01.A.123.BC", None, NormalisedPlate("01A123BC", "UZ")),
        ("ЕКМНОРТУХ", None, NormalisedPlate("EKMHOPTYX", None)),
    ],
)
def test_normalise(raw: str, country: str | None, expected: NormalisedPlate) -> None:
    assert normalise_plate(raw, country) == expected


def test_latin_and_cyrillic_reads_match() -> None:
    assert normalise_plate("А 123 ВС") == normalise_plate("a-123-bc")


@pytest.mark.parametrize(
    "raw", [None, "", "   ", " - . ", "A" * 21, "01A\x00123", "01\tA123", "AB\u200b12", "KG:"]
)
def test_never_matched(raw: str | None) -> None:
    assert normalise_plate(raw) is None
