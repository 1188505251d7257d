"""Message catalogues: one gettext catalogue per language, shared by the server and the page's JS.

Sources are the ``.po`` files under ``geomon/i18n/locales/<lang>/LC_MESSAGES/messages.po``
(template ``locales/messages.pot``, made by ``pybabel extract -F babel.cfg``). They are compiled
with Babel when first used in a process (no ``.mo`` files to keep in step). A language is
available when its ``.po`` exists: Kazakh, Kyrgyz, Tajik and Uzbek are dropped in the same way
(docs/i18n.md).

Marking strings (``pybabel extract`` finds these keywords):
- Python: ``_ = translator(locale)`` then ``_("Events")``; ``N_("…")`` marks a module-level
  constant that is translated later with ``_(CONSTANT)``.
- JS: ``geomon.t("Events")`` (api/static/geomon-i18n.js), messages from ``js_messages()``.
Placeholders are named, ``{name}``, in both: ``_("near {place}", place=name)``. Never build a
sentence by concatenating translated pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
# The languages the console is written for, first the one duty officers read.
PREFERRED_ORDER = ("ru", "en", "kk", "ky", "tg", "uz")
MIN_COMPLETENESS = 0.9  # a catalogue less translated than this is not offered yet

Translate = Callable[..., str]


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it (translate it later with ``_``)."""
    return msgid


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def read_catalog(locale: str) -> Catalog:
    """The parsed ``.po`` of ``locale`` (raises FileNotFoundError for an unknown language)."""
    with po_path(locale).open("rb") as f:
        return read_po(f, locale=locale, domain=DOMAIN)


def completeness(locale: str) -> float:
    """Share of the catalogue's messages that ``locale`` translates (0 for a fresh scaffold)."""
    msgs = [m for m in read_catalog(locale) if isinstance(m.id, str) and m.id]
    done = sum(1 for m in msgs if m.string and not m.fuzzy)
    return done / len(msgs) if msgs else 0.0


@cache
def available_locales() -> tuple[str, ...]:
    """Languages offered on the page, in the console's preferred order: English and every
    catalogue at least MIN_COMPLETENESS translated (a dropped-in scaffold appears once filled)."""
    found = {
        p.parent.parent.name
        for p in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
        if completeness(p.parent.parent.name) >= MIN_COMPLETENESS
    }
    found.add(DEFAULT_LOCALE)
    return tuple(sorted(found, key=lambda c: (PREFERRED_ORDER + (c,)).index(c)))


@cache
def translations(locale: str) -> Translations:
    """Compiled gettext translations for ``locale`` (English, the source language, is identity)."""
    if locale == DEFAULT_LOCALE or not po_path(locale).exists():
        return Translations()  # NullTranslations behaviour: msgid back
    buf = BytesIO()
    write_mo(buf, read_catalog(locale), use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def translator(locale: str) -> Translate:
    """``_(msgid, **params)``: the translation in ``locale`` with ``{name}`` placeholders filled."""
    gettext = translations(locale).gettext

    def _(msgid: str, /, **params: object) -> str:
        text = gettext(msgid)
        return text.format_map(params) if params else text

    return _


def js_messages(locale: str) -> dict[str, str]:
    """Every translated message of ``locale`` for the page's JS (msgid → msgstr)."""
    if locale == DEFAULT_LOCALE or not po_path(locale).exists():
        return {}
    out: dict[str, str] = {}
    for m in read_catalog(locale):
        if (
            isinstance(m.id, str)
            and m.id
            and isinstance(m.string, str)
            and m.string
            and not m.fuzzy
        ):
            out[m.id] = m.string
    return out


def _tag(code: str) -> str | None:
    try:
        return str(Locale.parse(code.replace("-", "_")).language)
    except (ValueError, UnknownLocaleError):
        return None


def parse_accept_language(header: str | None) -> list[str]:
    """Language codes of an ``Accept-Language`` header, best first (q=0 dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _e, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and q > 0:
            ranked.append((-q, i, tag))
    return [tag for _q, _i, tag in sorted(ranked)]


def negotiate(preferred: Iterable[str | None], accept_language: str | None = None) -> str:
    """The language to show: the first of ``preferred`` (e.g. the user's setting) that we have,
    else the best match of ``Accept-Language``, else English."""
    have = available_locales()
    for code in [*preferred, *parse_accept_language(accept_language)]:
        lang = _tag(code) if code else None
        if lang in have:
            return lang
    return DEFAULT_LOCALE


def language_name(code: str) -> str:
    """A language's own name for itself ("русский", "English", "қазақ тілі")."""
    try:
        return str(Locale.parse(code).get_display_name(code) or code)
    except (ValueError, UnknownLocaleError):
        return code
