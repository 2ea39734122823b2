"""Release pages: the checklist and the release, the override form, the certificate, the public verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from closedloop.core.models import AuditEvent
from closedloop.quarantine import release_rules as rules
from closedloop.quarantine import states
from closedloop.quarantine.actions import custodian_create, episode_release
from closedloop.quarantine.models import Episode, ReleaseCertificate
from tests.quarantine.test_release import make_course


def client_for(user=None, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def home_a1(city, community_a1):
    return custodian_create(kind="home_community", name="香溪社区居家监测", code="home-a1", city=city,
                            jurisdiction=community_a1, actor=None)


@pytest.fixture
def course(person_factory, site_a_custodian, home_a1, site_a):
    def make(**kwargs):
        return make_course(person_factory, site_a_custodian, home_a1, site_a, **kwargs)
    return make


def release_url(episode) -> str:
    return reverse("loop:release", args=[episode.pk])


def test_the_checklist_shows_what_is_met_and_what_blocks(course, site_a):
    episode = course(results={3: "skip"})
    response = client_for(site_a).get(release_url(episode))
    assert response.status_code == 200
    page = response.content.decode()
    day = episode.anchor_date + timedelta(days=4)
    assert f"No sample is recorded for the test of centralized isolation day 5 ({day.isoformat()})." in page
    assert '<tr class="met" id="condition-days">' in page and '<tr class="unmet" id="condition-tests">' in page
    assert '<tr class="met" id="condition-alerts">' in page
    assert page.count('data-status="negative"') == 5 and page.count('data-status="missing"') == 1
    assert 'value="override"' not in page  # site staff get no override form
    assert 'value="release"' not in page  # and no release button while something blocks


def test_the_duty_officer_sees_the_override_form(course, duty_officer):
    episode = course(results={3: "skip"})
    page = client_for(duty_officer).get(release_url(episode)).content.decode()
    assert 'id="release-override"' in page and 'name="reason"' in page and 'value="override"' in page


def test_release_by_post_redirects_to_the_certificate(course, site_a):
    episode = course()
    client = client_for(site_a)
    page = client.get(release_url(episode)).content.decode()
    assert 'value="release"' in page
    response = client.post(release_url(episode), {"action": "release"})
    certificate = ReleaseCertificate.objects.get(episode=episode)
    assert response.status_code == 302
    assert response["Location"] == reverse("loop:certificate", args=[certificate.code])
    assert Episode.objects.get(pk=episode.pk).state == states.RELEASED
    after = client.get(release_url(episode)).content.decode()  # the page now points to the certificate
    assert reverse("loop:certificate", args=[certificate.code]) in after


def test_a_blocked_release_by_post_is_refused_with_every_reason(course, site_a):
    episode = course(release_in=1, results={3: "skip"})
    response = client_for(site_a).post(release_url(episode), {"action": "release"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="release-errors"' in page
    assert "Not all days are served" in page and "centralized isolation day 5" in page
    assert Episode.objects.get(pk=episode.pk).state == states.IN_CUSTODY


def test_an_override_needs_a_reason_and_keeps_what_was_typed(course, duty_officer):
    episode = course(results={3: "skip"})
    client = client_for(duty_officer)
    blank = client.post(release_url(episode), {"action": "override", "reason": "   "})
    assert blank.status_code == 400
    assert "Write the reason for releasing against the rule." in blank.content.decode()
    typed = "漏采" * 1001  # too long: refused, and the text stays in the box
    too_long = client.post(release_url(episode), {"action": "override", "reason": typed})
    assert too_long.status_code == 400 and typed in too_long.content.decode()
    assert Episode.objects.get(pk=episode.pk).state == states.IN_CUSTODY
    done = client.post(release_url(episode), {"action": "override", "reason": "经评估同意解除"})
    assert done.status_code == 302
    assert AuditEvent.objects.get(action="episode.release_override").reason == "经评估同意解除"


def test_site_staff_posting_an_override_are_forbidden(course, site_a):
    episode = course(results={3: "skip"})
    response = client_for(site_a).post(release_url(episode), {"action": "override", "reason": "现场决定"})
    assert response.status_code == 403
    assert Episode.objects.get(pk=episode.pk).state == states.IN_CUSTODY


def test_a_centralized_phase_end_offers_the_hand_over_home(course, site_a, home_a1):
    episode = course(release_in=3, home_now=False)
    page = client_for(site_a).get(release_url(episode)).content.decode()
    assert 'id="release-transfer"' in page and home_a1.name in page
    assert reverse("loop:give", args=[episode.pk]) in page
    assert "Conditions of centralized isolation" in page
    refused = client_for(site_a).post(release_url(episode), {"action": "release"})
    assert refused.status_code == 400 and "hand the person over to their home community" in refused.content.decode()


def test_outsiders_get_404_and_roles_without_release_403(course, site_b, analyst):
    episode = course()
    assert client_for(site_b).get(release_url(episode)).status_code == 404
    assert client_for(site_b).post(release_url(episode), {"action": "release"}).status_code == 404
    assert client_for(analyst).get(release_url(episode)).status_code == 403
    assert client_for().get(release_url(episode)).status_code == 302  # to the login page
    assert client_for(site_b).get(reverse("loop:release", args=[999999])).status_code == 404


def test_wrong_methods_are_405(course, site_a):
    episode = course()
    certificate = episode_release(episode=episode, actor=site_a)
    assert client_for(site_a).put(release_url(episode)).status_code == 405
    assert client_for(site_a).post(reverse("loop:certificate", args=[certificate.code])).status_code == 405
    assert client_for().post(reverse("loop:verify"), {"code": certificate.code}).status_code == 405


def test_the_certificate_page_prints_with_the_code_and_a_masked_id(course, site_a, community_worker):
    episode = course()
    certificate = episode_release(episode=episode, actor=site_a)
    person = episode.person
    url = reverse("loop:certificate", args=[certificate.code])
    page = client_for(site_a).get(url).content.decode()
    assert rules.format_code(certificate.code) in page
    assert person.doc_number_masked in page and person.doc_number not in page
    assert person.name in page and "香溪社区居家监测" in page  # the custodian who held the person
    assert "Yiwu epidemic prevention and control headquarters" in page
    assert "@media print" in page and "size: A4" in page
    assert f"http://testserver{reverse('loop:verify')}?code={certificate.code}" in page
    released = timezone.localdate()
    chinese = client_for(site_a, language="zh-hans").get(url).content.decode()
    assert f"{released.year}年{released.month}月{released.day}日" in chinese
    assert client_for(community_worker).get(url).status_code == 200  # the person's community


def test_the_certificate_is_hidden_from_outsiders(course, site_a, site_b, materials_clerk):
    episode = course()
    certificate = episode_release(episode=episode, actor=site_a)
    url = reverse("loop:certificate", args=[certificate.code])
    assert client_for(site_b).get(url).status_code == 404
    assert client_for(materials_clerk).get(url).status_code == 403
    assert client_for().get(url).status_code == 302
    assert client_for(site_a).get(reverse("loop:certificate", args=["ABCDEFGHJKMN"])).status_code in (404,)


def test_verify_finds_a_genuine_code_without_login_and_reveals_nothing_more(course, site_a):
    episode = course()
    certificate = episode_release(episode=episode, actor=site_a)
    typed = rules.format_code(certificate.code).lower()  # as someone types it off the paper
    response = client_for().get(reverse("loop:verify"), {"code": typed})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-genuine="yes"' in page
    assert "张*" in page and "张三" not in page
    assert episode.person.doc_number_masked not in page and episode.person.doc_number[:6] not in page
    assert timezone.localdate().isoformat() in page and "Yiwu" in page
    assert "香溪社区居家监测" not in page and "Close contact" not in page


def test_verify_says_not_found_for_a_wrong_code(course, site_a):
    episode = course()
    certificate = episode_release(episode=episode, actor=site_a)
    wrong = ("A" if certificate.code[0] != "A" else "B") + certificate.code[1:]
    for code in (wrong, "nonsense", "1" * 12):
        page = client_for().get(reverse("loop:verify"), {"code": code}).content.decode()
        assert 'data-genuine="no"' in page and "No certificate with this code was found." in page
    empty = client_for().get(reverse("loop:verify")).content.decode()
    assert "data-genuine" not in empty and 'name="code"' in empty
