"""Watch-list entries: validation of plates and patterns, the near-miss index, CSV files
refused whole with their row numbers."""

from __future__ import annotations

from itertools import product

import pytest

from geomon.errors import InvalidRequest
from geomon.watchlists import deletions, make_entry, one_edit_apart, parse_csv


def _one_edit_ball(a: str, alphabet: str) -> set[str]:
    """Reference: every string one substitution, insertion, deletion or adjacent swap from
    ``a``, enumerated directly."""
    out = {a[:i] + a[i + 1 :] for i in range(len(a))}
    out |= {a[:i] + c + a[i + 1 :] for i in range(len(a)) for c in alphabet}
    out |= {a[:i] + c + a[i:] for i in range(len(a) + 1) for c in alphabet}
    out |= {a[:i] + a[i + 1] + a[i] + a[i + 2 :] for i in range(len(a) - 1)}
    return out - {a}


def test_exact_entries_are_normalised_like_reads() -> None:
    e = make_entry({"plate": "kz: 123 АВС-02", "priority": "Medium", "reason": "tip-off"})
    assert (e.plate, e.country, e.priority, e.is_pattern) == ("123ABC02", "KZ", "medium", False)
    assert e.raw == "kz: 123 АВС-02" and "23ABC02" in e.near and e.list_name == "default"


def test_patterns_become_like_and_need_literals() -> None:
    e = make_entry({"plate": "01 kg *", "list": "kg-cars"})
    assert (e.plate, e.like_pattern, e.near) == ("01KG*", "01KG%", ())
    assert make_entry({"plate": "A?C12"}).like_pattern == "A_C12"
    with pytest.raises(InvalidRequest, match="at least 3"):
        make_entry({"plate": "A*"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"plate": ""}, "plate is required"),
        ({"plate": "A" * 21}, "1-20 characters"),
        ({"plate": "12%34"}, "characters a plate cannot have"),
        ({"plate": "12\x0734"}, "control"),
        ({"plate": "123ABC", "priority": "urgent"}, "priority must be"),
        ({"plate": "123ABC", "country": "K1"}, "country"),
        ({"plate": "123ABC", "valid_from": "2026-01-01"}, "UTC offset"),
        ({"plate": "123ABC", "valid_until": "yesterday"}, "RFC 3339"),
        (
            {"plate": "1A", "valid_from": "2026-02-01T00:00Z", "valid_until": "2026-01-01T00:00Z"},
            "after",
        ),
        ({"plate": "123ABC", "list": "a list"}, "list must be"),
    ],
)
def test_bad_entries_say_what_is_wrong(fields: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        make_entry(fields)


def test_near_miss_index_finds_every_one_edit_and_the_check_keeps_only_them() -> None:
    """The index query (a read shares a deletion with the plate, or is one, or the plate is
    one of its deletions) finds every read one edit away; ``one_edit_apart`` then keeps
    exactly those (checked on every pair of short strings against the enumerated ball)."""
    words = ["".join(p) for n in (2, 3, 4) for p in product("AB1", repeat=n)]
    for a in words:
        da, ball = set(deletions(a)), _one_edit_ball(a, "AB1")
        for b in words:
            candidate = a != b and bool(da & (set(deletions(b)) | {b}) or a in deletions(b))
            if b in ball:
                assert candidate, (a, b)
            assert one_edit_apart(a, b) == (b in ball), (a, b)


def test_csv_with_bad_rows_is_refused_whole_naming_rows() -> None:
    text = (
        "plate,reason,priority\n123ABC02,ok,high\n,missing,low\n777XYZ01,x,urgent\n"
        "\n01KG*,pattern,low\n"
    )
    with pytest.raises(InvalidRequest) as err:
        parse_csv(text)
    msg = str(err.value)
    assert "2 bad row(s), nothing imported" in msg
    assert "row 3: plate is required" in msg and "row 4: priority" in msg
    assert "row 2" not in msg and "row 6" not in msg


def test_csv_header_and_good_file() -> None:
    with pytest.raises(InvalidRequest, match="row 1: unknown column"):
        parse_csv("plate,colour\n123ABC,red\n")
    with pytest.raises(InvalidRequest, match="row 1: the header needs a 'plate'"):
        parse_csv("number\n123\n")
    with pytest.raises(InvalidRequest, match="row 2: more values"):
        parse_csv("plate\n123ABC,extra\n")
    good = parse_csv("\ufeffPlate,Country,List\n123 ABC,kz,blo\n01KG*,,\n")
    assert [(e.plate, e.country, e.list_name) for e in good] == [
        ("123ABC", "KZ", "blo"),
        ("01KG*", None, "default"),
    ]
