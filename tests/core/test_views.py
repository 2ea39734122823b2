"""The platform's own pages: login, overview, password change, audit log, the layout."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from closedloop.core.models import AuditEvent
from tests.conftest import PASSWORD


def html(response) -> str:
    return response.content.decode()


# --- layout ------------------------------------------------------------------

def test_login_page_is_chinese_by_default_and_has_the_language_switcher(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="zh-hans">' in page
    assert f'action="{reverse("set_language")}"' in page
    assert 'name="language" value="zh-hans"' in page and 'name="language" value="en"' in page
    assert 'name="next" value="/login/"' in page
    # No third-party network: every script and stylesheet is served by us.
    assert not re.search(r'(src|href)="https?://', page)
    assert "/static/closedloop/vendor/htmx.min.js" in page


def test_the_vendored_htmx_is_the_real_library():
    from pathlib import Path

    import closedloop

    path = Path(closedloop.__file__).parent / "static/closedloop/vendor/htmx.min.js"
    text = path.read_text()
    assert len(text) > 30_000 and "htmx" in text and "hx-" in text


def test_language_switch_renders_english(client, commander):
    client.force_login(commander)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = html(client.get(reverse("home")))
    assert '<html lang="en">' in page
    assert "Overview" in page and "Log out" in page and "Audit log" in page
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("home")})
    assert '<html lang="zh-hans">' in html(client.get(reverse("home")))


def test_top_bar_shows_name_role_and_navigation_by_capability(client, commander, materials_clerk, analyst):
    client.force_login(commander)
    page = html(client.get(reverse("home")))
    assert "Commander" in page  # full name
    for name in ("people:list", "people:households", "people:reviews", "people:imports", "audit_log", "password_change"):
        assert f'href="{reverse(name)}"' in page, name
    assert f'action="{reverse("logout")}" method="post"' in page

    client.force_login(analyst)
    page = html(client.get(reverse("home")))
    assert f'href="{reverse("people:list")}"' in page
    assert f'href="{reverse("audit_log")}"' not in page
    assert f'href="{reverse("people:imports")}"' not in page

    client.force_login(materials_clerk)
    page = html(client.get(reverse("home")))
    assert f'href="{reverse("people:list")}"' not in page
    assert f'href="{reverse("admin:index")}"' not in page


def test_logout_is_a_post(client, commander):
    client.force_login(commander)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302  # logged out: back to login


# --- login ---------------------------------------------------------------------

def test_login_happy_path(client, commander):
    response = client.post(reverse("login"), {"username": "commander", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_login_refused_keeps_the_username_and_says_why(client, commander):
    response = client.post(reverse("login"), {"username": "commander", "password": "wrong-password"})
    assert response.status_code == 200
    page = html(response)
    assert 'value="commander"' in page
    assert 'class="alert error"' in page
    # An empty field gets its error next to it.
    response = client.post(reverse("login"), {"username": "", "password": ""})
    assert 'id="id_username_errors"' in html(response)
    assert 'id="id_password_errors"' in html(response)


def test_login_wrong_method(client, db):
    assert client.put(reverse("login")).status_code == 405


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.get(reverse("audit_log"))
    assert response.status_code == 302


# --- overview ------------------------------------------------------------------

def test_home_summary_figures_link_to_the_lists(client, commander, person_factory, town_b):
    from closedloop.quarantine.actions import episode_open

    a = person_factory("甲")
    person_factory("乙")
    person_factory("丙", town=town_b)
    episode_open(person=a, category="close_contact", anchor_date=date(2022, 8, 1), actor=commander)
    client.force_login(commander)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    page = html(response)
    people_link = re.search(r'href="/people/" id="summary-people">\s*<div class="figure">(\d+)</div>', page)
    assert people_link and people_link.group(1) == "3"
    assert re.search(r'href="/people/\?category=close_contact" data-category="close_contact">1</a>', page)
    assert re.search(r'href="/people/\?category=inbound" data-category="inbound">0</a>', page)
    assert re.search(r'id="summary-open">\s*<div class="figure">1</div>', page)


def test_home_summary_is_scoped(client, site_b, person_factory):
    person_factory("甲")  # town A
    client.force_login(site_b)
    page = html(client.get(reverse("home")))
    assert re.search(r'id="summary-people">\s*<div class="figure">0</div>', page)


def test_home_for_a_role_without_registry(client, materials_clerk):
    client.force_login(materials_clerk)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "summary-people" not in html(response)


def test_home_wrong_method(client, commander):
    client.force_login(commander)
    assert client.post(reverse("home")).status_code == 405


# --- password change ---------------------------------------------------------------

def test_password_change_happy_path_is_audited(client, commander):
    client.force_login(commander)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "Another-Long-Pass-77", "new_password2": "Another-Long-Pass-77",
    })
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert AuditEvent.objects.filter(action="user.change_password", target_id=str(commander.pk)).exists()
    commander.refresh_from_db()
    assert commander.check_password("Another-Long-Pass-77")


def test_password_change_refused_shows_errors_next_to_fields(client, commander):
    client.force_login(commander)
    response = client.post(reverse("password_change"), {
        "old_password": "not-it", "new_password1": "short", "new_password2": "short",
    })
    assert response.status_code == 200
    page = html(response)
    assert 'id="id_old_password_errors"' in page
    assert 'id="id_new_password2_errors"' in page
    commander.refresh_from_db()
    assert commander.check_password(PASSWORD)


# --- audit log ---------------------------------------------------------------------

def test_audit_log_lists_filters_and_paginates(client, commander, person_factory, settings):
    settings.PAGE_SIZE = 5
    for i in range(7):
        person_factory(f"人{i}", actor=commander)
    client.force_login(commander)
    response = client.get(reverse("audit_log"), {"action": "person.register"})
    assert response.status_code == 200
    page = html(response)
    assert page.count("<code>person.register</code>") == 5
    assert "user.create" not in page.split("<tbody>")[1]
    assert "page=2" in page and "action=person.register" in page
    second = html(client.get(reverse("audit_log"), {"action": "person.register", "page": 2}))
    assert second.count("<code>person.register</code>") == 2
    # Before/after are shown compactly; personal data stays masked as the action stored it.
    assert "<ins>" in page
    assert "13812340001" not in page and "138****0001" in html(
        client.get(reverse("audit_log"), {"action": "person.register", "page": 2})
    )


def test_audit_log_date_filter(client, commander):
    client.force_login(commander)
    page = html(client.get(reverse("audit_log"), {"date_from": "2000-01-01", "date_to": "2000-01-02"}))
    assert "<code>" not in page.split("<tbody>")[1]
    page = html(client.get(reverse("audit_log"), {"date_from": "not-a-date"}))
    assert "<code>user.create</code>" in page


def test_audit_log_refused_without_capability(client, analyst, site_a, materials_clerk):
    for user in (analyst, site_a, materials_clerk):
        client.force_login(user)
        assert client.get(reverse("audit_log")).status_code == 403


def test_audit_log_wrong_method(client, commander):
    client.force_login(commander)
    assert client.post(reverse("audit_log")).status_code == 405


def test_audit_log_query_count_is_pinned(client, commander, person_factory, django_assert_max_num_queries):
    for i in range(30):
        person_factory(f"人{i}", actor=commander)
    client.force_login(commander)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("audit_log"))
    assert response.status_code == 200


# --- template helpers --------------------------------------------------------------

@pytest.mark.parametrize(("language", "expected"), [("zh-hans", "2022年8月3日"), ("en", "2022-08-03")])
def test_cn_date(language, expected):
    from django.utils import translation

    from closedloop.core.templatetags.cl import cn_date

    with translation.override(language):
        assert cn_date(date(2022, 8, 3)) == expected
        assert cn_date(None) == ""


def test_cn_datetime_is_local_time():
    from datetime import UTC, datetime

    from django.utils import translation

    from closedloop.core.templatetags.cl import cn_datetime

    moment = datetime(2022, 8, 3, 22, 5, tzinfo=UTC)  # 06:05 the next day in Shanghai
    with translation.override("zh-hans"):
        assert cn_datetime(moment) == "2022年8月4日 6:05"
    with translation.override("en"):
        assert cn_datetime(moment) == "2022-08-04 06:05"


def test_mask_filter():
    from closedloop.core.templatetags.cl import mask

    assert mask("33078219900517001X", "id") == "330782********001X"
    assert mask("13812345678", "phone") == "138****5678"
    assert mask("香溪社区12幢3单元401", "address") == "香溪社区***"
    assert mask("anything") == "***"
    assert mask("", "phone") == ""


def test_shared_static_files_are_found():
    from django.contrib.staticfiles import finders

    assert finders.find("closedloop/app.css")
    assert finders.find("closedloop/vendor/htmx.min.js")


def test_403_and_404_pages_use_the_layout(client, materials_clerk, commander):
    client.force_login(materials_clerk)
    response = client.get(reverse("people:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "Not allowed" in html(response) and 'class="topbar"' in html(response)
    client.force_login(commander)
    response = client.get(reverse("people:detail", args=[999999]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "outside your jurisdiction" in html(response) and 'class="topbar"' in html(response)
