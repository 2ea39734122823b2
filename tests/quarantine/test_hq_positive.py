"""A positive result reaches the headquarters alerts at once, answered by headquarters."""

from __future__ import annotations

from datetime import datetime, time

from django.urls import reverse
from django.utils import timezone

from closedloop.quarantine.actions import episode_place, result_record, specimen_record


def test_a_positive_result_is_on_the_headquarters_alerts_immediately(client, commander, episode, site_a_custodian,
                                                                     site_a):
    episode = episode_place(episode=episode, custodian=site_a_custodian, actor=site_a)
    today = timezone.localdate()
    sampled = timezone.make_aware(datetime.combine(today, time(0, 1)))
    specimen = specimen_record(episode=episode, kind="pcr", sampled_at=min(sampled, timezone.now()), actor=site_a)
    result_record(specimen=specimen, result_or_ct="21.0", actor=site_a)
    client.force_login(commander)
    page = client.get(reverse("loop:alerts"), {"list": "alerts"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'data-episode="{episode.pk}"' in page
    assert "Positive result" in page and "headquarters" in page
