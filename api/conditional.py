"""``If-None-Match`` as RFC 9110 section 13.1.2 defines it: weak comparison, lists and ``*``."""

from __future__ import annotations


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag[:2] in ("W/", "w/") else tag


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """True when the request's ``If-None-Match`` matches ``etag`` (the 304 case): ``*``, or any
    listed tag whose opaque part equals ours, weak (``W/"…"``) or strong."""
    if not if_none_match:
        return False
    ours = _opaque(etag)
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or (tag and _opaque(tag) == ours):
            return True
    return False
