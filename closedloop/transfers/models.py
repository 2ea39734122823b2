"""Residents isolated in other cities, the fleet and routes the returns planner sees, the plans it made
from live data, and the trips, passengers and checklisted hand-overs that carry a plan out.

The custody of a person on the way is the closed loop's (``quarantine.Episode`` and its ledger): a trip
answers as its own custodian (``Trip.custodian``, a vehicle trip), the station as the transfer station's
facility, home as the community's custodian.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.facilities.models import Facility
from closedloop.quarantine.models import Custodian, Episode
from closedloop.transfers.choices import AwayStatus, PassengerStatus, PlanStatus, Stage, TripKind, TripState

LOAD = [MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("1"))]


class AwayRecord(models.Model):
    """A resident isolated in another city, as that city's headquarters reports them.

    The episode is held by the out-of-city site's custodian until a coach takes them; this row keeps
    what the other city said (origin site, release day, home town, status) and when.
    """

    episode = models.OneToOneField(Episode, on_delete=models.PROTECT, related_name="away")
    origin = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="away_records",
                               verbose_name=_("origin site"))
    home_town = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("home town or street"))
    release_on = models.DateField(_("release day there"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=AwayStatus.choices, default=AwayStatus.ISOLATED)
    reported_at = models.DateTimeField(_("last reported"))
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        ordering = ["origin", "release_on", "id"]
        verbose_name = _("resident isolated elsewhere")
        verbose_name_plural = _("residents isolated elsewhere")
        indexes = [models.Index(fields=["status", "release_on"], name="away_status_release")]

    def __str__(self) -> str:
        return f"{self.episode_id} @ {self.origin_id}"


class Fleet(models.Model):
    """The city's coaches and transfer station, as the planner sees them."""

    city = models.OneToOneField(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("transfer station"))
    lanes = models.PositiveSmallIntegerField(_("screening lanes"), default=4, validators=[MinValueValidator(1)])
    minutes_per_person = models.PositiveSmallIntegerField(_("screening minutes per person"), default=3,
                                                          validators=[MinValueValidator(1)])
    coaches = models.PositiveSmallIntegerField(_("coaches"), default=20, validators=[MinValueValidator(1)])
    coach_seats = models.PositiveSmallIntegerField(_("seats per coach"), default=45, validators=[MinValueValidator(1)])
    coach_max_load = models.DecimalField(_("coach load (share of seats)"), max_digits=3, decimal_places=2,
                                         default=Decimal("0.5"), validators=LOAD)
    coach_board_minutes = models.PositiveSmallIntegerField(_("coach boarding minutes"), default=30)
    coach_turnaround_minutes = models.PositiveSmallIntegerField(_("coach disinfection minutes"), default=60)

    class Meta:
        verbose_name = _("fleet and station")
        verbose_name_plural = _("fleet and station")

    def __str__(self) -> str:
        return str(self.city)


