"""API plumbing: authentication (session or bearer token), errors, the core endpoints."""

from __future__ import annotations

from django.utils import timezone
from ninja import Router, Schema
from ninja.security import HttpBearer, SessionAuth

from closedloop.core.models import ApiToken
from closedloop.core.scoping import jurisdictions_visible


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        row = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=ApiToken.hash_key(token), revoked=False, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
        request.user = row.user
        return row.user


# Token first: SessionAuth fails a request without a session on CSRF and would stop the chain.
auth_any = [TokenAuth(), SessionAuth()]
router = Router(tags=["platform"])


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    capabilities: list[str]
    jurisdictions: list[str]


class JurisdictionOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    level: str
    parent_id: int | None


@router.get("/me", response=MeOut)
def me(request):
    from closedloop.core.roles import CAPABILITIES

    u = request.user
    return {
        "username": u.username,
        "full_name": u.full_name,
        "role": u.role,
        "capabilities": sorted(CAPABILITIES.get(u.role, ())),
        "jurisdictions": [j.code for j in u.jurisdictions.all()],
    }


@router.get("/jurisdictions", response=list[JurisdictionOut])
def jurisdictions(request):
    return list(jurisdictions_visible(request.user).order_by("code"))
