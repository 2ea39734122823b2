"""Integrity checks: rules the data must hold that no single constraint can.

``closedloop check`` runs every registered check after Django's system checks;
``closedloop serve`` runs ``closedloop check --periodic`` on a timer. A check
is one decorated function::

    @integrity_check("ledger_refold")
    def ledger_refold(ctx: CheckContext) -> list[Violation]:
        ...

Checks live here or in a module ``integrity.py`` of any installed app (found
by ``autodiscover``). A check reads in bulk and lets the database find the
suspects; it returns one ``Violation`` per offending object. With
``ctx.periodic`` a check may also repair what has a safe, audited repair (by
calling an action) and return the violation with ``fixed=True``: a fixed
violation is reported but does not fail the run.

Output goes to operators on a terminal or a log, so it is English and never
shows personal data in clear (objects are named by id and masked number).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.db.models.functions import Cast, Length, Replace, Substr
from django.utils import timezone


@dataclass(frozen=True)
class Violation:
    rule: str
    object: str
    detail: str
    fixed: bool = False

    def __str__(self) -> str:
        prefix = "fixed" if self.fixed else "violation"
        return f"{prefix} [{self.rule}] {self.object}: {self.detail}"


@dataclass
class CheckContext:
    """What a check gets: whether it may repair, and one clock for the whole run."""

    periodic: bool = False
    now: dt.datetime = field(default_factory=timezone.now)


Check = Callable[[CheckContext], Iterable[Violation]]
REGISTRY: dict[str, Check] = {}


def integrity_check(name: str) -> Callable[[Check], Check]:
    """Register ``fn`` as the integrity check ``name`` (names are unique)."""

    def register(fn: Check) -> Check:
        existing = REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != fn.__qualname__:
            raise ValueError(f"Two integrity checks are named {name!r}.")
        REGISTRY[name] = fn
        return fn

    return register


def autodiscover() -> None:
    """Import ``<app>.integrity`` of every installed app, registering its checks."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("integrity")


@dataclass
class CheckResult:
    name: str
    violations: list[Violation]
    error: str = ""

    @property
    def failed(self) -> list[Violation]:
        return [v for v in self.violations if not v.fixed]