class Route(models.Model):
    """How far an origin site is from the station, by coach."""

    origin = models.OneToOneField(Facility, on_delete=models.CASCADE, related_name="route")
    travel_minutes = models.PositiveIntegerField(_("travel minutes to the station"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("route")
        verbose_name_plural = _("routes")

    def __str__(self) -> str:
        return f"{self.origin_id}: {self.travel_minutes} min"


class District(models.Model):
    """A home town's shuttles from the station."""

    town = models.OneToOneField(Jurisdiction, on_delete=models.CASCADE, related_name="+")
    travel_minutes = models.PositiveIntegerField(_("travel minutes from the station"), default=30,
                                                 validators=[MinValueValidator(1)])
    shuttles = models.PositiveSmallIntegerField(_("shuttles"), default=2, validators=[MinValueValidator(1)])
    seats = models.PositiveSmallIntegerField(_("seats per shuttle"), default=14, validators=[MinValueValidator(1)])
    max_load = models.DecimalField(_("shuttle load (share of seats)"), max_digits=3, decimal_places=2,
                                   default=Decimal("1"), validators=LOAD)
    board_minutes = models.PositiveSmallIntegerField(_("shuttle boarding minutes"), default=10)
    turnaround_minutes = models.PositiveSmallIntegerField(_("shuttle turnaround minutes"), default=15)

    class Meta:
        verbose_name = _("home district")
        verbose_name_plural = _("home districts")

    def __str__(self) -> str:
        return str(self.town_id)


class TransferPlan(models.Model):
    """A plan made from live data: the instance given to the planner and the plan it returned."""

    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    epoch = models.DateTimeField(_("minute 0"))
    instance = models.JSONField()
    plan = models.JSONField()
    makespan = models.PositiveIntegerField(_("last one home (minutes)"))
    lower_bound = models.PositiveIntegerField(_("no plan can beat (minutes)"))
    people = models.PositiveIntegerField(_("people"))
    replaces = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transfer plan")
        verbose_name_plural = _("transfer plans")
        constraints = [
            models.UniqueConstraint(fields=["city"], condition=models.Q(status="adopted"),
                                    name="transfer_plan_one_adopted_per_city"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.status})"


class Trip(models.Model):
    """One coach or shuttle trip of a plan. Once dispatched it answers as its own custodian."""

    plan = models.ForeignKey(TransferPlan, on_delete=models.PROTECT, related_name="trips")
    kind = models.CharField(_("kind"), max_length=10, choices=TripKind.choices)
    vehicle = models.PositiveSmallIntegerField(_("vehicle number"))  # the planner's 0-based index
    origin = models.ForeignKey(Facility, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("origin site"))
    town = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("home town or street"))
    start_at = models.DateTimeField(_("leaves the station"), null=True, blank=True)  # coaches: to the origin
    depart_at = models.DateTimeField(_("departs"))  # coaches: from the origin; shuttles: from the station
    arrive_at = models.DateTimeField(_("arrives"))
    state = models.CharField(_("state"), max_length=20, choices=TripState.choices, default=TripState.PLANNED)
    version = models.PositiveIntegerField(default=0, editable=False)
    custodian = models.OneToOneField(Custodian, on_delete=models.PROTECT, null=True, blank=True, related_name="trip")
    plate = models.CharField(_("plate"), max_length=20, blank=True)
    driver = models.CharField(_("driver"), max_length=60, blank=True)
    escorts = models.CharField(_("escort staff"), max_length=200, blank=True)

    class Meta:
        ordering = ["plan", "kind", "depart_at", "vehicle"]
        verbose_name = _("trip")
        verbose_name_plural = _("trips")
        constraints = [
            models.CheckConstraint(condition=models.Q(kind="coach", origin__isnull=False)
                                   | models.Q(kind="shuttle", town__isnull=False), name="trip_has_its_end"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.vehicle + 1} · {self.depart_at:%m-%d %H:%M}"


class Passenger(models.Model):
    """A person on a trip, with their household group and (on a coach) their screening block."""

    trip = models.ForeignKey(Trip, on_delete=models.PROTECT, related_name="passengers")
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="+")
    group = models.CharField(_("group"), max_length=40)
    status = models.CharField(_("status"), max_length=20, choices=PassengerStatus.choices,
                              default=PassengerStatus.PLANNED)
    lane = models.PositiveSmallIntegerField(_("lane"), null=True, blank=True)
    screen_from = models.DateTimeField(_("screening from"), null=True, blank=True)
    screen_until = models.DateTimeField(_("screening until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["trip", "group", "id"]
        constraints = [models.UniqueConstraint(fields=["trip", "episode"], name="passenger_once_per_trip")]

    def __str__(self) -> str:
        return f"{self.episode_id} on {self.trip_id}"


class HandoverCheck(models.Model):
    """The checklist of one hand-over of the way home, as answered; a failed item blocks or is overridden."""

    trip = models.ForeignKey(Trip, on_delete=models.PROTECT, related_name="checks")
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    answers = models.JSONField(default=dict)  # item code -> True / False
    override_reason = models.CharField(_("override reason"), max_length=200, blank=True)
    giver_signature = models.CharField(_("handed over by"), max_length=60)
    receiver_signature = models.CharField(_("received by"), max_length=60)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["trip", "at", "id"]

    def __str__(self) -> str:
        return f"{self.trip_id} {self.stage}"
