"""The data connection and the caller's visibility, per the auth contract (api/deps.py).

Routes that return data use :func:`data_connection` (the auth helper's ``agency_connection``:
a pooled connection in a transaction with the row-level-security context of the caller) and
key caches on :func:`visibility_key`, so one agency never gets another's cached tile.
Until api/deps.py provides those, this falls back to the plain pooled connection.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from api import deps

data_connection: Any = getattr(deps, "agency_connection", deps.connection)
_principal_dep: Any = getattr(deps, "current_principal", None)

if _principal_dep is not None:

    async def visibility_key(principal: Annotated[Any, Depends(_principal_dep)]) -> str:
        """A cache key for what the caller may see: the RLS context (role and own agency) and
        the shares per scope. Not just the union of visible agencies: A seeing B's positions
        and B seeing A's incidents have the same union but must not share cached tiles."""
        shares = getattr(principal, "shares", None) or {}
        scoped = ";".join(
            f"{scope}={','.join(map(str, sorted(ids)))}" for scope, ids in sorted(shares.items())
        )
        return f"{getattr(principal, 'role', '')}:{getattr(principal, 'agency_id', '')}:{scoped}"

    async def principal_agency(principal: Annotated[Any, Depends(_principal_dep)]) -> int | None:
        return getattr(principal, "agency_id", None)
else:

    async def visibility_key() -> str:
        return "*"

    async def principal_agency() -> int | None:
        return None


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated (missing, expired or invalid token/session)."},
    403: {"description": "Authenticated but the role may not do this."},
}


async def _anyone() -> None:
    return None


#: Router-level dependency: 401 without a valid principal (once the auth layer exists).
authenticated: Any = _principal_dep or _anyone
