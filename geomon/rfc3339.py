"""Times as callers send them: RFC 3339 text with an offset, nothing else.

pydantic's lax mode also reads ``0.5`` or ``1e9`` as seconds since 1970 and a naive text as
local time; no caller of the API or a job body means either, so models that take a time from
outside use :data:`Rfc3339Time`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def rfc3339_text(value: Any) -> Any:
    """``value`` unchanged when it is a datetime or RFC 3339-shaped text; else ValueError."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with offset, e.g. 2026-11-28T10:00:00Z")
    return value


Rfc3339Time = Annotated[AwareDatetime, BeforeValidator(rfc3339_text)]
