"""``bench replan``: a policy change over the open close-contact episodes of a city.

Setup (not timed) inserts people and placed episodes in bulk straight into the
tables: the workload measures the re-plan, not the registry. The timed part is
what headquarters does: the preview, then the confirmation in one audited
operation.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from closedloop.benchmarks.runner import Bench, BenchError, median

SCALES = {"small": 5_000, "full": 500_000}
TARGET_SECONDS = 60
CHUNK = 5_000


def _populate(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from closedloop.core.models import Jurisdiction
    from closedloop.lib.schedule import compute
    from closedloop.people.models import Person
    from closedloop.quarantine.actions import custodian_create
    from closedloop.quarantine.models import Episode, Protocol

    city = Jurisdiction.objects.get(level="city")
    site = custodian_create(kind="isolation_site", name="bench site", code="bench-site", city=city, actor=None)
    old = Protocol.objects.get(code="cn-9-close-contact", version=1)
    spec = old.spec()
    today = timezone.localdate()
    anchors = [today - timedelta(days=d) for d in range(10)]
    release = {a: compute(spec, anchor=a).release_on for a in anchors}
    for start in range(0, n, CHUNK):
        with transaction.atomic():
            people = Person.objects.bulk_create(
                [Person(city=city, name=f"甲{i}", name_pinyin=f"jia{i}", name_initials="j") for i in
                 range(start, min(n, start + CHUNK))], batch_size=1000)
            Episode.objects.bulk_create([
                Episode(person=p, city=city, category="close_contact", anchor_kind="last_exposure",
                        anchor_date=anchors[p.pk % 10], state="in_custody", custodian=site, version=1, protocol=old,
                        placed_on=anchors[p.pk % 10], release_on=release[anchors[p.pk % 10]])
                for p in people], batch_size=1000)


def _reset() -> None:
    from closedloop.quarantine.models import Episode, EpisodeReplan, Protocol, Replan

    old = Protocol.objects.get(code="cn-9-close-contact", version=1)
    EpisodeReplan.objects.all().delete()
    Replan.objects.all().delete()
    Episode.objects.update(protocol=old)


def measure_replan(bench: Bench) -> dict:
    from django.utils import timezone

    from closedloop.core.models import AuditEvent
    from closedloop.quarantine.actions import replan_apply, replan_preview
    from closedloop.quarantine.models import Episode, EpisodeReplan, Protocol

    n = bench.size(SCALES)
    bench.note(f"inserting {n:,} placed episodes (not timed)")
    _populate(n)
    new = Protocol.objects.get(code="cn-20m-close-contact")
    today: date = timezone.localdate()
    repeats = []
    for i in range(bench.repeat):
        _reset()
        audits = AuditEvent.objects.filter(action="episode.replan").count()
        started = time.perf_counter()
        with bench.profiled(i):
            preview = replan_preview(category="close_contact", protocol=new, today=today, actor=None)
            preview_seconds = time.perf_counter() - started
            replan_apply(category="close_contact", protocol=new, today=today, actor=None,
                         reason="bench: the 20 measures", expected_people=preview.people)
        seconds = time.perf_counter() - started
        moved = Episode.objects.filter(protocol=new).count()
        if preview.people != n or moved != n or EpisodeReplan.objects.count() != n:
            raise BenchError(f"The re-plan moved {moved} of {n} episodes (preview said {preview.people}).")
        if AuditEvent.objects.filter(action="episode.replan").count() != audits + 1:
            raise BenchError("The re-plan did not write exactly one audit row.")
        repeats.append({"seconds": round(seconds, 3), "preview_seconds": round(preview_seconds, 3)})
        bench.note(f"repetition {i + 1}/{bench.repeat}: {seconds:.2f} s (preview {preview_seconds:.2f} s)")
    seconds = median(r["seconds"] for r in repeats)
    return {
        "episodes": n, "seconds": round(seconds, 3), "target": f"<= {TARGET_SECONDS} s, one audited operation",
        "meets_target": seconds <= TARGET_SECONDS, "repeats": repeats,
    }
