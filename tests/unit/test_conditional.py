from __future__ import annotations

import pytest

from api.conditional import not_modified


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, False),
        ("", False),
        ('"a"', True),
        ('W/"a"', True),
        ('"b", W/"a"', True),
        ("*", True),
        ('"b"', False),
        ('W/"b"', False),
        ('"ab"', False),
    ],
)
def test_weak_comparison(header: str | None, expected: bool) -> None:
    assert not_modified(header, '"a"') is expected
