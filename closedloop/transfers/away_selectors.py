"""Reads of the out-of-city registry: who of ours is still out of the city, and the headline numbers.

*Still out of the city*: an ``AwayRecord`` not marked home whose episode is open and held by a site in
another city, or by a party of the way home (a coach or shuttle trip, the transfer station) — on the
way, but not home yet. Once the home community holds them, they are home.

Of those still at their site, *readiness* says when they may leave: ready now (released there, or
their release day is today or past), tomorrow, later, release day not known; a positive person is
counted apart and is never ready (the other city treats them; planning leaves them out).

Scope: a record is visible to a user whose jurisdictions hold the person, or the home town the
record names (the town's staff receive them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.core.roles import Cap
from closedloop.core.scoping import jurisdiction_q, require, user_jurisdictions
from closedloop.facilities.choices import FacilityKind
from closedloop.facilities.models import Facility
from closedloop.people.models import Person
from closedloop.people.selectors import search_q
from closedloop.quarantine.choices import CustodianKind
from closedloop.transfers.choices import AwayStatus, PlanStatus
from closedloop.transfers.models import AwayRecord, TransferPlan

# Who holds a person out of the city: the site there, then the parties of the way home.
AT_SITE = CustodianKind.OUT_OF_CITY_SITE
ON_THE_WAY = (CustodianKind.VEHICLE_TRIP, CustodianKind.TRANSFER_STATION)
OUT_KINDS = (AT_SITE, *ON_THE_WAY)
WAITING = (AwayStatus.ISOLATED, AwayStatus.MOVED)  # still isolated there: the release day decides

READINESS = {
    "now": _("Ready now"),
    "tomorrow": _("Ready tomorrow"),
    "later": _("Later"),
    "unknown": _("Release day not known"),
    "positive": _("Tested positive there"),
    "on_the_way": _("On the way home"),
}
SORTS = {
    "name": ("episode__person__name_pinyin", "pk"),
    "release": ("release_on", "episode__person__name_pinyin", "pk"),  # days not known last
    "site": ("origin__other_city", "origin__name", "episode__person__name_pinyin", "pk"),
    "town": ("home_town__code", "episode__person__name_pinyin", "pk"),
    "reported": ("reported_at", "pk"),
}
DEFAULT_SORT = "release"
FILTER_KEYS = ("q", "city", "site", "town", "readiness", "status", "all", "sort")


# --- scope and the definitions ------------------------------------------------------------------------

def away_visible(user) -> QuerySet[AwayRecord]:
    require(user, Cap.VIEW_PEOPLE)
    person = {"city": "episode__person__city", "community": "episode__person__community"}
    return AwayRecord.objects.filter(jurisdiction_q(user, town="episode__person__town", **person)
                                     | jurisdiction_q(user, town="home_town", **person))


def still_out_q() -> Q:
    return (~Q(status=AwayStatus.HOME) & Q(episode__status="open")
            & Q(episode__custodian__kind__in=OUT_KINDS))


def readiness_q(key: str, today: date) -> Q:
    """The records of one readiness bucket, among those still out of the city."""
    at_site = Q(episode__custodian__kind=AT_SITE)
    waiting = at_site & Q(status__in=WAITING)
    tomorrow = today + timedelta(days=1)
    return {
        "now": at_site & (Q(status=AwayStatus.RELEASED) | Q(status__in=WAITING, release_on__lte=today)),
        "tomorrow": waiting & Q(release_on=tomorrow),
        "later": waiting & Q(release_on__gt=tomorrow),
        "unknown": waiting & Q(release_on__isnull=True),
        "positive": at_site & Q(status=AwayStatus.POSITIVE),
        "on_the_way": Q(episode__custodian__kind__in=ON_THE_WAY),
    }[key]


def readiness_of(record: AwayRecord, today: date) -> str | None:
    """The bucket of one record (its episode and custodian loaded); None when it is no longer out."""
    episode = record.episode
    custodian = episode.custodian
    if record.status == AwayStatus.HOME or episode.status != "open" or custodian is None \
            or custodian.kind not in OUT_KINDS:
        return None
    if custodian.kind != AT_SITE:
        return "on_the_way"
    if record.status == AwayStatus.POSITIVE:
        return "positive"
    if record.status == AwayStatus.RELEASED:
        return "now"
    if record.release_on is None:
        return "unknown"
    if record.release_on <= today:
        return "now"
    return "tomorrow" if record.release_on == today + timedelta(days=1) else "later"


def _counts(today: date) -> dict:
    return {"total": Count("pk"), **{key: Count("pk", filter=readiness_q(key, today)) for key in READINESS}}


# --- the headline ---------------------------------------------------------------------------------------

@dataclass
class Tally:
    """People still out of the city in one group (a site, a city, a town, or all), by readiness."""

    total: int = 0
    now: int = 0
    tomorrow: int = 0
    later: int = 0
    unknown: int = 0
    positive: int = 0
    on_the_way: int = 0

    def add(self, row: dict) -> None:
        for key in ("total", *READINESS):
            setattr(self, key, getattr(self, key) + row[key])

    @property
    def cells(self) -> list[tuple[str, int]]:
        """(readiness, count) in the order of ``READINESS``: the columns of a headline table."""
        return [(key, getattr(self, key)) for key in READINESS]


@dataclass
class SiteTally(Tally):
    site_id: int = 0
    name: str = ""
    city: str = ""
    travel_minutes: int | None = None  # None: no route to the station yet (planning cannot take them)


@dataclass
class CityTally(Tally):
    city: str = ""
    sites: list[SiteTally] = field(default_factory=list)


@dataclass
class TownTally(Tally):
    town_id: int = 0
    name: str = ""
    code: str = ""


@dataclass
class PlanFigure:
    """The adopted plan's answer to "when will the last of them be home?"."""

    plan_id: int
    last_home_at: datetime
    bound_at: datetime  # no plan can bring the last one home before this
    people: int
    makespan: int
    lower_bound: int


