"""`closedloop check` refolds every ledger and reports a corrupted projection."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from closedloop.quarantine.actions import episode_place
from closedloop.quarantine.models import Episode


def test_check_is_clean_then_reports_a_corrupted_projection(episode, site_a_custodian, bus, site_a, capsys):
    episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)
    call_command("check", "--integrity", "ledger_refold")
    assert "0 violations" in capsys.readouterr().out

    # Corrupt the projection behind the actions' back: the person silently "moved" to the bus.
    Episode.objects.filter(pk=episode.pk).update(custodian=bus)
    with pytest.raises(CommandError) as exc:
        call_command("check", "--integrity", "ledger_refold")
    assert exc.value.returncode == 1
    out = capsys.readouterr()
    assert f"episode #{episode.pk}" in out.out + out.err and "ledger_refold" in out.out + out.err


def test_a_missing_ledger_row_is_reported(episode, site_a_custodian, site_a, capsys):
    episode_place(episode=episode, custodian=site_a_custodian, placed_on=date(2022, 8, 3), actor=site_a)
    Episode.objects.filter(pk=episode.pk).update(version=2)
    with pytest.raises(CommandError):
        call_command("check", "--integrity", "ledger_refold")
    out = capsys.readouterr()
    assert "version is 2" in out.out + out.err
