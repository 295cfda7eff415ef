"""Optional API keys.

``EVOREC_API_KEYS="k1,k2:alice|bob"``: ``k1`` may act for any user, ``k2`` only for
alice and bob. ``EVOREC_ADMIN_KEY`` unlocks admin routes (and acts for any user).
Keys arrive as ``Authorization: Bearer <key>`` (what OpenAI clients send) or ``X-API-Key``.
With no keys configured the API is open and ``evorec serve`` binds 127.0.0.1 only.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from evorec.errors import InvalidRequestError
from evorec.settings import Settings


class ApiKey(BaseModel):
    key: str
    users: frozenset[str] | None = Field(None, description="None: any user.")
    admin: bool = False


class Principal(BaseModel):
    """Who is calling: ``users`` None means any user may be acted for."""

    name: str
    users: frozenset[str] | None = None
    admin: bool = False

    def may_act_for(self, user_id: str) -> bool:
        return self.users is None or user_id in self.users


def parse_api_keys(spec: str) -> list[ApiKey]:
    keys: list[ApiKey] = []
    for raw in spec.split(","):
        raw = raw.strip()
        if not raw:
            continue
        key, sep, users = raw.partition(":")
        key = key.strip()
        if not key:
            raise InvalidRequestError(f"EVOREC_API_KEYS: empty key in {raw!r}")
        allowed = frozenset(u.strip() for u in users.split("|") if u.strip()) if sep else None
        if sep and not allowed:
            raise InvalidRequestError(f"EVOREC_API_KEYS: key restricted to no users in {raw!r}")
        keys.append(ApiKey(key=key, users=allowed))
    return keys


class KeyRing:
    def __init__(self, settings: Settings) -> None:
        self.keys = parse_api_keys(settings.api_keys)
        admin = settings.admin_key.get_secret_value().strip()
        self.admin_key = admin or None

    @property
    def enabled(self) -> bool:
        return bool(self.keys) or self.admin_key is not None

    def lookup(self, presented: str | None) -> Principal | None:
        if not presented:
            return None
        if self.admin_key and hmac.compare_digest(presented.encode(), self.admin_key.encode()):
            return Principal(name="admin", admin=True)
        for i, k in enumerate(self.keys):
            if hmac.compare_digest(presented.encode(), k.key.encode()):
                return Principal(name=f"key{i + 1}", users=k.users)
        return None


BEARER = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>` (what OpenAI clients send).")
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same key as `X-API-Key`.")


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The presented key from lower-cased headers (the request guard's view, before any route runs)."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


def presented_key(request: Request) -> str | None:
    return key_from_headers({k.lower(): v for k, v in request.headers.items()})


LOCAL = Principal(name="local", admin=True)


def require_principal(request: Request, bearer: HTTPAuthorizationCredentials | None = Security(BEARER),
                      api_key: str | None = Security(API_KEY_HEADER)) -> Principal:
    """FastAPI dependency: the caller, or 401 when keys are configured and none valid was sent.

    (The request guard already refused such requests before their body was read; this is the route's
    own statement of the rule, and what documents the two key headers in OpenAPI.)"""
    ring: KeyRing = request.app.state.keyring
    if not ring.enabled:
        return LOCAL
    presented = (bearer.credentials.strip() if bearer is not None else None) or api_key or None
    principal = ring.lookup(presented)
    if principal is None:
        raise HTTPException(401, "missing or invalid API key (send 'Authorization: Bearer <key>')",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def require_admin(request: Request, principal: Principal = Depends(require_principal)) -> Principal:
    if not principal.admin:
        ring: KeyRing = request.app.state.keyring
        why = "this route needs the admin key" if ring.admin_key else "no admin key is configured (EVOREC_ADMIN_KEY)"
        raise HTTPException(403, why)
    return principal


def optional_principal(request: Request) -> Principal | None:
    """The caller when a valid key was presented (or LOCAL in open mode); None otherwise, never 401."""
    ring: KeyRing = request.app.state.keyring
    if not ring.enabled:
        return LOCAL
    return ring.lookup(presented_key(request))


def check_user(principal: Principal, user_id: str) -> None:
    if not principal.may_act_for(user_id):
        raise HTTPException(403, f"this API key may not act for user {user_id!r}")
