"""The demo city's residents out of the city: the rosters ten other cities sent, imported as a clerk would.

``load(city=, admin=, seed=)`` is called by ``closedloop.core.demo`` inside its one transaction, after the
facilities (the ten sites ``away-01`` … ``away-10``, the transfer station) and the closed loop's episodes
exist. It sets the routes (coach minutes from each site to the station), a home district per town and
the fleet; writes one roster per city (a CSV with a title row, as headquarters send them) of synthetic
residents isolated there, families together, plus the city's own ``out_of_city`` episodes that no roster
named yet; imports each through ``away_import``; groups families into households; and records what the
cities reported after: one person moved to a second site in Hangzhou. Release days spread over the next
week, a few are released already, one tested positive. Deterministic for a seed.

The fleet, routes and districts are configuration rows written here directly, as the test fixtures do.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from closedloop.core.models import Jurisdiction
from closedloop.facilities.actions import facility_create
from closedloop.facilities.models import Facility
from closedloop.lib import demo_people
from closedloop.lib.categories import OUT_OF_CITY
from closedloop.lib.dates import format_cn
from closedloop.lib.identity import RESIDENT_ID, synthetic_resident_id
from closedloop.people.actions import household_create
from closedloop.people.derive import document_hash
from closedloop.people.models import Person
from closedloop.quarantine import states
from closedloop.quarantine.choices import CustodianKind
from closedloop.quarantine.models import Episode
from closedloop.transfers.actions import away_import, away_report
from closedloop.transfers.choices import AwayStatus
from closedloop.transfers.models import AwayRecord, District, Fleet, Route

AWAY_PEOPLE = 240
# Coach minutes from a site in each city to the transfer station.
TRAVEL_MINUTES = {"杭州市": 120, "宁波市": 180, "温州市": 200, "金华市": 40, "绍兴市": 140, "台州市": 170,
                  "丽水市": 120, "衢州市": 110, "湖州市": 200, "上海市": 260}
# Days from today to the release there, weighted: a few released already, most within the week.
RELEASE_OFFSETS = ((-2, 1), (-1, 2), (0, 3), (1, 4), (2, 4), (3, 3), (4, 3), (5, 2), (6, 2), (7, 1))
UNKNOWN_RELEASE_SHARE = 0.03
SECOND_SITE = ("杭州市", "杭州市余杭区集中隔离点", "away-11")  # where the moved person goes
HEADER = ["序号", "姓名", "身份证号", "联系电话", "隔离点", "所在城市", "预计解除时间", "返乡镇街", "村社区", "状态"]


def load(*, city: Jurisdiction, admin, seed: int, people: int = AWAY_PEOPLE) -> dict[str, int]:
    """Routes, districts, the fleet, and ``people`` synthetic residents isolated in the ten other cities."""
    rng = random.Random(seed * 53 + 17)
    today = timezone.localdate()
    sites = list(Facility.objects.filter(city=city, kind="out_of_city_site").order_by("code"))
    if not sites:
        return {"people": 0, "records": 0}
    second = facility_create(kind="out_of_city_site", name=SECOND_SITE[1], code=SECOND_SITE[2], city=city,
                             other_city=SECOND_SITE[0], status="open", actor=admin)
    _configure(city, [*sites, second], rng)
    rows_by_site: dict[int, list[dict]] = defaultdict(list)
    households = _residents(city, sites, people, seed, today, rng, rows_by_site)
    _listed_already(city, sites, today, rng, rows_by_site)
    with tempfile.TemporaryDirectory() as tmp:
        for site in sites:
            if rows_by_site[site.pk]:
                path = _roster(Path(tmp), site, rows_by_site[site.pk], today)
                away_import(path=path, actor=admin, city=city, file_name=path.name)
    _households(households, admin)
    _moved(city, sites[0], second, admin)
    return {"people": sum(len(rows) for rows in rows_by_site.values()),
            "records": AwayRecord.objects.filter(episode__city=city).count()}


def _configure(city: Jurisdiction, sites: list[Facility], rng: random.Random) -> None:
    for site in sites:
        Route.objects.update_or_create(origin=site, defaults={"travel_minutes": TRAVEL_MINUTES.get(site.other_city,
                                                                                                   150)})
    for i, town in enumerate(Jurisdiction.objects.filter(city=city, level="town").order_by("code")):
        # The central streets are near the station; the outer towns far, with more shuttles.
        District.objects.update_or_create(town=town, defaults={
            "travel_minutes": 15 + 4 * i + rng.randint(0, 6), "shuttles": 2 + i % 3, "seats": 14,
            "max_load": Decimal("1"), "board_minutes": 10, "turnaround_minutes": 15})
    station = Facility.objects.filter(city=city, kind="transfer_station").order_by("code").first()
    Fleet.objects.update_or_create(city=city, defaults={
        "station": station, "lanes": 4, "minutes_per_person": 3, "coaches": 12, "coach_seats": 45,
        "coach_max_load": Decimal("0.5"), "coach_board_minutes": 30, "coach_turnaround_minutes": 60})


def _release(rng: random.Random, today: date) -> tuple[date | None, str]:
    if rng.random() < UNKNOWN_RELEASE_SHARE:
        return None, "在隔"
    offset = rng.choices([o for o, _w in RELEASE_OFFSETS], weights=[w for _o, w in RELEASE_OFFSETS])[0]
    return today + timedelta(days=offset), "已解除" if offset < 0 else "在隔"


def _free_id(row: dict, taken: set[str]) -> str:
    """The row's synthetic ID number, or another of the same birth day and sex no one holds yet."""
    number, female = row["doc_number"], row["sex"] == "F"
    sequence = 0
    while document_hash(RESIDENT_ID, number) in taken:
        number = synthetic_resident_id(row["birth_date"], sequence, female)
        sequence += 1
    taken.add(document_hash(RESIDENT_ID, number))
    return number


