"""Checks of the catalogues against the code (``scripts/i18n check``; tests/unit/test_i18n.py).

- every string the code marks (``_``/``N_`` in Python, ``t`` in JS; babel.cfg) is in the
  template and translated in every *complete* language (Russian must be complete);
- every catalogue entry is still used by the code (no dead translations);
- a translation keeps exactly the ``{name}`` placeholders of its source.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from geomon.i18n import LOCALES_DIR, read_catalog

KEYWORDS = {"_": None, "N_": None, "t": None, "gettext": None}
REPO = LOCALES_DIR.parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
COMPLETE = ("ru",)  # languages that must translate everything (the others are drop-ins)


def extracted_msgids(root: Path = REPO) -> set[str]:
    """Every message the code marks, found as ``pybabel extract -F babel.cfg`` finds them."""
    with (root / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue_msgids(locale: str) -> set[str]:
    return {m.id for m in read_catalog(locale) if isinstance(m.id, str) and m.id}


def untranslated(locale: str, used: set[str]) -> list[str]:
    cat = read_catalog(locale)
    return sorted(mid for mid in used if not (m := cat.get(mid)) or not m.string or m.fuzzy)


def placeholder_mismatches(locale: str) -> list[str]:
    out = []
    for m in read_catalog(locale):
        if not (isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string):
            continue
        if set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(m.string)):
            out.append(f"{m.id!r} -> {m.string!r}")
    return out


def problems() -> list[str]:
    used = extracted_msgids()
    out: list[str] = []
    template = {m.id for m in _template() if isinstance(m.id, str) and m.id}
    out += [
        f"not in messages.pot (run scripts/i18n extract): {m!r}" for m in sorted(used - template)
    ]
    for po in sorted(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")):
        locale = po.parent.parent.name
        out += [f"{locale}: unused entry {m!r}" for m in sorted(catalogue_msgids(locale) - used)]
        out += [f"{locale}: placeholders differ {p}" for p in placeholder_mismatches(locale)]
        if locale in COMPLETE:
            out += [f"{locale}: untranslated {m!r}" for m in untranslated(locale, used)]
    return out


def _template():
    from babel.messages.pofile import read_po

    with (LOCALES_DIR / "messages.pot").open("rb") as f:
        return read_po(f)


def main() -> int:
    found = problems()
    for p in found:
        print(p, file=sys.stderr)
    print(f"i18n: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
