"""Pages of the facility registry: the list (scope, filters, sort, workbook, pinned query count), a facility's
page, the create and edit forms, status changes, staff accounts and rooms in bulk."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from python_calamine import CalamineWorkbook

from closedloop.core.models import AuditEvent
from closedloop.facilities import room_states as rs
from closedloop.facilities.actions import (
    checkin,
    facility_create,
    facility_member_add,
    room_transition,
    rooms_bulk_create,
)
from closedloop.facilities.models import Facility, Room
from closedloop.quarantine.models import Custodian
from tests.facilities.conftest import room


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def html(response) -> str:
    return response.content.decode()


def tbody(response, table_id: str) -> str:
    text = html(response).split(f'id="{table_id}"', 1)[1]
    return text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def listed(response) -> list[str]:
    return re.findall(r'<tr data-facility="([^"]+)"', tbody(response, "facilities"))


def field_errors(response, name: str) -> str:
    match = re.search(rf'id="id_{name}_errors">(.*?)</ul>', html(response), re.S)
    return match.group(1) if match else ""


def value_of(response, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html(response))
    return match.group(1) if match else ""


@pytest.fixture
def hangzhou(city):
    return facility_create(kind="out_of_city_site", name="杭州萧山隔离酒店", code="hz-1", city=city, other_city="杭州市",
                           status="open", contact_name="钱七", contact_phone="0571-82345678", actor=None)


# --- the list -----------------------------------------------------------------------------------------

def test_list_shows_rooms_by_status_for_headquarters(client, commander, facility_a, facility_b, hangzhou, site_a,
                                                     open_episode):
    checkin(facility=facility_a, assignments=[(open_episode("李四"), room(facility_a, "301"))], actor=site_a)
    room_transition(room=room(facility_a, "302"), event=rs.TAKE_OUT, note="漏水", actor=site_a)
    room_transition(room=room(facility_a, "303"), event=rs.TAKE_OUT, note="漏水", actor=site_a)
    room_transition(room=room(facility_a, "303"), event=rs.BRING_BACK, actor=site_a)
    client.force_login(commander)
    response = client.get(reverse("sites:list"))
    assert response.status_code == 200
    assert listed(response) == ["site-b", "hz-1", "site-a"]  # by name: 北 杭 稠 in code-point order
    row = tbody(response, "facilities").split('data-facility="site-a"', 1)[1].split("</tr>", 1)[0]
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts == {"available": "7", "occupied": "1", "turnaround": "1", "out_of_service": "1"}
    assert "杭州市" in tbody(response, "facilities") and "0571-82345678" in tbody(response, "facilities")
    assert reverse("sites:detail", args=[facility_a.pk]) in row
    assert 'id="new-facility"' in html(response)


def test_list_is_scoped_and_has_no_new_button_for_site_staff(client, site_b, facility_a, facility_b, hangzhou):
    client.force_login(site_b)
    response = client.get(reverse("sites:list"))
    assert listed(response) == ["site-b"]
    assert 'id="new-facility"' not in html(response)


def test_list_search_filters_and_sort(client, commander, facility_a, facility_b, hangzhou, town_a):
    client.force_login(commander)
    url = reverse("sites:list")
    assert listed(client.get(url, {"q": "萧山"})) == ["hz-1"]
    assert listed(client.get(url, {"q": "SITE-A"})) == ["site-a"]
    assert listed(client.get(url, {"q": "工人北路"})) == ["site-a"]
    assert listed(client.get(url, {"kind": "out_of_city_site"})) == ["hz-1"]
    assert listed(client.get(url, {"town": town_a.pk})) == ["site-a"]
    facility_create(kind="health_station", name="备用站", code="spare", city=facility_a.city, status="preparing",
                    jurisdiction=town_a, actor=None)
    assert listed(client.get(url, {"status": "preparing"})) == ["spare"]
    # Free rooms: site A 10, site B 3, the others none.
    assert listed(client.get(url, {"sort": "-free"})) == ["site-a", "site-b", "spare", "hz-1"]
    assert listed(client.get(url, {"sort": "free"}))[-2:] == ["site-b", "site-a"]
    assert listed(client.get(url, {"sort": "kind"}))[0] == "spare"  # health_station < isolation_site < out_of…
    # Nonsense in the query string is ignored, not an error.
    assert client.get(url, {"kind": "castle", "status": "x", "town": "abc", "sort": "evil"}).status_code == 200


def test_list_paginates(client, commander, city, settings):
    settings.PAGE_SIZE = 5
    for i in range(7):
        facility_create(kind="isolation_site", name=f"隔离点{i:02d}", code=f"s-{i:02d}", city=city, actor=None)
    client.force_login(commander)
    first = client.get(reverse("sites:list"))
    assert len(listed(first)) == 5 and "page 1 of 2" in html(first)
    assert listed(client.get(reverse("sites:list"), {"page": 2})) == ["s-05", "s-06"]


def test_list_exports_a_workbook(client, commander, facility_a, facility_b, hangzhou):
    client.force_login(commander)
    response = client.get(reverse("sites:list"), {"format": "xlsx", "kind": "isolation_site"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][:6] == ["Facility", "Code", "Type", "Town or city", "Status", "Available"]
    by_code = {row[1]: row for row in rows[1:]}
    assert sorted(by_code) == ["site-a", "site-b"]
    assert by_code["site-a"][5] == 10 and by_code["site-a"][9] == 10 and by_code["site-a"][3] == "Choucheng"


def test_list_needs_login_and_get(client, commander):
    response = client.get(reverse("sites:list"))
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(commander)
    assert client.post(reverse("sites:list")).status_code == 405


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_is_pinned(client, commander, city, town_a, count, django_assert_max_num_queries):
    for i in range(count):
        site = facility_create(kind="isolation_site", name=f"隔离点{i:02d}", code=f"s-{i:02d}", city=city,
                               jurisdiction=town_a if i % 2 else None, status="open", actor=None)
        rooms_bulk_create(facility=site, floor_from=2, floor_to=2, room_from=1, room_to=3, actor=None)
        facility_member_add(facility=site, user=commander, actor=None)  # the scope's join must not multiply rows
    client.force_login(commander)
    # session, user, the user's jurisdictions, the towns of the filter, count, the page, its rooms by status
    with django_assert_max_num_queries(7):
        response = client.get(reverse("sites:list"), {"sort": "-free", "q": "隔离"})
    assert response.status_code == 200
    assert len(listed(response)) == count
    assert tbody(response, "facilities").count('data-count="available">3<') == count


# --- a facility's page ----------------------------------------------------------------------------------

def test_facility_page_shows_registry_rooms_and_actions(client, commander, facility_a):
    client.force_login(commander)
    response = client.get(reverse("sites:detail", args=[facility_a.pk]))
    assert response.status_code == 200
    text = html(response)
    assert "稠城隔离点A" in text and "稠城街道工人北路1号" in text and "Choucheng" in text
    assert 'data-count="available">10<' in text and 'data-count="total">10<' in text
    floors = tbody(response, "floor-table")
    assert floors.count("<tr>") == 2  # floors 3 and 4
    assert 'data-status-action="pause"' in text and 'data-status-action="close"' in text
    assert 'data-status-action="open"' not in text  # it is open already
    assert reverse("sites:rooms_bulk", args=[facility_a.pk]) in text
    assert reverse("sites:edit", args=[facility_a.pk]) in text
    for name in ("sites:board", "sites:turnaround"):  # the board's pages, linked once they are mounted
        try:
            assert reverse(name, args=[facility_a.pk]) in text
        except NoReverseMatch:
            pass


def test_facility_page_for_site_staff_has_no_headquarters_actions(client, site_a, facility_a):
    client.force_login(site_a)
    response = client.get(reverse("sites:detail", args=[facility_a.pk]))
    assert response.status_code == 200
    text = html(response)
    assert 'id="status-actions"' not in text and 'id="edit-link"' not in text and 'id="bulk-link"' not in text


def test_facility_page_refuses_outsiders(client, site_b, facility_a):
    client.force_login(site_b)
    assert client.get(reverse("sites:detail", args=[facility_a.pk])).status_code == 404
    assert client.get(reverse("sites:detail", args=[999999])).status_code == 404
    assert client.post(reverse("sites:detail", args=[facility_a.pk])).status_code == 405


def test_a_member_sees_the_facility(client, commander, site_b, facility_a):
    client.force_login(commander)
    response = client.post(reverse("sites:member_add", args=[facility_a.pk]), {"username": "site_b"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="facility.member_add", target_id=str(facility_a.pk)).exists()
    client.force_login(site_b)
    response = client.get(reverse("sites:detail", args=[facility_a.pk]))
    assert response.status_code == 200 and "site_b" in html(response)


def test_member_add_refuses_unknown_accounts(client, commander, facility_a):
    client.force_login(commander)
    response = client.post(reverse("sites:member_add", args=[facility_a.pk]), {"username": "nobody"})
    assert response.status_code == 400
    assert "No active account of your jurisdiction has the user name nobody." in html(response)
    assert not Facility.objects.get(pk=facility_a.pk).members.exists()


# --- status -----------------------------------------------------------------------------------------------

def test_pause_with_a_reason(client, commander, facility_a):
    client.force_login(commander)
    response = client.post(reverse("sites:status", args=[facility_a.pk]), {"status": "paused", "reason": "消杀"})
    assert response.status_code == 302
    assert Facility.objects.get(pk=facility_a.pk).status == "paused"
    event = AuditEvent.objects.get(action="facility.status")
    assert (event.after, event.reason) == ({"status": "paused"}, "消杀")


def test_pause_without_a_reason_is_refused(client, commander, facility_a):
    client.force_login(commander)
    response = client.post(reverse("sites:status", args=[facility_a.pk]), {"status": "paused", "reason": " "})
    assert response.status_code == 400
    assert "Say why the site is paused or closed." in html(response)
    assert Facility.objects.get(pk=facility_a.pk).status == "open"


def test_closing_with_people_inside_is_refused(client, commander, site_a, facility_a, open_episode):
    checkin(facility=facility_a, assignments=[(open_episode("李四"), room(facility_a, "301"))], actor=site_a)
    client.force_login(commander)
    response = client.post(reverse("sites:status", args=[facility_a.pk]), {"status": "closed", "reason": "撤点"})
    assert response.status_code == 400
    assert "People still stay here" in html(response)
    assert Custodian.objects.get(pk=facility_a.custodian_id).active is True


def test_status_refuses_roles_outsiders_and_get(client, site_a, site_b, commander, facility_a):
    url = reverse("sites:status", args=[facility_a.pk])
    client.force_login(site_b)
    assert client.post(url, {"status": "closed", "reason": "x"}).status_code == 404
    client.force_login(site_a)
    assert client.post(url, {"status": "closed", "reason": "x"}).status_code == 403
    client.force_login(commander)
    assert client.get(url).status_code == 405
    assert Facility.objects.get(pk=facility_a.pk).status == "open"


# --- create and edit ------------------------------------------------------------------------------------

FORM = {
    "kind": "isolation_site", "name": "稠城隔离点C", "code": "site-c", "other_city": "", "address": "稠城街道1号",
    "contact_name": "王五", "contact_phone": "138 1234 5678", "turnaround_hours": "12", "allow_companions": "on",
    "staff_test_every_days": "2", "latitude": "29.31", "longitude": "120.07",
}


def test_create_registers_a_facility(client, commander, town_a, city):
    client.force_login(commander)
    assert client.get(reverse("sites:create")).status_code == 200
    response = client.post(reverse("sites:create"), {**FORM, "jurisdiction": town_a.pk})
    assert response.status_code == 302
    site = Facility.objects.get(code="site-c")
    assert response["Location"] == reverse("sites:detail", args=[site.pk])
    assert (site.city_id, site.jurisdiction_id, site.contact_phone, site.turnaround_hours, site.allow_companions,
            site.staff_test_every_days, site.latitude) == (city.pk, town_a.pk, "13812345678", 12, True, 2, 29.31)
    assert AuditEvent.objects.filter(action="facility.create", actor=commander, target_id=str(site.pk)).exists()


def test_out_of_city_site_needs_its_city_and_keeps_what_was_typed(client, commander):
    client.force_login(commander)
    response = client.post(reverse("sites:create"), {**FORM, "kind": "out_of_city_site", "name": "宁波隔离酒店"})
    assert response.status_code == 400
    assert "Say which city the site is in." in field_errors(response, "other_city")
    assert value_of(response, "name") == "宁波隔离酒店" and value_of(response, "address") == "稠城街道1号"
    assert not Facility.objects.filter(code="site-c").exists()
    response = client.post(reverse("sites:create"), {**FORM, "kind": "out_of_city_site", "other_city": "宁波市"})
    assert response.status_code == 302
    assert Facility.objects.get(code="site-c").other_city == "宁波市"


@pytest.mark.parametrize("changes, field, message", [
    ({"contact_phone": "85123456"}, "contact_phone", "area code"),
    ({"turnaround_hours": "0"}, "turnaround_hours", "greater than or equal to 1"),
    ({"name": "  "}, "name", "required"),
    ({"code": "site-a"}, "code", "already exists"),
    ({"latitude": "95"}, "latitude", "less than or equal to 90"),
])
def test_create_shows_each_error_next_to_its_field(client, commander, facility_a, changes, field, message):
    client.force_login(commander)
    response = client.post(reverse("sites:create"), {**FORM, **changes})
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert value_of(response, "address") == "稠城街道1号"
    assert not Facility.objects.filter(name="稠城隔离点C").exists()


def test_create_offers_only_towns_in_scope(client, commander, admin_user, town_a, town_b):
    client.force_login(commander)
    text = html(client.get(reverse("sites:create")))
    assert f'value="{town_a.pk}"' in text and f'value="{town_b.pk}"' in text


def test_create_refuses_roles_and_methods(client, site_a, commander):
    client.force_login(site_a)
    assert client.get(reverse("sites:create")).status_code == 403
    assert client.post(reverse("sites:create"), FORM).status_code == 403
    client.force_login(commander)
    assert client.put(reverse("sites:create")).status_code == 405
    assert not Facility.objects.exists()


def test_edit_saves_through_the_action(client, commander, facility_a, town_b):
    client.force_login(commander)
    url = reverse("sites:edit", args=[facility_a.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert value_of(response, "name") == "稠城隔离点A" and 'name="code"' not in html(response)
    response = client.post(url, {**FORM, "name": "稠城一号隔离点", "jurisdiction": town_b.pk, "turnaround_hours": "48"})
    assert response.status_code == 302
    site = Facility.objects.get(pk=facility_a.pk)
    assert (site.name, site.jurisdiction_id, site.turnaround_hours, site.code, site.kind) == (
        "稠城一号隔离点", town_b.pk, 48, "site-a", "isolation_site")
    event = AuditEvent.objects.get(action="facility.update")
    assert event.after["name"] == "稠城一号隔离点"


def test_edit_refuses_outsiders_and_roles(client, site_a, site_b, facility_a):
    url = reverse("sites:edit", args=[facility_a.pk])
    client.force_login(site_b)
    assert client.get(url).status_code == 404
    client.force_login(site_a)
    assert client.get(url).status_code == 403
    assert client.post(url, {**FORM, "name": "改名"}).status_code == 403
    assert Facility.objects.get(pk=facility_a.pk).name == "稠城隔离点A"


# --- rooms in bulk --------------------------------------------------------------------------------------

def test_bulk_rooms_shows_what_was_made_and_what_existed(client, commander, facility_a):
    client.force_login(commander)
    url = reverse("sites:rooms_bulk", args=[facility_a.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"building": "", "floor_from": "4", "floor_to": "5", "room_from": "1",
                                 "room_to": "6", "beds": "1", "accessible_rooms": "01, 02"})
    assert response.status_code == 200
    text = html(response)
    assert "7 rooms were made." in text
    assert "5 rooms existed already" in text
    assert re.search(r'id="bulk-skipped">401, 402, 403, 404, 405<', text)
    assert set(Room.objects.filter(facility=facility_a, floor=5, accessible=True).values_list("number", flat=True)) \
        == {"501", "502"}
    assert AuditEvent.objects.filter(action="room.bulk_create", actor=commander).count() == 1


def test_bulk_rooms_refuses_bad_ranges_and_keeps_the_form(client, commander, facility_a):
    client.force_login(commander)
    url = reverse("sites:rooms_bulk", args=[facility_a.pk])
    response = client.post(url, {"building": "B", "floor_from": "12", "floor_to": "3", "room_from": "1",
                                 "room_to": "30", "beds": "1", "accessible_rooms": ""})
    assert response.status_code == 400
    assert "The last floor comes before the first." in field_errors(response, "floor_to")
    assert value_of(response, "building") == "B" and value_of(response, "floor_from") == "12"
    response = client.post(url, {"building": "B", "floor_from": "3", "floor_to": "4", "room_from": "1",
                                 "room_to": "30", "beds": "1", "accessible_rooms": "01, 二"})
    assert response.status_code == 400
    assert "is not a room number on a floor" in field_errors(response, "accessible_rooms")
    assert not Room.objects.filter(facility=facility_a, building="B").exists()


def test_bulk_rooms_refuses_outsiders_roles_and_methods(client, site_a, site_b, commander, facility_a):
    url = reverse("sites:rooms_bulk", args=[facility_a.pk])
    data = {"floor_from": "5", "floor_to": "5", "room_from": "1", "room_to": "2", "beds": "1"}
    client.force_login(site_b)
    assert client.post(url, data).status_code == 404
    client.force_login(site_a)
    assert client.post(url, data).status_code == 403
    client.force_login(commander)
    assert client.delete(url).status_code == 405
    assert not Room.objects.filter(facility=facility_a, floor=5).exists()
