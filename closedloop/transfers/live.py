"""The returns planner's instance made from live data, and who cannot be planned and why.

``instance_for(city, now)`` reads the out-of-city registry (``AwayRecord``), the custody ledger's
projection, the fleet, the routes and the districts, and returns the planner's instance
(``closedloop.returns-instance/1``, a plain dict) with a ``LiveIndex`` that maps it back to the database:
group id → episode ids, origin id → facility, district id → town, and the people left out with their
reason. The planner itself (``closedloop.planning.returns``) never sees the database.

Who is planned: an open episode of the city with an ``AwayRecord`` not marked home or positive, held
(in custody, not in transit) by the custodian of the record's origin site, and not a passenger of a
coach trip that has started. People on the way (in transit, on a vehicle, at the station) are simply
not out there any more; the others who cannot be planned are reported with their reason, because
headquarters must see them: an origin without a ``Route``, a home town without a ``District``, no
release day from the other city, a household larger than a vehicle may carry, a positive test there,
or a ledger that does not place them at their origin.

Groups: one per origin site, household and home town (a household at two sites is two groups; one
going home to two towns, two groups). People without a household travel alone. A household waits for
its members: if one of them has no release day, none of them is planned.

Times: minute 0 (the epoch) is ``now`` rounded up to the next 10 minutes; a group is ready at 08:00
local time on its release day there, or at once (0) if it is released already or that moment is past.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from closedloop.planning.returns import instance as inst
from closedloop.quarantine import states
from closedloop.quarantine.choices import CustodianKind
from closedloop.transfers.choices import AwayStatus, PassengerStatus, TripKind, TripState
from closedloop.transfers.models import AwayRecord, District, Fleet, Passenger

RELEASE_HOUR = 8  # a group released there may leave from 08:00 local time on its release day
EPOCH_STEP = 10  # minutes: minute 0 is now rounded up to a multiple of this
LIVE_KEY = "live"  # the key of the index inside a stored instance (validators ignore extra keys)

# A trip in one of these states has started: its passengers are on it, not out there to be planned.
STARTED = (TripState.BOARDING, TripState.UNDER_WAY, TripState.ARRIVED, TripState.DONE)
# Custodians that hold people on their way home: not out there, not unplannable either.
ON_THE_WAY = (CustodianKind.VEHICLE_TRIP, CustodianKind.TRANSFER_STATION, CustodianKind.HOME_COMMUNITY)

REASONS = {
    "no_route": _("Their origin site has no route to the transfer station (the travel time is not known)."),
    "no_district": _("Their home town has no shuttles from the transfer station (it is not a home district)."),
    "no_release_day": _("The other city has not said when they are released."),
    "household_waits": _("A member of their household at the same site has no release day yet; a household "
                         "travels together."),
    "too_large": _("Their household is larger than a coach or a shuttle may carry, and a household is never "
                   "split."),
    "positive": _("Tested positive there."),
    "not_held": _("The custody ledger does not show them held by their origin site."),
}


@dataclass(frozen=True)
class Skipped:
    """A person out of the city who cannot be planned now, and why (a key of ``REASONS``)."""

    episode: int
    origin: int  # facility
    reason: str

    @property
    def reason_text(self) -> str:
        return str(REASONS.get(self.reason, self.reason))


@dataclass
class LiveIndex:
    """The instance's ids in the database's terms."""

    epoch: datetime
    groups: dict[str, list[int]] = field(default_factory=dict)  # group id -> episode ids
    origins: dict[str, int] = field(default_factory=dict)  # origin id -> facility id
    districts: dict[str, int] = field(default_factory=dict)  # district id -> town id
    skipped: list[Skipped] = field(default_factory=list)

    def episode_ids(self) -> list[int]:
        return [e for members in self.groups.values() for e in members]

    def group_of(self) -> dict[int, str]:
        return {e: g for g, members in self.groups.items() for e in members}

    def to_json(self) -> dict:
        return {"groups": self.groups, "origins": self.origins, "districts": self.districts,
                "skipped": [{"episode": s.episode, "origin": s.origin, "reason": s.reason} for s in self.skipped]}

    @classmethod
    def from_instance(cls, instance: dict, epoch: datetime) -> LiveIndex:
        data = instance.get(LIVE_KEY) or {}
        return cls(epoch=epoch, groups={g: list(m) for g, m in data.get("groups", {}).items()},
                   origins=dict(data.get("origins", {})), districts=dict(data.get("districts", {})),
                   skipped=[Skipped(s["episode"], s["origin"], s["reason"]) for s in data.get("skipped", [])])


def epoch_for(now: datetime) -> datetime:
    """``now`` rounded up to the next ``EPOCH_STEP`` minutes, in local time (aware)."""
    local = timezone.localtime(now)
    base = local.replace(second=0, microsecond=0)
    if base < local:
        base += timedelta(minutes=1)
    return base + timedelta(minutes=(-base.minute) % EPOCH_STEP)


def minutes_after(epoch: datetime, moment: datetime) -> int:
    """Whole minutes from the epoch to ``moment`` (rounded up), never below 0."""
    return max(0, math.ceil((moment - epoch).total_seconds() / 60))


def release_moment(day: date) -> datetime:
    return datetime.combine(day, time(RELEASE_HOUR), tzinfo=timezone.get_current_timezone())


def fleet_of(city) -> Fleet:
    fleet = Fleet.objects.select_related("station").filter(city=city).first()
    if fleet is None:
        raise ValidationError(_("The city has no fleet and transfer station settings yet; enter them first "
                                "(Fleet and station, in the admin)."))
    return fleet


def instance_for(city, now: datetime) -> tuple[dict, LiveIndex]:
    """The planner's instance for the people of ``city`` out of the city at ``now``, and its index."""
    fleet = fleet_of(city)
    epoch = epoch_for(now)
    index = LiveIndex(epoch=epoch)
    on_started_coach = set(Passenger.objects.filter(
        trip__plan__city=city, trip__kind=TripKind.COACH, trip__state__in=STARTED,
        status__in=(PassengerStatus.PLANNED, PassengerStatus.BOARDED)).values_list("episode_id", flat=True))
    rows = list(
        AwayRecord.objects.filter(episode__city=city, episode__status="open").exclude(status=AwayStatus.HOME)
        .values("episode_id", "status", "release_on", "home_town_id", "home_town__code", "origin_id",
                "origin__code", "origin__other_city", "origin__custodian_id", "origin__route__travel_minutes",
                "episode__state", "episode__custodian_id", "episode__custodian__kind", "episode__person_id",
                "episode__person__household_id")
        .order_by("origin__code", "episode_id"))
    districts = {d.town_id: d for d in District.objects.filter(town_id__in={r["home_town_id"] for r in rows})}

    coach_cap = inst.capacity(fleet.coach_seats, float(fleet.coach_max_load))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        skip = _why_not(r, on_started_coach, districts)
        if skip == "on_the_way":
            continue
        if skip:
            index.skipped.append(Skipped(r["episode_id"], r["origin_id"], skip))
            continue
        household = r["episode__person__household_id"]
        member = ("h", household) if household else ("p", r["episode__person_id"])
        groups[(r["origin_id"], member, r["home_town_id"])].append(r)

    origins: dict[int, dict] = {}
    used_districts: dict[int, District] = {}
    towns_per_household = defaultdict(set)
    for origin_id, member, town_id in groups:
        towns_per_household[(origin_id, member)].add(town_id)
    for (origin_id, member, town_id), members in sorted(groups.items(), key=lambda kv: _group_id(kv[0], False)):
        if any(m["status"] != AwayStatus.RELEASED and m["release_on"] is None for m in members):
            index.skipped += [Skipped(m["episode_id"], origin_id, "no_release_day" if m["status"] !=
                                      AwayStatus.RELEASED and m["release_on"] is None else "household_waits")
                              for m in members]
            continue
        district = districts[town_id]
        if len(members) > min(coach_cap, inst.capacity(district.seats, float(district.max_load))):
            index.skipped += [Skipped(m["episode_id"], origin_id, "too_large") for m in members]
            continue
        first = members[0]
        origin = origins.setdefault(origin_id, {
            "id": first["origin__code"], "city": first["origin__other_city"],
            "travel_minutes": first["origin__route__travel_minutes"], "groups": []})
        gid = _group_id((origin_id, member, town_id), len(towns_per_household[(origin_id, member)]) > 1)
        origin["groups"].append({"id": gid, "size": len(members), "ready_minute": max(_ready(m, epoch) for m in members),
                                 "district": first["home_town__code"]})
        index.groups[gid] = [m["episode_id"] for m in members]
        index.origins[first["origin__code"]] = origin_id
        index.districts[first["home_town__code"]] = town_id
        used_districts[town_id] = district

    station = fleet.station
    codes = {town_id: code for code, town_id in index.districts.items()}
    instance = {
        "format": inst.FORMAT,
        "epoch": epoch.isoformat(),
        "station": {"id": station.code if station else "station", "lanes": fleet.lanes,
                    "minutes_per_person": fleet.minutes_per_person},
        "coaches": {"count": fleet.coaches, "seats": fleet.coach_seats, "max_load": float(fleet.coach_max_load),
                    "board_minutes": fleet.coach_board_minutes,
                    "turnaround_minutes": fleet.coach_turnaround_minutes},
        "origins": [origins[k] for k in sorted(origins, key=lambda k: origins[k]["id"])],
        "districts": [
            {"id": codes[d.town_id], "travel_minutes": d.travel_minutes, "shuttles": d.shuttles, "seats": d.seats,
             "max_load": float(d.max_load), "board_minutes": d.board_minutes,
             "turnaround_minutes": d.turnaround_minutes}
            for d in sorted(used_districts.values(), key=lambda d: codes[d.town_id])],
    }
    index.skipped.sort(key=lambda s: (s.origin, s.episode))
    return instance, index