@dataclass
class Headline:
    today: date
    all: Tally
    cities: list[CityTally]
    sites: list[SiteTally]
    towns: list[TownTally]
    plan: PlanFigure | None

    @property
    def buckets(self) -> list[tuple[str, str, int]]:
        """(readiness, label, count) of everyone still out."""
        return [(key, str(READINESS[key]), n) for key, n in self.all.cells]

    @property
    def sites_without_route(self) -> list[SiteTally]:
        return [s for s in self.sites if s.travel_minutes is None]


def user_city_ids(user) -> list[int]:
    return sorted({j.pk if j.level == Jurisdiction.Level.CITY else j.city_id for j in user_jurisdictions(user)}
                  - {None})


def adopted_plan(user) -> PlanFigure | None:
    plan = (TransferPlan.objects.filter(status=PlanStatus.ADOPTED, city_id__in=user_city_ids(user))
            .order_by("-created_at", "-pk").first())
    if plan is None:
        return None
    return PlanFigure(plan_id=plan.pk, last_home_at=plan.epoch + timedelta(minutes=plan.makespan),
                      bound_at=plan.epoch + timedelta(minutes=plan.lower_bound), people=plan.people,
                      makespan=plan.makespan, lower_bound=plan.lower_bound)


def headline(user, today: date) -> Headline:
    """Still out of the city: in all, by origin city and site, by home town, by readiness; the adopted plan.

    Three queries, whatever the number of people (plus the user's jurisdictions, read once per request).
    """
    out = away_visible(user).filter(still_out_q()).order_by()
    counts = _counts(today)
    sites: list[SiteTally] = []
    for row in (out.values("origin_id", "origin__name", "origin__other_city", "origin__route__travel_minutes")
                .annotate(**counts).order_by("origin__other_city", "origin__name", "origin_id")):
        site = SiteTally(site_id=row["origin_id"], name=row["origin__name"], city=row["origin__other_city"],
                         travel_minutes=row["origin__route__travel_minutes"])
        site.add(row)
        sites.append(site)
    towns: list[TownTally] = []
    for row in (out.values("home_town_id", "home_town__name", "home_town__name_en", "home_town__code")
                .annotate(**counts).order_by("home_town__code")):
        english = (get_language() or "") == "en" and row["home_town__name_en"]
        town = TownTally(town_id=row["home_town_id"], code=row["home_town__code"],
                         name=row["home_town__name_en"] if english else row["home_town__name"])
        town.add(row)
        towns.append(town)
    everyone = Tally()
    cities: dict[str, CityTally] = {}
    for site in sites:
        everyone.add(site.__dict__)
        city = cities.setdefault(site.city, CityTally(city=site.city))
        city.add(site.__dict__)
        city.sites.append(site)
    return Headline(today=today, all=everyone, cities=list(cities.values()), sites=sites, towns=towns,
                    plan=adopted_plan(user))


