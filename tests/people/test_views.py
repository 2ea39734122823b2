"""Pages of the person registry: list, person page, unmask, forms, households, possible matches."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.people.actions import PersonData, household_create, person_update
from closedloop.people.models import MatchReview, Person, PersonContactHistory
from closedloop.quarantine.actions import episode_open


def html(response) -> str:
    return response.content.decode()


def tbody(response) -> str:
    return html(response).split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def field_errors(response, name: str) -> str:
    """The error list rendered next to one field ('' when there is none)."""
    match = re.search(rf'<ul class="field-errors" id="id_{name}_errors">(.*?)</ul>', html(response), re.S)
    return match.group(1) if match else ""


@pytest.fixture
def zhang(person_factory, commander):
    return person_factory("张三", address="香溪路12号3单元", employer="义乌小商品城", actor=commander)


# --- list ---------------------------------------------------------------------------

def test_list_shows_people_masked(client, commander, zhang):
    client.force_login(commander)
    response = client.get(reverse("people:list"))
    assert response.status_code == 200
    rows = tbody(response)
    assert "张三" in rows and f'href="{reverse("people:detail", args=[zhang.pk])}"' in rows
    assert zhang.doc_number not in html(response) and zhang.doc_number_masked in rows
    assert zhang.phone not in html(response) and zhang.phone_masked in rows


def test_list_search_by_name_pinyin_phone_tail_and_id(client, commander, person_factory):
    zhang = person_factory("张三")
    person_factory("李四")
    client.force_login(commander)
    for q in ("张三", "zhangsan", "zs", zhang.phone[-4:], zhang.doc_number):
        rows = tbody(client.get(reverse("people:list"), {"q": q}))
        assert "张三" in rows and "李四" not in rows, q
    response = client.get(reverse("people:list"), {"q": "王五"})
    assert "Nobody matches these filters." in tbody(response)
    assert 'value="王五"' in html(response)  # the search box keeps what was typed


def test_list_filters_by_town_community_category_and_flag(
    client, commander, person_factory, town_b, community_a2
):
    a1 = person_factory("甲")
    person_factory("乙", community=community_a2, flags={"has_disability": True})
    person_factory("丙", town=town_b)
    episode_open(person=a1, category="close_contact", anchor_date=date(2022, 8, 1), actor=commander)
    client.force_login(commander)

    def names(**params):
        rows = tbody(client.get(reverse("people:list"), params))
        return {n for n in ("甲", "乙", "丙") if f">{n}</a>" in rows}

    assert names() == {"甲", "乙", "丙"}
    assert names(town=str(town_b.pk)) == {"丙"}
    assert names(community=str(community_a2.pk)) == {"乙"}
    assert names(category="close_contact") == {"甲"}
    assert names(flag="has_disability") == {"乙"}
    assert names(open="1") == {"甲"}
    # The filter selects offer the user's own jurisdictions.
    page = html(client.get(reverse("people:list")))
    assert f'<option value="{town_b.pk}">' in page and f'<option value="{community_a2.pk}">' in page
    # Flags and open episodes appear as badges.
    rows = tbody(client.get(reverse("people:list")))
    assert 'data-flag="has_disability"' in rows and "Close contact" in rows


def test_list_sorts_and_paginates_keeping_filters(client, commander, person_factory, settings):
    settings.PAGE_SIZE = 5
    for i in range(7):
        person_factory(f"人{i}", birth=date(1950 + i, 1, 1))
    client.force_login(commander)
    response = client.get(reverse("people:list"), {"sort": "birth", "q": "ren"})
    rows = tbody(response)
    assert rows.index("人0") < rows.index("人4") and "人5" not in rows
    page = html(response)
    assert re.search(r'href="\?[^"]*sort=birth[^"]*page=2|href="\?[^"]*page=2[^"]*sort=birth', page)
    assert 'href="?sort=-birth&amp;q=ren"' in page or 'href="?q=ren&amp;sort=-birth"' in page
    second = tbody(client.get(reverse("people:list"), {"sort": "birth", "q": "ren", "page": 2}))
    assert "人5" in second and "人6" in second and "人0" not in second
    reverse_rows = tbody(client.get(reverse("people:list"), {"sort": "-birth"}))
    assert reverse_rows.index("人6") < reverse_rows.index("人2")


def test_list_export_links_carry_filters_and_follow_the_capability(client, analyst, site_a, zhang):
    client.force_login(analyst)
    page = html(client.get(reverse("people:list"), {"q": "张", "page": "1"}))
    xlsx = reverse("people:export", args=["xlsx"])
    assert f'href="{xlsx}?q=%E5%BC%A0"' in page
    assert f'href="{reverse("people:export", args=["csv"])}?q=%E5%BC%A0"' in page
    client.force_login(site_a)  # site staff may not export
    assert xlsx not in html(client.get(reverse("people:list")))


def test_list_is_scoped_and_refused_without_capability(client, site_b, materials_clerk, zhang):
    client.force_login(site_b)
    response = client.get(reverse("people:list"))
    assert response.status_code == 200 and "张三" not in tbody(response)
    client.force_login(materials_clerk)
    assert client.get(reverse("people:list")).status_code == 403


def test_list_wrong_method(client, commander):
    client.force_login(commander)
    assert client.post(reverse("people:list")).status_code == 405


@pytest.mark.parametrize("count", [3, 30])
def test_list_query_count_is_pinned(client, commander, person_factory, town_b, count, django_assert_max_num_queries):
    for i in range(count):
        person = person_factory(f"人{i}", town=town_b if i % 3 == 0 else None, flags={"is_pregnant": i % 2 == 0})
        if i % 4 == 0:
            episode_open(person=person, category="close_contact", anchor_date=date(2022, 8, 1), actor=None)
    client.force_login(commander)
    # session, user, scope, filter places, count, page rows, open episodes
    with django_assert_max_num_queries(7):
        response = client.get(reverse("people:list"), {"sort": "town"})
    assert response.status_code == 200
    assert tbody(response).count("<tr>") == count


# --- person page ----------------------------------------------------------------------

def test_person_page_shows_everything_masked(client, commander, person_factory, zhang):
    wife = person_factory("李梅", female=True)
    household_create(members=[zhang, wife], actor=commander)
    episode_open(person=zhang, category="close_contact", anchor_date=date(2022, 8, 3), actor=commander)
    client.force_login(commander)
    response = client.get(reverse("people:detail", args=[zhang.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    page = html(response)
    for secret in (zhang.doc_number, zhang.phone, "香溪路12号"):
        assert secret not in page
    assert zhang.doc_number_masked in page and zhang.phone_masked in page
    assert "1990年5月17日" in page  # birth date the Chinese way
    assert f'href="{reverse("people:detail", args=[wife.pk])}"' in page
    assert "密切接触者" in page and "2022年8月3日" in page
    assert "义乌小商品城" in page
    assert "person.register" in page  # the person's audit history
    # Show buttons for those allowed to unmask.
    assert reverse("people:unmask", args=[zhang.pk, "doc_number"]) in page
    assert reverse("people:unmask", args=[zhang.pk, "address"]) in page


def test_person_page_history_newest_first_and_contact_history_masked(client, commander, zhang):
    data = PersonData(
        name=zhang.name, city=zhang.city, town=zhang.town, community=zhang.community, doc_type=zhang.doc_type,
        doc_number=zhang.doc_number, sex=zhang.sex, birth_date=zhang.birth_date, phone="13900001111",
        address="新地址8号",
    )
    person_update(person=zhang, data=data, actor=commander, reason="电话变更")
    assert PersonContactHistory.objects.filter(person=zhang).exists()
    client.force_login(commander)
    page = html(client.get(reverse("people:detail", args=[zhang.pk])))
    history = page.split('id="history"')[1]
    assert history.index("person.update") < history.index("person.register")
    assert "电话变更" in history
    contact = page.split('id="contact-history"')[1].split("</section>")[0]
    assert "138****0001" in contact and "139****1111" in contact
    assert "13812340001" not in page and "13900001111" not in page and "新地址8号" not in page


def test_person_page_in_english_shows_iso_dates(client, commander, zhang):
    client.force_login(commander)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = html(client.get(reverse("people:detail", args=[zhang.pk])))
    assert '<html lang="en">' in page and "1990-05-17" in page and "Birth date" in page


def test_person_page_without_unmask_has_no_show_button(client, analyst, zhang):
    client.force_login(analyst)
    page = html(client.get(reverse("people:detail", args=[zhang.pk])))
    assert "/unmask/" not in page and zhang.doc_number_masked in page


def test_person_page_outsider_and_wrong_role(client, site_b, materials_clerk, zhang):
    client.force_login(site_b)
    assert client.get(reverse("people:detail", args=[zhang.pk])).status_code == 404
    client.force_login(materials_clerk)
    assert client.get(reverse("people:detail", args=[zhang.pk])).status_code == 403


def test_person_page_missing_and_wrong_method(client, commander, zhang):
    client.force_login(commander)
    assert client.get(reverse("people:detail", args=[zhang.pk + 1000])).status_code == 404
    assert client.post(reverse("people:detail", args=[zhang.pk])).status_code == 405


# --- unmask ----------------------------------------------------------------------------

def test_unmask_with_htmx_returns_the_value_and_audits(client, site_a, zhang):
    client.force_login(site_a)
    url = reverse("people:unmask", args=[zhang.pk, "doc_number"])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = html(response)
    assert zhang.doc_number in fragment and 'id="pii-doc_number"' in fragment and "<html" not in fragment
    event = AuditEvent.objects.get(action="person.unmask", target_id=str(zhang.pk))
    assert event.actor == site_a and event.after == {"field": "doc_number"}


def test_unmask_without_js_shows_the_page_with_the_value(client, commander, zhang):
    client.force_login(commander)
    response = client.post(reverse("people:unmask", args=[zhang.pk, "address"]))
    assert response.status_code == 200
    page = html(response)
    assert "香溪路12号3单元" in page and "<html" in page
    assert zhang.doc_number not in page  # only the asked field
    assert AuditEvent.objects.filter(action="person.unmask", after={"field": "address"}).count() == 1


def test_unmask_refused(client, analyst, site_b, materials_clerk, commander, zhang):
    url = reverse("people:unmask", args=[zhang.pk, "phone"])
    client.force_login(analyst)
    assert client.post(url).status_code == 403
    client.force_login(materials_clerk)
    assert client.post(url).status_code == 403
    client.force_login(site_b)
    assert client.post(url).status_code == 404
    client.force_login(commander)
    assert client.get(url).status_code == 405
    assert client.post(reverse("people:unmask", args=[zhang.pk, "name"])).status_code == 404
    assert not AuditEvent.objects.filter(action="person.unmask").exists()


# --- create -------------------------------------------------------------------------------

def valid_form(town_choice, community_choice, **changes):
    data = {
        "name": "王五", "doc_type": "resident_id", "doc_number": "33078219850312011X", "sex": "", "birth_date": "",
        "phone": "138 1234 9999", "phone_other": "", "town": str(town_choice.pk),
        "community": str(community_choice.pk),
        "address": "香溪路5号", "employer": "", "notes": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def good_id():
    from stdnum.cn import ric

    body = "33078219850312011"
    return body + ric.calc_check_digit(body + "0")


def test_create_happy_path_derives_sex_and_birth(client, site_a, town_a, community_a1, good_id):
    client.force_login(site_a)
    assert client.get(reverse("people:create")).status_code == 200
    response = client.post(reverse("people:create"), valid_form(town_a, community_a1, doc_number=good_id,
                                                                 is_pregnant="on"))
    person = Person.objects.get(name="王五")
    assert response.status_code == 302 and response["Location"] == reverse("people:detail", args=[person.pk])
    assert person.doc_number == good_id and person.phone == "13812349999"
    assert person.sex == "M" and person.birth_date == date(1985, 3, 12)  # from the ID number
    assert person.is_pregnant and person.city_id == town_a.city_id
    assert AuditEvent.objects.filter(action="person.register", target_id=str(person.pk), actor=site_a).exists()


def test_create_refused_keeps_what_was_typed_and_marks_each_field(client, site_a, town_a, community_a1, good_id):
    client.force_login(site_a)
    bad = good_id[:-1] + ("1" if good_id[-1] != "1" else "2")
    response = client.post(reverse("people:create"), valid_form(
        town_a, community_a1, doc_number=bad, phone="12345", employer="某公司", birth_date="1985年3月12日"))
    assert response.status_code == 400
    assert "does not match" in field_errors(response, "doc_number")
    assert field_errors(response, "phone")
    assert not field_errors(response, "name")
    page = html(response)
    for typed in ('value="王五"', f'value="{bad}"', 'value="12345"', 'value="某公司"', 'value="1985年3月12日"'):
        assert typed in page, typed
    assert not Person.objects.filter(name="王五").exists()


def test_create_points_out_sex_and_birth_date_that_contradict_the_id(client, site_a, town_a, community_a1, good_id):
    client.force_login(site_a)
    response = client.post(reverse("people:create"), valid_form(
        town_a, community_a1, doc_number=good_id, sex="F", birth_date="1985-03-13"))
    assert response.status_code == 400
    assert "says" in field_errors(response, "sex")
    assert "1985-03-12" in field_errors(response, "birth_date")
    assert not field_errors(response, "doc_number")
    assert not Person.objects.filter(name="王五").exists()


def test_create_duplicate_document_is_mapped_onto_the_field(client, site_a, town_a, community_a1, zhang):
    client.force_login(site_a)
    response = client.post(reverse("people:create"), valid_form(town_a, community_a1, doc_number=zhang.doc_number))
    assert response.status_code == 400
    assert "already registered" in field_errors(response, "doc_number")


def test_create_place_limited_to_scope(client, site_a, town_a, town_b, community_a1, community_b1, good_id):
    client.force_login(site_a)
    page = html(client.get(reverse("people:create")))
    assert f'<option value="{town_a.pk}">' in page and f'<option value="{town_b.pk}">' not in page
    response = client.post(reverse("people:create"), valid_form(town_b, community_b1, doc_number=good_id))
    assert response.status_code == 400 and field_errors(response, "town") and field_errors(response, "community")
    response = client.post(reverse("people:create"), valid_form(town_a, community_a1, doc_number=good_id,
                                                                town="", community=""))
    assert "town" in field_errors(response, "town").lower()
    assert not Person.objects.filter(name="王五").exists()


def test_create_community_user_gets_the_town_of_their_community(client, community_worker, town_a, community_a1):
    client.force_login(community_worker)
    response = client.post(reverse("people:create"), valid_form(town_a, community_a1, doc_type="", doc_number="",
                                                                 town=""))
    assert response.status_code == 302
    person = Person.objects.get(name="王五")
    assert person.town_id == town_a.pk and person.community_id == community_a1.pk and person.doc_number == ""


def test_create_refused_for_roles_without_edit(client, analyst, materials_clerk):
    for user in (analyst, materials_clerk):
        client.force_login(user)
        assert client.get(reverse("people:create")).status_code == 403
        assert client.post(reverse("people:create"), {"name": "x"}).status_code == 403
    assert not Person.objects.exists()


def test_create_wrong_method(client, site_a):
    client.force_login(site_a)
    assert client.put(reverse("people:create")).status_code == 405


# --- edit ------------------------------------------------------------------------------------

def edit_form(person, **changes):
    data = {
        "name": person.name, "doc_type": person.doc_type, "doc_number": "", "sex": person.sex,
        "birth_date": person.birth_date.isoformat(), "phone": "", "phone_other": "", "town": str(person.town_id),
        "community": str(person.community_id or ""), "address": "", "employer": person.employer, "notes": "",
        "reason": "",
    }
    data.update(changes)
    return data


def test_edit_form_never_shows_full_personal_data(client, site_a, zhang):
    client.force_login(site_a)
    response = client.get(reverse("people:edit", args=[zhang.pk]))
    assert response.status_code == 200
    page = html(response)
    assert zhang.doc_number not in page and zhang.phone not in page and "香溪路12号" not in page
    assert f'placeholder="{zhang.doc_number_masked}"' in page
    assert 'value="张三"' in page


def test_edit_keeps_empty_personal_fields_and_records_the_reason(client, site_a, zhang):
    client.force_login(site_a)
    response = client.post(reverse("people:edit", args=[zhang.pk]),
                           edit_form(zhang, phone="13900002222", employer="新公司", reason="本人来电"))
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.phone == "13900002222" and zhang.employer == "新公司"
    assert zhang.address == "香溪路12号3单元" and zhang.doc_number.startswith("330782")  # kept
    event = AuditEvent.objects.get(action="person.update", target_id=str(zhang.pk))
    assert event.reason == "本人来电" and event.actor == site_a
    assert PersonContactHistory.objects.filter(person=zhang, field="phone").exists()


def test_edit_refused_keeps_typed_values(client, site_a, zhang):
    client.force_login(site_a)
    response = client.post(reverse("people:edit", args=[zhang.pk]),
                           edit_form(zhang, name="", phone="abc", sex="F"))
    assert response.status_code == 400
    assert field_errors(response, "name") and field_errors(response, "phone")
    assert "says" in field_errors(response, "sex")  # the stored ID number says male
    assert 'value="abc"' in html(response)
    zhang.refresh_from_db()
    assert zhang.name == "张三"


def test_edit_outsider_and_wrong_role(client, site_b, analyst, zhang):
    client.force_login(site_b)
    assert client.get(reverse("people:edit", args=[zhang.pk])).status_code == 404
    assert client.post(reverse("people:edit", args=[zhang.pk]), edit_form(zhang, name="改")).status_code == 404
    client.force_login(analyst)
    assert client.get(reverse("people:edit", args=[zhang.pk])).status_code == 403
    zhang.refresh_from_db()
    assert zhang.name == "张三"


def test_edit_wrong_method(client, site_a, zhang):
    client.force_login(site_a)
    assert client.delete(reverse("people:edit", args=[zhang.pk])).status_code == 405


# --- households -------------------------------------------------------------------------------

@pytest.fixture
def family(person_factory, commander):
    a = person_factory("户主", address="香溪路7号")
    b = person_factory("配偶", female=True)
    household = household_create(members=[a, b], address="香溪路7号2单元", actor=commander)
    return household, a, b


def test_household_list_and_page(client, commander, family):
    household, a, b = family
    client.force_login(commander)
    response = client.get(reverse("people:households"))
    assert response.status_code == 200
    rows = tbody(response)
    assert f'href="{reverse("people:household", args=[household.pk])}"' in rows
    assert '<td class="num">2</td>' in rows
    assert "香溪路***" in rows and "香溪路7号" not in rows
    page = html(client.get(reverse("people:household", args=[household.pk])))
    assert f'href="{reverse("people:detail", args=[a.pk])}"' in page
    assert f'href="{reverse("people:detail", args=[b.pk])}"' in page
    assert a.doc_number not in page and a.doc_number_masked in page


def test_household_outsider_wrong_role_and_method(client, site_b, materials_clerk, commander, family):
    household = family[0]
    client.force_login(site_b)
    assert f"#{household.pk}<" not in tbody(client.get(reverse("people:households")))
    assert client.get(reverse("people:household", args=[household.pk])).status_code == 404
    client.force_login(materials_clerk)
    assert client.get(reverse("people:households")).status_code == 403
    assert client.get(reverse("people:household", args=[household.pk])).status_code == 403
    client.force_login(commander)
    assert client.post(reverse("people:households")).status_code == 405
    assert client.post(reverse("people:household", args=[household.pk])).status_code == 405


def test_household_list_query_count(client, commander, person_factory, django_assert_max_num_queries):
    for i in range(20):
        household_create(members=[person_factory(f"人{i}")], actor=commander)
    client.force_login(commander)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("people:households"))
    assert tbody(response).count("<tr>") == 20


# --- possible matches ---------------------------------------------------------------------------

@pytest.fixture
def review(city, town_a, town_b, community_a1, tmp_path, commander):
    """A possible duplicate as the import leaves it: a registered person without a document and a
    roster row with the same name and phone."""
    from closedloop.people.actions import person_register
    from closedloop.people.importing.engine import import_run_create, import_run_execute
    from tests.people.rosters import write_csv

    person_register(data=PersonData(name="李娜", city=city, town=town_a, phone="13500001111"), actor=None)
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    path = write_csv(tmp_path / "roster.csv", [
        [1, "李娜", "女", "", "", "13500001111", "稠城路1号", "稠城街道", "", "密接", day, ""],
    ])
    run, table = import_run_create(path=path, file_name=path.name, actor=commander, category=None)
    import_run_execute(run=run, actor=commander, table=table)
    return MatchReview.objects.get(status="open", candidate__name="李娜")


def test_review_list_shows_row_beside_candidate_masked(client, commander, review):
    client.force_login(commander)
    response = client.get(reverse("people:reviews"))
    assert response.status_code == 200
    page = html(response)
    assert f'href="{reverse("people:review", args=[review.pk])}"' in page
    assert "135****1111" in page and "13500001111" not in page
    assert "稠城路1号" not in page


def test_review_detail_and_same_person_decision(client, commander, review):
    client.force_login(commander)
    page = html(client.get(reverse("people:review", args=[review.pk])))
    for decision in ("same", "different", "dismissed"):
        assert f'name="decision" value="{decision}"' in page
    response = client.post(reverse("people:review", args=[review.pk]), {"decision": "same"})
    assert response.status_code == 302 and response["Location"] == reverse("people:reviews")
    review.refresh_from_db()
    assert review.status == "same" and review.decided_by == commander
    assert AuditEvent.objects.filter(action="review.decide", target_id=str(review.pk)).exists()
    assert Person.objects.filter(name="李娜").count() == 1
    # Decided: no buttons any more, and a second decision is refused with a message.
    page = html(client.get(reverse("people:review", args=[review.pk])))
    assert 'name="decision"' not in page
    response = client.post(reverse("people:review", args=[review.pk]), {"decision": "dismissed"}, follow=True)
    assert "already been decided" in html(response)
    review.refresh_from_db()
    assert review.status == "same"


def test_review_different_person_registers_the_row(client, commander, review):
    client.force_login(commander)
    client.post(reverse("people:review", args=[review.pk]), {"decision": "different"})
    assert Person.objects.filter(name="李娜").count() == 2


def test_review_bad_input_outsider_and_roles(client, commander, analyst, site_b, materials_clerk, review):
    url = reverse("people:review", args=[review.pk])
    client.force_login(commander)
    assert client.post(url, {"decision": "merge-everything"}).status_code == 400
    assert client.put(url).status_code == 405
    client.force_login(analyst)  # may look, may not decide
    assert client.get(url).status_code == 200
    assert client.post(url, {"decision": "same"}).status_code == 403
    client.force_login(site_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "same"}).status_code in (403, 404)
    client.force_login(materials_clerk)
    assert client.get(reverse("people:reviews")).status_code == 403
    review.refresh_from_db()
    assert review.status == "open"


def test_review_list_query_count(client, commander, review, django_assert_max_num_queries):
    client.force_login(commander)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("people:reviews")).status_code == 200
