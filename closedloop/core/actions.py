"""Writes of the core domain: jurisdictions, accounts, tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record, diff
from closedloop.core.models import ApiToken, Jurisdiction, User


def jurisdiction_parent_problem(level: str, parent: Jurisdiction | None) -> str | None:
    """The tree's one rule: a city has no parent, a town sits under a city, a community under a town."""
    expected = {"city": None, "town": "city", "community": "town"}.get(level)
    if (parent.level if parent else None) != expected:
        return {
            "city": _("A city has no parent."),
            "town": _("A town or street must sit under a city."),
            "community": _("A village or community must sit under a town or street."),
        }.get(level, _("Unknown level."))
    return None


@transaction.atomic
def jurisdiction_create(
    *, code: str, name: str, name_en: str = "", level: str, parent: Jurisdiction | None = None, actor
) -> Jurisdiction:
    problem = jurisdiction_parent_problem(level, parent)
    if problem:
        raise ValueError(problem)
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
    is_admin = role == "admin"  # administrators run the back office
    user = User(username=username, role=role, full_name=full_name, is_staff=is_staff or is_admin, is_superuser=is_admin)
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


@transaction.atomic
def user_update(
    *, user: User, role: str, full_name: str, jurisdictions: list[Jurisdiction], is_active: bool, actor, reason: str = ""
) -> User:
    before = {"role": user.role, "full_name": user.full_name, "is_active": user.is_active,
              "jurisdictions": sorted(j.code for j in user.jurisdictions.all())}
    user.role, user.full_name, user.is_active = role, full_name, is_active
    user.is_superuser = role == "admin"
    user.is_staff = user.is_staff or user.is_superuser
    user.save(update_fields=["role", "full_name", "is_active", "is_superuser", "is_staff"])
    user.jurisdictions.set(jurisdictions)
    after = {"role": role, "full_name": full_name, "is_active": is_active,
             "jurisdictions": sorted(j.code for j in jurisdictions)}
    b, a = diff(before, after)
    audit_record(actor=actor, action="user.update", target=user, before=b, after=a, reason=reason)
    return user


@transaction.atomic
def jurisdiction_rename(*, jurisdiction: Jurisdiction, name: str, name_en: str, actor) -> Jurisdiction:
    before = {"name": jurisdiction.name, "name_en": jurisdiction.name_en}
    Jurisdiction.objects.filter(pk=jurisdiction.pk).update(name=name, name_en=name_en)
    jurisdiction.name, jurisdiction.name_en = name, name_en
    b, a = diff(before, {"name": name, "name_en": name_en})
    audit_record(actor=actor, action="jurisdiction.rename", target=jurisdiction, before=b, after=a)
    return jurisdiction


@transaction.atomic
def jurisdiction_set_population(*, jurisdiction: Jurisdiction, population: int | None, actor) -> Jurisdiction:
    """The resident population: the base of the isolation-room reserve norm (rooms per 10,000 residents)."""
    if population is not None and population < 0:
        raise ValidationError({"population": _("The population cannot be negative.")})
    before = Jurisdiction.objects.filter(pk=jurisdiction.pk).values_list("population", flat=True).get()
    Jurisdiction.objects.filter(pk=jurisdiction.pk).update(population=population)
    jurisdiction.population = population
    if before != population:
        audit_record(actor=actor, action="jurisdiction.population", target=jurisdiction,
                     before={"population": before}, after={"population": population})
    return jurisdiction
