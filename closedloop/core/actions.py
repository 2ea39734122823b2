"""Writes of the core domain: jurisdictions, accounts, tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from closedloop.core.audit import audit_record
from closedloop.core.models import ApiToken, Jurisdiction, User


@transaction.atomic
def jurisdiction_create(
    *, code: str, name: str, name_en: str = "", level: str, parent: Jurisdiction | None = None, actor
) -> Jurisdiction:
    expected_parent = {"city": None, "town": "city", "community": "town"}[level]
    if (parent.level if parent else None) != expected_parent:
        raise ValueError(f"A {level} must sit under a {expected_parent or 'nothing'}.")
    city = None if parent is None else (parent.city or parent)
    j = Jurisdiction.objects.create(code=code, name=name, name_en=name_en, level=level, parent=parent, city=city)
    audit_record(actor=actor, action="jurisdiction.create", target=j, after={"code": code, "name": name, "level": level})
    return j


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    full_name: str = "",
    jurisdictions: list[Jurisdiction] = (),
    is_staff: bool = False,
    actor,
    check_password: bool = True,
) -> User:
    if check_password:
        validate_password(password)
    user = User(username=username, role=role, full_name=full_name, is_staff=is_staff, is_superuser=role == "admin")
    user.set_password(password)
    user.save()
    user.jurisdictions.set(jurisdictions)
    audit_record(
        actor=actor,
        action="user.create",
        target=user,
        after={"username": username, "role": role, "jurisdictions": [j.code for j in jurisdictions]},
    )
    return user


@transaction.atomic
def user_change_password(*, user: User, new_password: str, actor) -> User:
    validate_password(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.change_password", target=user)
    return user


@transaction.atomic
def api_token_create(*, user: User, name: str, actor) -> tuple[ApiToken, str]:
    """Returns the token and its key; the key is never stored nor shown again."""
    key = "cl_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=ApiToken.hash_key(key))
    audit_record(actor=actor, action="api_token.create", target=token)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    token.revoked = True
    audit_record(actor=actor, action="api_token.revoke", target=token)
    return token
