"""The named people of the test suite, all built with actions.

Two towns: Choucheng (town A, with communities A1, A2) and Beiyuan (town B,
with community B1). ``site_b`` and ``community_b`` are the outsiders of town A.
"""

from __future__ import annotations

import pytest

from closedloop.core.actions import jurisdiction_create, user_create
from closedloop.core.roles import Role

pytest_plugins = ["tests.pg_guard"]

PASSWORD = "Correct-Horse-42"


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Actions and commands called directly speak English in tests (pages pick their own language)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (the overview keeps the capacity headline a minute)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def city(db):
    return jurisdiction_create(code="330782", name="义乌市", name_en="Yiwu", level="city", actor=None)


@pytest.fixture
def town_a(city):
    return jurisdiction_create(code="330782001", name="稠城街道", name_en="Choucheng", level="town", parent=city, actor=None)


@pytest.fixture
def town_b(city):
    return jurisdiction_create(code="330782002", name="北苑街道", name_en="Beiyuan", level="town", parent=city, actor=None)


@pytest.fixture
def community_a1(town_a):
    return jurisdiction_create(code="330782001001", name="香溪社区", name_en="Xiangxi", level="community", parent=town_a, actor=None)


@pytest.fixture
def community_a2(town_a):
    return jurisdiction_create(code="330782001002", name="江滨社区", name_en="Jiangbin", level="community", parent=town_a, actor=None)


@pytest.fixture
def community_b1(town_b):
    return jurisdiction_create(code="330782002001", name="春华社区", name_en="Chunhua", level="community", parent=town_b, actor=None)


def _user(username, role, jurisdictions):
    return user_create(
        username=username, password=PASSWORD, role=role, full_name=username.title(),
        jurisdictions=jurisdictions, actor=None,
    )


@pytest.fixture
def commander(city):
    return _user("commander", Role.COMMANDER, [city])


@pytest.fixture
def duty_officer(city):
    return _user("duty", Role.DUTY_OFFICER, [city])


@pytest.fixture
def site_a(town_a):
    return _user("site_a", Role.SITE_STAFF, [town_a])


@pytest.fixture
def site_b(town_b):
    """The outsider: staff of town B, must never see town A's people."""
    return _user("site_b", Role.SITE_STAFF, [town_b])


@pytest.fixture
def community_worker(community_a1):
    return _user("community_a1", Role.COMMUNITY_STAFF, [community_a1])


@pytest.fixture
def materials_clerk(city):
    return _user("materials", Role.MATERIALS_CLERK, [city])


@pytest.fixture
def enterprise_officer(city):
    return _user("enterprise", Role.ENTERPRISE_OFFICER, [city])


@pytest.fixture
def analyst(city):
    return _user("analyst", Role.ANALYST, [city])


@pytest.fixture
def admin_user(city):
    return _user("admin", Role.ADMIN, [city])


@pytest.fixture
def person_factory(city, town_a, community_a1):
    """Registers a person through the action; defaults place them in community A1."""
    from datetime import date

    from stdnum.cn import ric

    from closedloop.people.actions import PersonData, person_register

    counter = {"n": 0}

    def make(name="张三", *, community=None, town=None, birth=date(1990, 5, 17), female=False, actor=None, **extra):
        counter["n"] += 1
        seq = counter["n"] * 2 + (0 if female else 1)
        body = f"330782{birth:%Y%m%d}{seq:03d}"
        number = body + ric.calc_check_digit(body + "0")
        comm = community if community is not None else (None if town is not None else community_a1)
        data = PersonData(
            name=name, city=city, town=town or (comm.parent if comm else town_a), community=comm,
            doc_type="resident_id", doc_number=number, sex="F" if female else "M", birth_date=birth,
            phone=extra.pop("phone", f"1381234{counter['n']:04d}"), **extra,
        )
        return person_register(data=data, actor=actor)

    return make