def run_checks(*, periodic: bool = False, only: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the registered checks (or those named in ``only``) in name order.

    A check that raises does not stop the others: its error is part of its
    result and counts as a failure.
    """
    autodiscover()
    ctx = CheckContext(periodic=periodic)
    names = sorted(REGISTRY) if only is None else list(only)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise KeyError(f"No integrity check is named {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}.")
    results = []
    for name in names:
        try:
            violations = list(REGISTRY[name](ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            results.append(CheckResult(name, [], error=f"{type(exc).__name__}: {exc}"))
        else:
            results.append(CheckResult(name, violations))
    return results


# --- the platform's checks ---------------------------------------------------------


def _person_label(pk: int, doc_number: str = "") -> str:
    from closedloop.lib.identity import mask_id

    return f"person #{pk}" + (f" ({mask_id(doc_number)})" if doc_number else "")


@integrity_check("person_place")
def person_place(ctx: CheckContext) -> list[Violation]:
    """A person's community lies in the person's town, the town in the person's city."""
    from closedloop.people.models import Person

    out: list[Violation] = []
    bad_community = (
        Person.objects.filter(community__isnull=False)
        .filter(Q(town__isnull=True) | ~Q(community__parent_id=F("town_id")) | ~Q(community__level="community"))
        .values_list("pk", "community__code", "community__parent__code", "town__code")
        .order_by("pk")
    )
    for pk, community, parent, town in bad_community.iterator(chunk_size=2000):
        where = f"town {town}" if town else "no town"
        out.append(
            Violation(
                "person_place", _person_label(pk),
                f"community {community} belongs to {parent or 'nothing'}, but the person is in {where}",
            )
        )
    bad_town = (
        Person.objects.filter(town__isnull=False)
        .filter(~Q(town__parent_id=F("city_id")) | ~Q(town__level="town"))
        .values_list("pk", "town__code", "town__level", "town__parent__code", "city__code")
        .order_by("pk")
    )
    for pk, town, level, parent, city in bad_town.iterator(chunk_size=2000):
        detail = (
            f"town {town} is a {level}, not a town"
            if level != "town"
            else f"town {town} belongs to {parent or 'nothing'}, but the person is in city {city}"
        )
        out.append(Violation("person_place", _person_label(pk), detail))
    return out


_ODD = ("1", "3", "5", "7", "9")
_EVEN = ("0", "2", "4", "6", "8")


@integrity_check("person_resident_id")
def person_resident_id(ctx: CheckContext) -> list[Violation]:
    """Sex and birth date of a person with a resident ID are those the number carries.

    The database picks the suspects (digits 7-14 against the stored birth date,
    the parity of digit 17 against the stored sex), so the check stays cheap on
    millions of rows; each suspect is then judged by ``parse_resident_id``.
    """
    from closedloop.lib.identity import RESIDENT_ID, IdError, parse_resident_id
    from closedloop.people.models import Person

    birth_text = Replace(Cast("birth_date", output_field=CharField()), Value("-"), Value(""))
    consistent = Q(doc_length=18, id_birth=F("birth_text")) & (
        Q(sex="M", id_sex_digit__in=_ODD) | Q(sex="F", id_sex_digit__in=_EVEN)
    )
    suspects = (
        Person.objects.filter(doc_type=RESIDENT_ID)
        .annotate(
            doc_length=Length("doc_number"),
            id_birth=Substr("doc_number", 7, 8),
            id_sex_digit=Substr("doc_number", 17, 1),
            birth_text=birth_text,
        )
        .annotate(ok=Case(When(consistent, then=Value(True)), default=Value(False)))
        .filter(ok=False)
        .values_list("pk", "doc_number", "sex", "birth_date")
        .order_by("pk")
    )
    out: list[Violation] = []
    for pk, number, sex, birth_date in suspects.iterator(chunk_size=2000):
        label = _person_label(pk, number)
        try:
            parsed = parse_resident_id(number, today=ctx.now.date())
        except IdError as exc:
            out.append(Violation("person_resident_id", label, f"the stored ID number is not valid: {exc.reason}"))
            continue
        problems = []
        if sex != parsed.sex:
            problems.append(f"stored sex is {sex or 'empty'}, the ID number says {parsed.sex}")
        if birth_date != parsed.birth_date:
            stored = birth_date.isoformat() if birth_date else "empty"
            problems.append(f"stored birth date is {stored}, the ID number says {parsed.birth_date.isoformat()}")
        if problems:
            out.append(Violation("person_resident_id", label, "; ".join(problems)))
    return out


STUCK_IMPORT_AFTER = dt.timedelta(hours=1)


@integrity_check("import_run_stuck")
def import_run_stuck(ctx: CheckContext) -> list[Violation]:
    """No import stays "running" for over an hour without progress.

    Progress is the run's ``progress_at`` when the model has one, else its
    start: a browser import runs in a thread of the web process, and a run
    whose process died stays "running" for ever. With ``--periodic`` such a
    run is marked interrupted (audited), so its file can be imported again.
    """
    from closedloop.people.choices import ImportStatus
    from closedloop.people.import_maintenance import import_run_mark_interrupted
    from closedloop.people.models import ImportRun

    cutoff = ctx.now - STUCK_IMPORT_AFTER
    field_names = {f.name for f in ImportRun._meta.get_fields()}
    last_sign = "progress_at" if "progress_at" in field_names else "started_at"
    stuck = ImportRun.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(**{f"{last_sign}__lt": cutoff}) | Q(**{f"{last_sign}__isnull": True}, created_at__lt=cutoff)
    )
    out: list[Violation] = []
    for run in stuck.order_by("pk"):
        since = getattr(run, last_sign) or run.created_at
        hours = (ctx.now - since).total_seconds() / 3600
        detail = f"running with no progress for {hours:.1f} hours ({run.rows_done} of {run.rows_total} rows)"
        fixed = False
        if ctx.periodic:
            fixed = import_run_mark_interrupted(run=run, actor=None).status == ImportStatus.INTERRUPTED
            if fixed:
                detail += "; marked interrupted"
        out.append(Violation("import_run_stuck", f"import #{run.pk} ({run.file_name})", detail, fixed=fixed))
    return out


@integrity_check("episode_one_open")
def episode_one_open(ctx: CheckContext) -> list[Violation]:
    """At most one open episode per person (a database constraint holds it; this proves it)."""
    from closedloop.quarantine.choices import EpisodeStatus
    from closedloop.quarantine.models import Episode

    doubled = (
        Episode.objects.filter(status=EpisodeStatus.OPEN)
        .values("person_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("person_id")
    )
    return [
        Violation("episode_one_open", _person_label(row["person_id"]), f"{row['n']} open episodes")
        for row in doubled
    ]
