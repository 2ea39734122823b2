"""A site answers for everyone it holds: the list, the page and the API show them, wherever they live."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from closedloop.quarantine.actions import episode_place, handover_give, handover_receive
from closedloop.quarantine.models import Episode


def test_site_b_sees_the_town_a_resident_it_holds_and_no_other(client, episode, site_a_custodian, site_b_custodian,
                                                               site_a, site_b, person_factory):
    from closedloop.quarantine.actions import episode_open

    episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    other = episode_open(person=person_factory("李四"), category="close_contact", anchor_date=timezone.localdate(),
                         actor=None)
    client.force_login(site_b)
    assert client.get(reverse("loop:episode", args=[episode.pk])).status_code == 404
    handover_give(episode=Episode.objects.get(pk=episode.pk), to_custodian=site_b_custodian,
                  expected_by=timezone.now() + timedelta(hours=1), actor=site_a)
    handover_receive(episode=Episode.objects.get(pk=episode.pk), actor=site_b)

    listed = client.get(reverse("loop:episodes")).content.decode()
    assert reverse("loop:episode", args=[episode.pk]) in listed
    assert reverse("loop:episode", args=[other.pk]) not in listed
    assert client.get(reverse("loop:episode", args=[episode.pk])).status_code == 200
    api = client.get("/api/v1/loop/episodes").json()
    assert [item["id"] for item in api["items"]] == [episode.pk]
    assert client.get(f"/api/v1/loop/episodes/{other.pk}").status_code == 404
