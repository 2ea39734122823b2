"""The manifest of a trip: printable A4 with both sides' signature blocks, and the workbook; always masked."""

from __future__ import annotations

import io
import re

import pytest
from python_calamine import CalamineWorkbook

from closedloop.transfers.actions import plan_adopt, plan_make
from closedloop.transfers.models import Trip
from tests.transfers.plan_helpers import board, client_for, world


@pytest.fixture
def plan(person_factory, hangzhou_site, ningbo_site, community_b1, fleet, city, commander):
    world(person_factory, hangzhou_site, ningbo_site, community_b1)
    return plan_adopt(plan=plan_make(city=city, actor=commander, time_limit=0.3), actor=commander)


@pytest.fixture
def coach(plan):
    """The coach trip carrying the Zhang household (three people) from Hangzhou."""
    trip = Trip.objects.filter(plan=plan, kind="coach", passengers__episode__person__name="张伟").get()
    Trip.objects.filter(pk=trip.pk).update(plate="浙G·12345", driver="王师傅", escorts="李医生、陈护士")
    return Trip.objects.get(pk=trip.pk)


def url(trip) -> str:
    return f"/transfers/plans/trips/{trip.pk}/manifest/"


def test_the_printed_manifest_of_a_coach(coach, commander, hangzhou_site, station):
    response = client_for(commander).get(url(coach))
    assert response.status_code == 200
    html = response.content.decode()
    people = list(coach.passengers.select_related("episode__person"))
    for p in people:
        person = p.episode.person
        assert person.name in html and person.doc_number_masked in html and person.phone_masked in html
        assert person.doc_number not in html and person.phone not in html
        assert p.group in html
    assert "浙G·12345" in html and "王师傅" in html and "李医生、陈护士" in html
    assert hangzhou_site.name in html and station.name in html
    assert f'data-people="{len(people)}" data-capacity="22"' in html  # 45 seats at half load
    # Both hand-overs of a coach, each signed by both sides with a date and time.
    assert re.findall(r'data-stage="(\w+)"', html) == ["boarding", "station"]
    assert html.count("Handed over by") == 2 and html.count("Received by") == 2 and html.count("Date and time") == 4
    assert "@page { size: A4" in html


def test_a_shuttle_manifest_signs_over_to_the_community(plan, commander, town_a):
    shuttle = Trip.objects.filter(plan=plan, kind="shuttle", town=town_a).first()
    html = client_for(commander).get(url(shuttle)).content.decode()
    assert re.findall(r'data-stage="(\w+)"', html) == ["shuttle", "home"]
    assert 'data-capacity="14"' in html and "Screening lane" not in html


def test_people_left_behind_stay_on_the_list_but_not_in_the_seats(coach, commander):
    first = coach.passengers.order_by("pk").first()
    board(coach, commander, failing=[first.episode_id])
    html = client_for(commander).get(url(coach)).content.decode()
    assert 'data-status="left_behind" class="left-behind"' in html
    left = coach.passengers.filter(group=first.group).count()
    assert f'data-people="{coach.passengers.count() - left}"' in html


def test_the_manifest_workbook_parses_and_is_masked(coach, commander):
    response = client_for(commander).get(url(coach) + "?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"] and f"coach-{coach.pk}" in response["Content-Disposition"]
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    cells = [str(c) for row in rows for c in row if c not in ("", None)]
    assert cells[0].startswith("Transfer manifest · Coach")
    assert "浙G·12345" in cells and "王师傅" in cells
    header = next(i for i, row in enumerate(rows) if row and row[0] == "No.")
    assert rows[header][:7] == ["No.", "Name", "Sex", "ID number", "Phone", "Household group", "Goes home to"]
    lines = [r for r in rows[header + 1:] if r and isinstance(r[0], (int, float)) and r[0] >= 1]
    people = {p.episode.person.name: p.episode.person for p in coach.passengers.select_related("episode__person")}
    assert sorted(r[1] for r in lines) == sorted(people)
    for r in lines:
        person = people[r[1]]
        assert r[3] == person.doc_number_masked and r[4] == person.phone_masked and "*" in r[3]
    assert all(person.doc_number not in cells for person in people.values())
    assert cells.count("Signature") == 1 + 4 and cells.count("Date and time") == 4


def test_the_manifest_is_for_those_who_run_the_trips(coach, plan, site_b, materials_clerk, analyst, client, town_a,
                                                     community_worker):
    assert client_for(site_b).get(url(coach)).status_code == 404
    assert client_for(materials_clerk).get(url(coach)).status_code == 403
    assert client_for(analyst).get(url(coach)).status_code == 200
    assert client_for(analyst).post(url(coach)).status_code == 405
    assert client.get(url(coach)).status_code == 302
    assert client_for(analyst).get("/transfers/plans/trips/999999/manifest/").status_code == 404
    # A town receives its shuttles: their manifests, not the coaches'.
    shuttle = Trip.objects.filter(plan=plan, kind="shuttle", town=town_a).first()
    assert client_for(community_worker).get(url(shuttle)).status_code == 200
    assert client_for(community_worker).get(url(coach)).status_code == 404
