"""A policy change: preview who moves to which release day, then one audited confirmation."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from closedloop.core.models import AuditEvent
from closedloop.quarantine.actions import episode_open, episode_place, replan_apply, replan_preview
from closedloop.quarantine.models import Episode, EpisodeReplan, Protocol


@pytest.fixture
def placed(person_factory, site_a_custodian):
    cn9 = Protocol.objects.get(code="cn-9-close-contact", version=1)
    episodes = []
    for i, anchor in enumerate([date(2022, 11, 8), date(2022, 11, 8), date(2022, 11, 10)]):
        e = episode_open(person=person_factory(f"人{i}"), category="close_contact", anchor_date=anchor, actor=None)
        episodes.append(episode_place(episode=e, custodian=site_a_custodian, placed_on=anchor, protocol=cn9,
                                      actor=None))
    # A secondary contact is another category: never moved.
    other = episode_open(person=person_factory("次"), category="secondary_contact", anchor_date=date(2022, 11, 8),
                         actor=None)
    episode_place(episode=other, custodian=site_a_custodian, placed_on=date(2022, 11, 8), actor=None)
    return episodes


def test_preview_says_who_moves_to_which_day(placed, duty_officer):
    new = Protocol.objects.get(code="cn-20m-close-contact")
    preview = replan_preview(category="close_contact", protocol=new, today=date(2022, 11, 11), actor=duty_officer)
    assert preview.people == 3
    # cn-9: 7 + 3 days → release 18 Nov (anchor 8 Nov); 20 measures: 5 + 3 → 16 Nov.
    assert preview.moves == {(date(2022, 11, 18), date(2022, 11, 16)): 2, (date(2022, 11, 20), date(2022, 11, 18)): 1}
    assert preview.by_new_day == {date(2022, 11, 16): 2, date(2022, 11, 18): 1}
    assert preview.due_now == 0 and preview.due_on(date(2022, 11, 16)) == 2
    assert Episode.objects.filter(protocol=new).count() == 0  # a preview writes nothing


def test_apply_moves_every_episode_in_one_audited_operation(placed, duty_officer):
    new = Protocol.objects.get(code="cn-20m-close-contact")
    replan = replan_apply(category="close_contact", protocol=new, today=date(2022, 11, 11), actor=duty_officer,
                          reason="国务院联防联控机制综合组 11月11日 二十条措施", expected_people=3)
    moved = Episode.objects.filter(protocol=new).order_by("anchor_date")
    assert [e.release_on for e in moved] == [date(2022, 11, 16), date(2022, 11, 16), date(2022, 11, 18)]
    assert replan.episodes == 3 and replan.release_days == {"2022-11-16": 2, "2022-11-18": 1}
    history = EpisodeReplan.objects.filter(replan=replan)
    assert history.count() == 3 and {h.old_release_on for h in history} == {date(2022, 11, 18), date(2022, 11, 20)}
    assert AuditEvent.objects.filter(action="episode.replan").count() == 1
    assert Episode.objects.get(category="secondary_contact").protocol.code == "cn-9-secondary-contact"
    # The custody ledger is untouched: a protocol change is not a custody change.
    assert all(e.version == 1 for e in moved)
    # Again: nothing left to move.
    assert replan_preview(category="close_contact", protocol=new, today=date(2022, 11, 11), actor=duty_officer).people == 0


def test_refusals(placed, duty_officer, site_a):
    new = Protocol.objects.get(code="cn-20m-close-contact")
    with pytest.raises(PermissionDenied):
        replan_preview(category="close_contact", protocol=new, today=date(2022, 11, 11), actor=site_a)
    with pytest.raises(ValidationError):
        replan_apply(category="close_contact", protocol=new, today=date(2022, 11, 11), actor=duty_officer, reason=" ")
    with pytest.raises(ValidationError):  # the preview said 2, there are 3 now
        replan_apply(category="close_contact", protocol=new, today=date(2022, 11, 11), actor=duty_officer,
                     reason="x", expected_people=2)
    with pytest.raises(ValidationError):  # a protocol of another category
        replan_preview(category="secondary_contact", protocol=new, today=date(2022, 11, 11), actor=duty_officer)
    assert not EpisodeReplan.objects.exists() and not Episode.objects.filter(protocol=new).exists()


def test_pages_preview_then_confirm(client, placed, duty_officer, site_a):
    from django.urls import reverse

    new = Protocol.objects.get(code="cn-20m-close-contact")
    client.force_login(duty_officer)
    page = client.get(reverse("loop:replan"), {"category": "close_contact", "protocol": new.pk},
                      HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="replan-moves"' in html and "3 people move" in html
    assert Episode.objects.filter(protocol=new).count() == 0
    refused = client.post(reverse("loop:replan_confirm"), {"category": "close_contact", "protocol": new.pk,
                                                           "expected_people": 3, "reason": ""})
    assert refused.status_code == 400 and Episode.objects.filter(protocol=new).count() == 0
    done = client.post(reverse("loop:replan_confirm"), {"category": "close_contact", "protocol": new.pk,
                                                        "expected_people": 3, "reason": "二十条"})
    assert done.status_code == 302 and Episode.objects.filter(protocol=new).count() == 3
    client.force_login(site_a)
    assert client.get(reverse("loop:replan")).status_code == 403
    assert client.get(reverse("loop:replan_confirm")).status_code == 405
