"""``closedloop check``: Django's system checks plus the platform's integrity checks."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from closedloop.core import integrity
from closedloop.core.models import AuditEvent
from closedloop.people.choices import ImportStatus
from closedloop.people.models import ImportRun, Person


def run_check(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("check", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), f"{err.getvalue()}{exc}"
    return 0, out.getvalue(), err.getvalue()


def test_it_extends_djangos_own_check_command():
    from django.core.management import load_command_class
    from django.core.management.commands.check import Command as DjangoCheck

    assert isinstance(load_command_class("closedloop.core", "check"), DjangoCheck)


def test_clean_database_passes(person_factory, community_a2):
    person_factory("王芳", female=True)
    person_factory("李雷", community=community_a2)
    code, out, err = run_check()
    assert code == 0, out + err
    assert "System check identified no issues" in out
    assert f"integrity: {len(integrity.REGISTRY)} checks, 0 violations" in out
    assert len(integrity.REGISTRY) >= 4


def test_sex_contradicting_the_id_number_is_reported(person_factory):
    good = person_factory("王芳", female=True)
    bad = person_factory("张伟")
    assert bad.sex == "M"
    # Corruption, as a faulty script or a hand edit in the database would leave it.
    Person.objects.filter(pk=bad.pk).update(sex="F")

    code, out, err = run_check()

    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("violation")]
    assert len(lines) == 1, out
    assert "[person_resident_id]" in lines[0]
    assert f"person #{bad.pk} " in lines[0]
    assert "stored sex is F, the ID number says M" in lines[0]
    assert f"#{good.pk} " not in out
    # The full number is never printed, only the masked one.
    assert bad.doc_number not in out
    assert bad.doc_number_masked in lines[0]
    assert "1 violation" in err


def test_birth_date_contradicting_the_id_number_is_reported(person_factory):
    person = person_factory("张伟", birth=dt.date(1990, 5, 17))
    Person.objects.filter(pk=person.pk).update(birth_date=dt.date(1990, 5, 18))
    code, out, _err = run_check()
    assert code == 1
    assert "stored birth date is 1990-05-18, the ID number says 1990-05-17" in out


def test_community_outside_the_persons_town_is_reported(person_factory, town_b):
    person = person_factory("张伟")
    Person.objects.filter(pk=person.pk).update(town=town_b)
    code, out, _err = run_check()
    assert code == 1
    assert f"violation [person_place] person #{person.pk}:" in out
    assert "community 330782001001 belongs to 330782001, but the person is in town 330782002" in out


def test_town_outside_the_persons_city_is_reported(person_factory, city, town_a):
    from closedloop.core.actions import jurisdiction_create

    other_city = jurisdiction_create(code="330783", name="东阳市", level="city", actor=None)
    person = person_factory("张伟")
    Person.objects.filter(pk=person.pk).update(city=other_city)
    code, out, _err = run_check()
    assert code == 1
    assert "town 330782001 belongs to 330782, but the person is in city 330783" in out


def _stuck_run(city, hours: float) -> ImportRun:
    # The state a web process leaves behind when it dies mid-import.
    run = ImportRun.objects.create(city=city, file_name="roster.xlsx", file_sha256="0" * 64, rows_total=500)
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.RUNNING, started_at=timezone.now() - dt.timedelta(hours=hours), rows_done=200
    )
    return run


def test_import_stuck_running_is_reported_and_periodic_marks_it_interrupted(city):
    stuck = _stuck_run(city, hours=2)
    fresh = _stuck_run(city, hours=0.5)

    code, out, _err = run_check()
    assert code == 1
    assert f"violation [import_run_stuck] import #{stuck.pk} (roster.xlsx): running with no progress for 2.0 hours" in out
    assert f"import #{fresh.pk} " not in out
    stuck.refresh_from_db()
    assert stuck.status == ImportStatus.RUNNING  # a plain check changes nothing

    code, out, _err = run_check("--periodic")
    assert code == 0, out
    assert f"fixed [import_run_stuck] import #{stuck.pk}" in out
    assert "1 fixed" in out
    stuck.refresh_from_db()
    assert stuck.status == ImportStatus.INTERRUPTED
    assert stuck.finished_at is not None and stuck.error
    event = AuditEvent.objects.get(action="import_run.mark_interrupted")
    assert event.target_id == str(stuck.pk)
    assert event.actor is None and event.actor_label == "system"
    assert event.before["status"] == "running" and event.after == {"status": "interrupted"}
    fresh.refresh_from_db()
    assert fresh.status == ImportStatus.RUNNING

    # Once repaired, nothing is left: the periodic run is quiet, the plain one clean.
    assert run_check("--periodic") == (0, "", "")
    assert run_check()[0] == 0


def test_mark_interrupted_does_not_touch_a_run_that_finished_meanwhile(city):
    from closedloop.people.import_maintenance import import_run_mark_interrupted

    run = _stuck_run(city, hours=2)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.DONE)
    result = import_run_mark_interrupted(run=run, actor=None)
    assert result.status == ImportStatus.DONE
    assert not AuditEvent.objects.filter(action="import_run.mark_interrupted").exists()


def test_periodic_is_quiet_on_success(person_factory):
    person_factory()
    assert run_check("--periodic") == (0, "", "")


@pytest.mark.django_db
def test_deploy_and_tags_still_work(monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)  # a deploy error of its own
    code, out, err = run_check("--deploy")
    assert code == 0, out + err
    assert "integrity:" in out
    # Narrowed to a tag, only Django's checks run.
    code, out, err = run_check("--tag", "models")
    assert code == 0
    assert "integrity:" not in out
    code, out, err = run_check("--tag", "no-such-tag")
    assert code == 1 and "no-such-tag" in err
    code, out, err = run_check("--list-tags")
    assert code == 0 and "models" in out.split()


@pytest.mark.django_db
def test_one_integrity_check_by_name_and_the_list():
    code, out, _err = run_check("--list-integrity")
    assert code == 0
    for name in ("person_place", "person_resident_id", "import_run_stuck", "episode_one_open"):
        assert name in out
    code, out, _err = run_check("--integrity", "episode_one_open")
    assert code == 0 and "integrity: 1 checks, 0 violations" in out
    code, _out, err = run_check("--integrity", "no_such_check")
    assert code == 1 and "no_such_check" in err


@pytest.mark.django_db
def test_a_check_that_crashes_fails_the_run_without_hiding_the_others(monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(integrity.REGISTRY, "zz_broken", broken)
    code, out, err = run_check()
    assert code == 1
    assert "error [zz_broken] the check could not run: RuntimeError: boom" in out
    assert f"integrity: {len(integrity.REGISTRY)} checks, 1 violation" in err


def test_registering_a_check_is_one_decorator(monkeypatch, person_factory):
    monkeypatch.setattr(integrity, "REGISTRY", dict(integrity.REGISTRY))

    @integrity.integrity_check("every_person_named_wang")
    def every_person_named_wang(ctx):
        return [
            integrity.Violation("every_person_named_wang", f"person #{p.pk}", "not a Wang")
            for p in Person.objects.exclude(name__startswith="王")
        ]

    person_factory("王芳", female=True)
    assert run_check()[0] == 0
    other = person_factory("李雷")
    code, out, _err = run_check()
    assert code == 1
    assert f"violation [every_person_named_wang] person #{other.pk}: not a Wang" in out