def _residents(city, sites, people, seed, today, rng, rows_by_site) -> list[list[str]]:
    """Roster rows of synthetic residents, a family at one site with one release day; their ID numbers by family."""
    generated = demo_people.generate(people, seed * 59 + 3, today)
    places = {j.code: j for j in Jurisdiction.objects.filter(city=city, level__in=["town", "community"])}
    hashes = [document_hash(RESIDENT_ID, r["doc_number"]) for r in generated]
    taken = set(Person.objects.filter(id_hash__in=hashes).values_list("id_hash", flat=True))
    families: dict[str, list[dict]] = defaultdict(list)
    for row in generated:
        families[row["household"]].append(row)
    households, positive_done = [], False
    for members in families.values():
        site = rng.choice(sites)
        release_on, status = _release(rng, today)
        if not positive_done and len(members) == 1 and release_on and release_on > today + timedelta(days=1):
            status, positive_done = "阳性", True
        numbers = []
        for row in members:
            town, community = places.get(row["town_code"]), places.get(row["community_code"])
            number = _free_id(row, taken)
            numbers.append(number)
            rows_by_site[site.pk].append({
                "name": row["name"], "doc_number": number, "phone": row["phone"], "site": site,
                "release_on": release_on, "town": town.name if town else "", "status": status,
                "community": community.name if community else ""})
        households.append(numbers)
    return households


def _listed_already(city, sites, today, rng, rows_by_site) -> None:
    """The city's own out-of-city episodes (the closed loop's demo) that no roster named yet."""
    episodes = (Episode.objects.filter(city=city, category=OUT_OF_CITY, status="open", away__isnull=True)
                .select_related("person__town", "person__community", "custodian").order_by("pk"))
    by_custodian = {s.custodian_id: s for s in sites}
    for episode in episodes:
        if episode.state == states.AWAITING:
            site = rng.choice(sites)
        elif episode.state == states.IN_CUSTODY and episode.custodian.kind == CustodianKind.OUT_OF_CITY_SITE \
                and episode.custodian_id in by_custodian:
            site = by_custodian[episode.custodian_id]
        else:
            continue
        person = episode.person
        if person.town is None or not person.doc_number:
            continue
        release_on, status = _release(rng, today)
        rows_by_site[site.pk].append({
            "name": person.name, "doc_number": person.doc_number, "phone": person.phone, "site": site,
            "release_on": release_on, "town": person.town.name, "status": status,
            "community": person.community.name if person.community else ""})


def _roster(folder: Path, site: Facility, rows: list[dict], today: date) -> Path:
    path = folder / f"{site.other_city}集中隔离义乌籍人员名单.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"{site.other_city}集中隔离义乌籍人员名单（{format_cn(today)}）"])
        writer.writerow(HEADER)
        for i, row in enumerate(rows, start=1):
            writer.writerow([i, row["name"], row["doc_number"], row["phone"], site.name, site.other_city,
                             row["release_on"].isoformat() if row["release_on"] else "", row["town"],
                             row["community"], row["status"]])
    return path


def _households(households: list[list[str]], admin) -> None:
    for numbers in households:
        if len(numbers) < 2:
            continue
        hashes = [document_hash(RESIDENT_ID, n) for n in numbers]
        members = list(Person.objects.filter(id_hash__in=hashes, household__isnull=True))
        if len(members) > 1:
            members.sort(key=lambda p: hashes.index(p.id_hash))
            household_create(members=members, actor=admin)


def _moved(city: Jurisdiction, first: Facility, second: Facility, admin) -> None:
    """Hangzhou moved one person to its second site: a hand-over in the custody ledger."""
    record = (AwayRecord.objects.filter(origin=first, status=AwayStatus.ISOLATED, episode__status="open",
                                        episode__custodian_id=first.custodian_id)
              .select_related("episode__person", "origin").order_by("pk").first())
    if record is not None:
        away_report(record=record, status=AwayStatus.MOVED, origin=second, actor=admin,
                    note="杭州市指挥部通报：转至余杭区集中隔离点")


def plan_under_way(*, city: Jurisdiction, admin) -> dict[str, int]:
    """Headquarters makes and adopts a plan from the demo's data, and the first coach is dispatched and
    boarded (everyone passing the checklist), so the board shows a plan under way."""
    from closedloop.transfers.actions import NothingToPlan, plan_adopt, plan_make, trip_board, trip_dispatch
    from closedloop.transfers.checklist import load as load_checklist
    from closedloop.transfers.models import Trip

    try:
        plan = plan_adopt(plan=plan_make(city=city, actor=admin, time_limit=2, note="demo"), actor=admin)
    except NothingToPlan:
        return {"trips": 0, "boarded": 0}
    first = Trip.objects.filter(plan=plan, kind="coach").order_by("depart_at", "pk").first()
    if first is None:
        return {"trips": 0, "boarded": 0}
    trip_dispatch(trip=first, plate="浙G·K2022", driver="吴师傅", escorts="楼医生 陈护士", actor=admin)
    stage = load_checklist().stage("boarding")
    passengers = list(first.passengers.values_list("episode_id", flat=True))
    result = trip_board(
        trip=first, answers={pk: {i.code: True for i in stage.person_items} for pk in passengers},
        trip_answers={i.code: True for i in stage.ticked_trip_items}, giver="隔离点值班员", receiver="楼医生",
        actor=admin,
    )
    return {"trips": Trip.objects.filter(plan=plan).count(), "boarded": len(result.handed_over)}
