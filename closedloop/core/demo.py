"""Loading the demo city: jurisdictions, one login per role, synthetic people in
households, and the episodes of those under control.

Everything is written through the actions (so the demo has its audit trail,
its derived fields and its constraints like real data), inside one
transaction: a demo that fails half-way leaves nothing behind. The data
comes from the pure ``closedloop.lib.demo_city`` and ``demo_people``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.translation import gettext as _

from closedloop.core.actions import jurisdiction_create, user_create
from closedloop.core.models import Jurisdiction, User
from closedloop.core.roles import Role
from closedloop.facilities import demo as facilities_demo
from closedloop.lib import demo_city, demo_people
from closedloop.people.actions import PersonData, household_create, person_register
from closedloop.people.models import Person
from closedloop.quarantine import demo as loop_demo
from closedloop.quarantine.actions import episode_open
from closedloop.transfers import demo as transfers_demo

DEMO_PASSWORD = "closedloop-demo"
# The audit reason of every demo write that takes one.
AUDIT_REASON = "closedloop demo"
PROGRESS_EVERY = 500

# (username, role, full name, scope): scope is () for the city, (town,) or
# (town, community) by English name. The admin comes first: it is the actor
# of everything after it.
LOGINS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("demo-admin", Role.ADMIN, "演示·系统管理员", ()),
    ("demo-commander", Role.COMMANDER, "演示·指挥长", ()),
    ("demo-duty", Role.DUTY_OFFICER, "演示·值班长", ()),
    ("demo-taskgroup", Role.TASK_GROUP, "演示·工作专班", ()),
    ("demo-site-choucheng", Role.SITE_STAFF, "演示·稠城隔离点", ("Choucheng",)),
    ("demo-site-beiyuan", Role.SITE_STAFF, "演示·北苑隔离点", ("Beiyuan",)),
    ("demo-transfer", Role.TRANSFER_DESK, "演示·转运专班", ()),
    ("demo-town-choucheng", Role.COMMUNITY_STAFF, "演示·稠城街道", ("Choucheng",)),
    ("demo-community-xiangxi", Role.COMMUNITY_STAFF, "演示·香溪社区", ("Choucheng", "Xiangxi")),
    ("demo-materials", Role.MATERIALS_CLERK, "演示·物资保障", ()),
    ("demo-enterprise", Role.ENTERPRISE_OFFICER, "演示·助企服务", ()),
    ("demo-analyst", Role.ANALYST, "演示·数据分析", ()),
)


class DemoError(Exception):
    """The demo cannot be loaded here; the message says why and what to do."""


@dataclass
class DemoLogin:
    username: str
    role: str
    scope: Jurisdiction


@dataclass
class DemoResult:
    city: Jurisdiction
    towns: int
    communities: int
    households: int
    people: int
    episodes: dict[str, int] = field(default_factory=dict)  # category -> count
    logins: list[DemoLogin] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    seconds: float = 0.0


def check_database(using: str = DEFAULT_DB_ALIAS) -> None:
    """Raise DemoError unless every migration has been applied."""
    connection = connections[using]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        raise DemoError(_("The database cannot be reached: %(error)s") % {"error": exc}) from None
    if plan:
        raise DemoError(
            _("The database is not set up yet (%(count)d migrations not applied); run `closedloop migrate` first.")
            % {"count": len(plan)}
        )


def has_data() -> bool:
    """Whether the database already holds people or jurisdictions (the demo then stays out)."""
    return Person.objects.exists() or Jurisdiction.objects.exists()


def demo_load(*, persons: int, seed: int, stdout=None) -> DemoResult:
    """Load the demo city into an empty, migrated database; raise DemoError otherwise."""
    if persons < 0:
        raise DemoError(_("The number of people must not be negative."))
    check_database()
    started = time.monotonic()
    with transaction.atomic():
        if Person.objects.exists():
            raise DemoError(_("The database already has people; the demo is only loaded into an empty database."))
        if Jurisdiction.objects.exists():
            raise DemoError(
                _("The database already has jurisdictions; the demo is only loaded into an empty database.")
            )
        taken = sorted(User.objects.filter(username__in=[u for u, *_rest in LOGINS]).values_list("username", flat=True))
        if taken:
            raise DemoError(
                _("These demo accounts already exist: %(names)s; the demo is only loaded into an empty database.")
                % {"names": ", ".join(taken)}
            )
        result = _load(persons=persons, seed=seed, stdout=stdout)
    result.seconds = time.monotonic() - started
    return result


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _load(*, persons: int, seed: int, stdout) -> DemoResult:
    city = jurisdiction_create(
        code=demo_city.CITY_CODE, name=demo_city.CITY_NAME, name_en=demo_city.CITY_NAME_EN, level="city", actor=None
    )
    admin_name, admin_role, admin_full_name, _scope = LOGINS[0]
    admin = user_create(
        username=admin_name, password=DEMO_PASSWORD, role=admin_role, full_name=admin_full_name,
        jurisdictions=[city], is_staff=True, actor=None, check_password=False,
    )
    logins = [DemoLogin(admin_name, admin_role, city)]

    # Jurisdictions, by the administrator.
    places: dict[str, Jurisdiction] = {}
    by_name_en: dict[tuple[str, ...], Jurisdiction] = {(): city}
    communities = 0
    for t in demo_city.TOWNS:
        town = jurisdiction_create(code=t["code"], name=t["name"], name_en=t["name_en"], level="town",
                                   parent=city, actor=admin)
        places[town.code] = by_name_en[(t["name_en"],)] = town
        for c in t["communities"]:
            community = jurisdiction_create(code=c["code"], name=c["name"], name_en=c["name_en"],
                                            level="community", parent=town, actor=admin)
            places[community.code] = by_name_en[(t["name_en"], c["name_en"])] = community
            communities += 1

    # One login per role.
    for username, role, full_name, scope_key in LOGINS[1:]:
        scope = by_name_en[scope_key]
        user_create(
            username=username, password=DEMO_PASSWORD, role=role, full_name=full_name,
            jurisdictions=[scope], actor=admin, check_password=False,
        )
        logins.append(DemoLogin(username, role, scope))

    # People, their households and the episodes of those under control.
    rows = demo_people.generate(persons, seed, timezone.localdate())
    households: dict[str, list[dict]] = {}
    for row in rows:
        households.setdefault(row["household"], []).append(row)
    episodes: Counter[str] = Counter()
    done = 0
    _say(stdout, _("Registering %(count)d people…") % {"count": len(rows)})
    for members_rows in households.values():
        members = [person_register(data=_person_data(row, city, places), actor=admin, reason=AUDIT_REASON)
                   for row in members_rows]
        household_create(members=members, address=members_rows[0]["address"], actor=admin)
        for person, row in zip(members, members_rows, strict=True):
            if row["category"]:
                episode_open(person=person, category=row["category"], anchor_date=row["anchor_date"],
                             actor=admin, reason=AUDIT_REASON)
                episodes[row["category"]] += 1
        previous, done = done, done + len(members)
        if done // PROGRESS_EVERY > previous // PROGRESS_EVERY and done < len(rows):
            _say(stdout, _("%(done)d of %(total)d people registered") % {"done": done, "total": len(rows)})

    custodians = facilities_demo.build(city=city, admin=admin, seed=seed)
    loop_demo.place(city=city, admin=admin, seed=seed, custodians=custodians)
    facilities_demo.settle(city=city, admin=admin, seed=seed)
    loop_demo.complete_courses(city=city, admin=admin, seed=seed)
    facilities_demo.turn_around(city=city, admin=admin, seed=seed)
    facilities_demo.staff_and_care(city=city, admin=admin, seed=seed)
    # Residents isolated in ten other cities, as many as the city's own people, and a plan under way.
    transfers_demo.load(city=city, admin=admin, seed=seed, people=max(transfers_demo.AWAY_PEOPLE, persons))
    transfers_demo.plan_under_way(city=city, admin=admin)

    return DemoResult(
        city=city, towns=len(demo_city.TOWNS), communities=communities, households=len(households),
        people=len(rows), episodes=dict(episodes), logins=logins,
    )


def _person_data(row: dict, city: Jurisdiction, places: dict[str, Jurisdiction]) -> PersonData:
    return PersonData(
        name=row["name"], city=city, town=places[row["town_code"]], community=places[row["community_code"]],
        doc_type=row["doc_type"], doc_number=row["doc_number"], sex=row["sex"], birth_date=row["birth_date"],
        phone=row["phone"], address=row["address"], employer=row["employer"], flags=dict(row["flags"]),
        is_synthetic=True,
    )