# --- the list ---------------------------------------------------------------------------------------------

def away_get(user, pk: int) -> AwayRecord | None:
    return (away_visible(user).select_related("episode__person__town", "episode__person__community",
                                              "episode__custodian", "origin__custodian", "home_town")
            .filter(pk=pk).first())


def origin_sites(user) -> list[Facility]:
    """The sites in other cities registered by the user's cities, for the filters and the report form."""
    return list(Facility.objects.filter(kind=FacilityKind.OUT_OF_CITY_SITE, city_id__in=user_city_ids(user))
                .order_by("other_city", "name"))


def parse_filters(params, *, sites: list[Facility] | None = None) -> tuple[dict, list[dict]]:
    """The list's parameters, checked: (filters with bad values blanked, errors as {"field", "message"})."""
    f = {k: (params.get(k) or "").strip() for k in FILTER_KEYS}
    errors: list[dict] = []

    def bad(key: str, message) -> None:
        f[key] = ""
        errors.append({"field": key, "message": str(message)})

    for key in ("site", "town"):
        if f[key] and not f[key].isdigit():
            bad(key, _("Give the id number of the site or town."))
    if f["site"] and sites is not None and int(f["site"]) not in {s.pk for s in sites}:
        bad("site", _("No such site in another city."))
    if f["readiness"] and f["readiness"] not in READINESS:
        bad("readiness", _("Use one of: %(choices)s.") % {"choices": ", ".join(READINESS)})
    if f["status"] and f["status"] not in AwayStatus.values:
        bad("status", _("Use one of: %(choices)s.") % {"choices": ", ".join(AwayStatus.values)})
    if f["all"] not in ("", "0", "1", "true", "false"):
        bad("all", _("Use 1 or 0."))
    f["all"] = "1" if f["all"] in ("1", "true") else ""
    if f["sort"] and f["sort"].removeprefix("-") not in SORTS:
        bad("sort", _("Use one of: %(choices)s.") % {"choices": ", ".join(SORTS)})
    return f, errors


def away_search(user, filters: dict, today: date) -> QuerySet[AwayRecord]:
    """The visible records matching checked filters (``parse_filters``), sorted. By default only those still
    out of the city; ``all`` (or the status home) shows everyone the registry has had."""
    rows = away_visible(user)
    if not filters.get("all") and filters.get("status") != AwayStatus.HOME:
        rows = rows.filter(still_out_q())
    if filters.get("q"):
        rows = rows.filter(episode__person_id__in=Person.objects.filter(search_q(filters["q"])).values("pk"))
    if filters.get("city"):
        rows = rows.filter(origin__other_city=filters["city"])
    if filters.get("site"):
        rows = rows.filter(origin_id=int(filters["site"]))
    if filters.get("town"):
        rows = rows.filter(home_town_id=int(filters["town"]))
    if filters.get("readiness"):
        rows = rows.filter(still_out_q() & readiness_q(filters["readiness"], today))
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    return rows.select_related("episode__person__community", "episode__custodian", "origin",
                               "home_town").order_by(*ordering(filters.get("sort") or DEFAULT_SORT))


def ordering(key: str) -> list:
    descending = key.startswith("-")
    first, *rest = SORTS[key.removeprefix("-")]
    if first == "release_on":  # a release day not known sorts last both ways
        head = F(first).desc(nulls_last=True) if descending else F(first).asc(nulls_last=True)
    else:
        head = f"-{first}" if descending else first
    return [head, *rest]


def page_size() -> int:
    return settings.PAGE_SIZE