def _why_not(r: dict, on_started_coach: set[int], districts: dict[int, District]) -> str:
    """"" if the person can be planned, "on_the_way" if they are no longer out there, else a reason."""
    held_there = r["episode__state"] == states.IN_CUSTODY and r["episode__custodian_id"] == r["origin__custodian_id"]
    if not held_there:
        if r["episode__state"] == states.IN_TRANSIT or r["episode__custodian__kind"] in ON_THE_WAY:
            return "on_the_way"
        return "not_held"
    if r["episode_id"] in on_started_coach:
        return "on_the_way"
    if r["status"] == AwayStatus.POSITIVE:
        return "positive"
    if r["origin__route__travel_minutes"] is None:
        return "no_route"
    if r["home_town_id"] not in districts:
        return "no_district"
    return ""


def _group_id(key: tuple, with_town: bool) -> str:
    """Short, stable and readable: o<site>-h<household> or o<site>-p<person> (+ -t<town> if it splits)."""
    origin_id, (kind, pk), town_id = key
    return f"o{origin_id}-{kind}{pk}" + (f"-t{town_id}" if with_town else "")


def _ready(member: dict, epoch: datetime) -> int:
    if member["status"] == AwayStatus.RELEASED:
        return 0
    return minutes_after(epoch, release_moment(member["release_on"]))
