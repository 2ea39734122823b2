"""The staff pages: list and export, adding staff, one staff member, the roster, the daily rounds, leaving duty.

Each page: the happy path, bad input, the wrong method, the outsider (404) and a role without the roster.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from python_calamine import CalamineWorkbook

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import shift_assign, staff_add, staff_health_record
from closedloop.facilities.models import DutyShift, StaffHealthCheck, StaffMember, StaffTest
from closedloop.quarantine.models import Episode

START = date(2022, 7, 20)
DAY = date(2022, 8, 3)
WEEK = date(2022, 8, 1)  # a Monday


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def staff(facility_a, person_factory, site_a):
    return staff_add(facility=facility_a, person=person_factory("王护士", female=True), task_group="health_observation",
                     post="3楼护士站", on_duty_from=START, actor=site_a)


@pytest.fixture
def guard(facility_a, person_factory, site_a):
    return staff_add(facility=facility_a, person=person_factory("李保安"), task_group="security", ppe_level="1",
                     on_duty_from=START, actor=site_a)


def url(name: str, pk: int, query: str = "") -> str:
    from django.urls import reverse

    return reverse(f"sites:{name}", args=[pk]) + (f"?{query}" if query else "")


# --- the list ---------------------------------------------------------------------------------------

def test_staff_list_shows_the_sites_staff_masked(staff, guard, facility_a, site_a):
    response = client_for(site_a).get(url("staff_list", facility_a.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "王护士" in html and "李保安" in html and "3楼护士站" in html
    assert staff.person.doc_number not in html and staff.person.doc_number_masked in html
    assert f'data-staff="{staff.pk}"' in html


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("task_group=security", "李保安", "王护士"),
    ("ppe_level=2", "王护士", "李保安"),
    ("q=王护士", "王护士", "李保安"),
    ("status=off_duty", None, "王护士"),
])
def test_staff_list_filters(staff, guard, facility_a, site_a, query, shown, hidden):
    html = client_for(site_a).get(url("staff_list", facility_a.pk, query)).content.decode()
    if shown:
        assert shown in html
    assert hidden not in html


def test_staff_list_sorts_and_ignores_bad_parameters(staff, guard, facility_a, site_a):
    client = client_for(site_a)
    html = client.get(url("staff_list", facility_a.pk, "sort=-ppe")).content.decode()
    assert html.index("王护士") < html.index("李保安")
    html = client.get(url("staff_list", facility_a.pk, "sort=ppe")).content.decode()
    assert html.index("李保安") < html.index("王护士")
    response = client.get(url("staff_list", facility_a.pk, "sort=nonsense&status=bogus&task_group=x&page=zz"))
    assert response.status_code == 200 and "王护士" in response.content.decode()


def test_staff_list_query_count_does_not_grow(facility_a, person_factory, site_a, django_assert_max_num_queries):
    for i in range(30):
        staff_add(facility=facility_a, person=person_factory(f"员工{i}"), task_group="logistics", on_duty_from=START,
                  actor=site_a)
    client = client_for(site_a)
    client.get(url("staff_list", facility_a.pk))  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get(url("staff_list", facility_a.pk))
    assert response.status_code == 200


def test_staff_list_exports_xlsx_masked(staff, facility_a, site_a):
    response = client_for(site_a).get(url("staff_list", facility_a.pk, "format=xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["Name", "ID number", "Phone"]
    assert rows[1][0] == "王护士" and rows[1][1] == staff.person.doc_number_masked
    assert staff.person.doc_number not in str(rows)


def test_staff_list_refusals(staff, facility_a, site_b, community_worker, materials_clerk, site_a):
    assert client_for(site_b).get(url("staff_list", facility_a.pk)).status_code == 404
    assert client_for(community_worker).get(url("staff_list", facility_a.pk)).status_code == 404
    assert client_for(materials_clerk).get(url("staff_list", facility_a.pk)).status_code == 403
    assert client_for(site_a).get(url("staff_list", 99999)).status_code == 404
    assert client_for(site_a).post(url("staff_list", facility_a.pk)).status_code == 405
    assert Client().get(url("staff_list", facility_a.pk)).status_code == 302  # to the login page


# --- adding staff ------------------------------------------------------------------------------------

def test_add_staff_finds_a_person_and_puts_them_on_duty(facility_a, person_factory, site_a):
    person = person_factory("孙医生")
    client = client_for(site_a)
    html = client.get(url("staff_add", facility_a.pk, "q=孙医生")).content.decode()
    assert f'value="{person.pk}"' in html
    response = client.post(url("staff_add", facility_a.pk), {
        "q": "孙医生", "person": person.pk, "task_group": "care", "post": "心理疏导", "ppe_level": "2",
        "on_duty_from": "2022-07-25"})
    assert response.status_code == 302 and response["Location"] == url("staff_list", facility_a.pk)
    member = StaffMember.objects.get(person=person)
    assert (member.facility, member.task_group, member.on_duty_from) == (facility_a, "care", date(2022, 7, 25))
    assert AuditEvent.objects.filter(action="staff.add", actor=site_a).count() == 1


def test_add_staff_by_id_number(facility_a, person_factory, site_a):
    person = person_factory("孙医生")
    html = client_for(site_a).get(url("staff_add", facility_a.pk, f"q={person.doc_number}")).content.decode()
    assert f'value="{person.pk}"' in html


def test_add_staff_bad_input_keeps_what_was_typed(facility_a, staff, person_factory, town_b, site_a):
    client = client_for(site_a)
    response = client.post(url("staff_add", facility_a.pk), {"task_group": "care", "post": "门岗", "ppe_level": "2",
                                                           "on_duty_from": "2022-07-25"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Search for the person, then choose them." in html and 'value="门岗"' in html
    # A person outside the user's jurisdiction cannot be chosen.
    elsewhere = person_factory("外镇人", town=town_b)
    response = client.post(url("staff_add", facility_a.pk), {"person": elsewhere.pk, "task_group": "care",
                                                           "ppe_level": "2", "on_duty_from": "2022-07-25"})
    assert response.status_code == 400 and "Choose a person from the search results." in response.content.decode()
    # The action's refusal goes back to the form: one duty at a time.
    response = client.post(url("staff_add", facility_a.pk), {"person": staff.person.pk, "task_group": "care",
                                                           "ppe_level": "2", "on_duty_from": "2022-07-25"})
    assert response.status_code == 400 and "already on duty at" in response.content.decode()
    assert StaffMember.objects.count() == 1


def test_add_staff_refusals(facility_a, person_factory, site_b, analyst, site_a):
    person = person_factory("孙医生")
    data = {"person": person.pk, "task_group": "care", "ppe_level": "2", "on_duty_from": "2022-07-25"}
    assert client_for(site_b).post(url("staff_add", facility_a.pk), data).status_code == 404
    assert client_for(analyst).get(url("staff_add", facility_a.pk)).status_code == 403
    assert client_for(site_a).put(url("staff_add", facility_a.pk)).status_code == 405
    assert not StaffMember.objects.exists()


# --- one staff member ---------------------------------------------------------------------------------

def test_staff_detail_and_post_change(staff, site_a):
    client = client_for(site_a)
    staff_health_record(staff=staff, day=DAY, temperature="37.8", actor=site_a)
    html = client.get(url("staff_detail", staff.pk)).content.decode()
    assert "37.8" in html and "staff-fever" in html and 'id="leave-link"' in html
    response = client.post(url("staff_detail", staff.pk), {"task_group": "health_observation", "post": "红区",
                                                          "ppe_level": "3"})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert (staff.post, staff.ppe_level) == ("红区", "3")
    response = client.post(url("staff_detail", staff.pk), {"task_group": "cooking", "ppe_level": "9"})
    assert response.status_code == 400 and 'id="post-form"' in response.content.decode()


def test_staff_detail_refusals(staff, site_b, analyst):
    assert client_for(site_b).get(url("staff_detail", staff.pk)).status_code == 404
    assert client_for(analyst).get(url("staff_detail", staff.pk)).status_code == 200  # reading
    assert client_for(analyst).post(url("staff_detail", staff.pk), {"ppe_level": "3"}).status_code == 403
    assert client_for(analyst).delete(url("staff_detail", staff.pk)).status_code == 405


# --- the roster ------------------------------------------------------------------------------------------

def test_roster_week_grid_and_saving_it(staff, guard, facility_a, site_a):
    shift_assign(staff=staff, day=DAY, shift="day", actor=site_a)
    client = client_for(site_a)
    html = client.get(url("staff_roster", facility_a.pk, "week=2022-08-03")).content.decode()
    assert "2022-08-01" in html and "2022-08-07" in html  # Monday to Sunday
    cell = f"{staff.pk}:2022-08-03:day"
    assert f'value="{cell}" aria-label' in html and f'name="was" value="{cell}"' in html
    response = client.post(url("staff_roster", facility_a.pk, "week=2022-08-01"), {
        "form": "grid", "was": [cell], "cell": [f"{guard.pk}:2022-08-04:night", f"{staff.pk}:2022-08-03:evening"]})
    assert response.status_code == 302 and response["Location"].endswith("?week=2022-08-01")
    assert set(DutyShift.objects.values_list("staff_id", "day", "shift")) == {
        (guard.pk, date(2022, 8, 4), "night"), (staff.pk, DAY, "evening")}


def test_roster_fill(staff, guard, facility_a, site_a):
    response = client_for(site_a).post(url("staff_roster", facility_a.pk, "week=2022-08-01"), {
        "form": "fill", "fill-task_group": "security", "fill-shift": "night", "fill-day_from": "2022-08-01",
        "fill-day_to": "2022-08-07"})
    assert response.status_code == 302
    assert DutyShift.objects.filter(staff=guard, shift="night").count() == 7
    assert not DutyShift.objects.filter(staff=staff).exists()


def test_roster_bad_input(staff, facility_a, site_a):
    client = client_for(site_a)
    assert client.get(url("staff_roster", facility_a.pk, "week=next-monday")).status_code == 400
    assert client.post(url("staff_roster", facility_a.pk), {"form": "grid", "cell": ["1:x:day"]}).status_code == 400
    assert client.post(url("staff_roster", facility_a.pk), {"form": "other"}).status_code == 400
    # A day before the first day on duty: refused with the reason, nothing saved.
    response = client.post(url("staff_roster", facility_a.pk, "week=2022-07-18"), {
        "form": "grid", "cell": [f"{staff.pk}:2022-07-18:day"]})
    assert response.status_code == 400 and "on duty from 2022-07-20" in response.content.decode()
    response = client.post(url("staff_roster", facility_a.pk), {
        "form": "fill", "fill-shift": "day", "fill-day_from": "2022-08-07", "fill-day_to": "2022-08-01"})
    assert response.status_code == 400 and "The last day comes before the first." in response.content.decode()
    assert not DutyShift.objects.exists()


def test_roster_refusals(staff, facility_a, site_b, analyst):
    cell = {"form": "grid", "cell": [f"{staff.pk}:2022-08-03:day"]}
    assert client_for(site_b).get(url("staff_roster", facility_a.pk)).status_code == 404
    assert client_for(analyst).get(url("staff_roster", facility_a.pk)).status_code == 200
    assert client_for(analyst).post(url("staff_roster", facility_a.pk), cell).status_code == 403
    assert client_for(analyst).put(url("staff_roster", facility_a.pk)).status_code == 405
    assert not DutyShift.objects.exists()


# --- the daily registration round -----------------------------------------------------------------------------

def test_checks_round_records_everyone_on_duty(staff, guard, facility_a, site_a):
    client = client_for(site_a)
    html = client.get(url("staff_checks", facility_a.pk, "day=2022-08-03")).content.decode()
    assert f'name="t-{staff.pk}"' in html and f'name="t-{guard.pk}"' in html
    response = client.post(url("staff_checks", facility_a.pk), {
        "day": "2022-08-03", f"t-{staff.pk}": "36,6", f"t-{guard.pk}": "38.0", f"s-{guard.pk}": ["cough"]})
    assert response.status_code == 302 and response["Location"].endswith("?day=2022-08-03")
    assert {k: str(v) for k, v in StaffHealthCheck.objects.values_list("staff_id", "temperature")} == {
        staff.pk: "36.6", guard.pk: "38.0"}


def test_checks_round_keeps_bad_rows_as_typed(staff, guard, facility_a, site_a):
    response = client_for(site_a).post(url("staff_checks", facility_a.pk), {
        "day": "2022-08-03", f"t-{staff.pk}": "36.6", f"t-{guard.pk}": "hot"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="hot"' in html and "is not a temperature" in html and f'id="reason-{guard.pk}"' in html
    assert list(StaffHealthCheck.objects.values_list("staff_id", flat=True)) == [staff.pk]


def test_checks_round_bad_day_and_refusals(staff, facility_a, site_a, site_b, analyst):
    client = client_for(site_a)
    assert client.get(url("staff_checks", facility_a.pk, "day=yesterday")).status_code == 400
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(url("staff_checks", facility_a.pk), {"day": future, f"t-{staff.pk}": "36.5"})
    assert response.status_code == 400 and "is in the future" in response.content.decode()
    assert client_for(site_b).get(url("staff_checks", facility_a.pk)).status_code == 404
    assert client_for(analyst).get(url("staff_checks", facility_a.pk)).status_code == 403
    assert client.delete(url("staff_checks", facility_a.pk)).status_code == 405
    assert not StaffHealthCheck.objects.exists()


# --- the test round ----------------------------------------------------------------------------------------------

def test_tests_round(staff, guard, facility_a, site_a):
    client = client_for(site_a)
    html = client.get(url("staff_tests", facility_a.pk, "day=2022-08-03")).content.decode()
    assert "test due" in html
    response = client.post(url("staff_tests", facility_a.pk), {
        "day": "2022-08-03", f"r-{staff.pk}": "pending", f"r-{guard.pk}": ""})
    assert response.status_code == 302
    assert list(StaffTest.objects.values_list("staff_id", "result")) == [(staff.pk, "pending")]
    response = client.post(url("staff_tests", facility_a.pk), {"day": "2022-08-03", f"r-{staff.pk}": "whatever"})
    assert response.status_code == 400 and "neither a result nor a Ct value" in response.content.decode()
    assert client_for(site_a).put(url("staff_tests", facility_a.pk)).status_code == 405


def test_tests_round_refusals(staff, facility_a, site_b, community_worker):
    assert client_for(site_b).post(url("staff_tests", facility_a.pk), {"day": "2022-08-03"}).status_code == 404
    assert client_for(community_worker).get(url("staff_tests", facility_a.pk)).status_code == 403


# --- leaving duty -----------------------------------------------------------------------------------------------------

def test_leave_page_shows_the_rotation_and_its_schedule(staff, site_a):
    html = client_for(site_a).get(url("staff_leave", staff.pk, "day=2022-08-03")).content.decode()
    assert "Staff leaving closed-loop duty: 7 days centralized isolation + 7 days home health monitoring" in html
    assert "2022-08-09" in html and "2022-08-16" in html  # the end of each phase
    assert '<p id="release-on"><strong>Release due on 2022-08-17 if every test is negative.</strong></p>' in html


def test_leave_duty_opens_the_episode_and_goes_to_its_page(staff, site_a):
    response = client_for(site_a).post(url("staff_leave", staff.pk), {"off_duty_on": "2022-08-03", "reason": "期满"})
    episode = Episode.objects.get(person=staff.person)
    assert response.status_code == 302 and response["Location"] == f"/loop/episodes/{episode.pk}/"
    staff.refresh_from_db()
    assert (staff.status, staff.rotation_episode, episode.category) == ("off_duty", episode, "staff_rotation")
    html = client_for(site_a).get(url("staff_leave", staff.pk)).content.decode()
    assert 'id="already-left"' in html and 'id="leave-form"' not in html


def test_leave_duty_of_someone_living_elsewhere_goes_back_to_the_staff_page(facility_a, person_factory, town_b,
                                                                             site_a):
    member = staff_add(facility=facility_a, person=person_factory("外镇护士", town=town_b), task_group="care",
                       on_duty_from=START, actor=None)
    response = client_for(site_a).post(url("staff_leave", member.pk), {"off_duty_on": "2022-08-03"}, follow=True)
    assert response.redirect_chain[-1][0] == url("staff_detail", member.pk)
    assert "followed by their home jurisdiction" in response.content.decode()


def test_leave_duty_bad_input_and_refusals(staff, site_a, site_b, analyst):
    client = client_for(site_a)
    response = client.post(url("staff_leave", staff.pk), {"off_duty_on": "2022-07-01"})
    assert response.status_code == 400 and "cannot be before the first" in response.content.decode()
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(url("staff_leave", staff.pk), {"off_duty_on": future})
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    assert client.get(url("staff_leave", staff.pk, "day=soon")).status_code == 400
    assert client_for(site_b).post(url("staff_leave", staff.pk), {"off_duty_on": "2022-08-03"}).status_code == 404
    assert client_for(analyst).get(url("staff_leave", staff.pk)).status_code == 403
    assert client.put(url("staff_leave", staff.pk)).status_code == 405
    assert not Episode.objects.exists()
