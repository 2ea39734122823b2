"""Isolation sites, the transfer station, hospitals; their rooms and who stays in them;
the staff who work there; the care requests of the people they hold.

A facility is where custody is physical: its ``custodian`` is the party the
custody ledger names. Rooms change status only through ``facilities.actions``
with a compare-and-swap on ``version`` (two desks, one last room: one wins).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.core.models import Jurisdiction
from closedloop.facilities.choices import (
    CareKind,
    CareStatus,
    FacilityKind,
    FacilityStatus,
    PpeLevel,
    RoomEventKind,
    RoomStatus,
    Shift,
    StaffStatus,
    TaskGroup,
)
from closedloop.quarantine.models import Custodian, Episode


class Facility(models.Model):
    kind = models.CharField(_("type"), max_length=30, choices=FacilityKind.choices)
    name = models.CharField(_("name"), max_length=120)
    code = models.CharField(_("code"), max_length=60, unique=True)
    city = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="+")
    # The town or street the facility lies in (none for the city's own station or an out-of-city site).
    jurisdiction = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                     verbose_name=_("town or street"))
    other_city = models.CharField(_("city (if elsewhere)"), max_length=60, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=FacilityStatus.choices,
                              default=FacilityStatus.PREPARING)
    contact_name = models.CharField(_("contact"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    # Terminal disinfection and airing after check-out, before a room is usable again.
    turnaround_hours = models.PositiveSmallIntegerField(
        _("room turnaround (hours)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(240)])
    allow_companions = models.BooleanField(
        _("a child, elderly or dependent person may share a room with a household member"), default=True)
    staff_test_every_days = models.PositiveSmallIntegerField(
        _("staff tested every (days)"), default=1, validators=[MinValueValidator(1), MaxValueValidator(14)])
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    # The party the custody ledger names for this facility.
    custodian = models.OneToOneField(Custodian, on_delete=models.PROTECT, related_name="facility")
    # Staff accounts assigned here see the facility whatever their jurisdictions.
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="facilities",
                                     verbose_name=_("staff accounts"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="rooms")
    building = models.CharField(_("building"), max_length=20, blank=True)
    floor = models.SmallIntegerField(_("floor"))
    number = models.CharField(_("room number"), max_length=20)
    # Position along the corridor, for keeping a household's rooms near each other.
    order = models.PositiveIntegerField(default=0, editable=False)
    beds = models.PositiveSmallIntegerField(_("beds"), default=1)
    accessible = models.BooleanField(_("accessible"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=RoomStatus.choices, default=RoomStatus.AVAILABLE)
    status_since = models.DateTimeField(_("status since"), auto_now_add=True)
    version = models.PositiveIntegerField(default=0, editable=False)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["facility", "building", "floor", "order", "number"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        constraints = [
            models.UniqueConstraint(fields=["facility", "building", "number"], name="room_unique_number"),
            models.CheckConstraint(condition=models.Q(beds__gte=1, beds__lte=8), name="room_beds_1_to_8"),
        ]
        indexes = [models.Index(fields=["facility", "status"], name="room_facility_status")]

    def __str__(self) -> str:
        return f"{self.building}-{self.number}" if self.building else self.number

    @property
    def label(self) -> str:
        return str(self)


class RoomEvent(models.Model):
    """Every change of a room's status, in order: turnaround times are read from here."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=RoomEventKind.choices)
    from_status = models.CharField(max_length=20, choices=RoomStatus.choices)
    to_status = models.CharField(max_length=20, choices=RoomStatus.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["room", "at", "id"]

    def __str__(self) -> str:
        return f"{self.room_id}: {self.kind}"


class Stay(models.Model):
    """A person in a room: from check-in to check-out. One open stay per episode."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="stays")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="stays")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="stays")
    checked_in_at = models.DateTimeField(_("checked in"))
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    checked_out_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    out_reason = models.CharField(_("left because"), max_length=30, blank=True)

    class Meta:
        ordering = ["-checked_in_at", "-id"]
        verbose_name = _("stay")
        verbose_name_plural = _("stays")
        constraints = [
            models.UniqueConstraint(fields=["episode"], condition=models.Q(checked_out_at__isnull=True),
                                    name="stay_one_open_per_episode"),
        ]
        indexes = [models.Index(fields=["room", "checked_out_at"], name="stay_room_open")]

    def __str__(self) -> str:
        return f"{self.episode_id} @ {self.room_id}"


class StaffMember(models.Model):
    """Someone working at a facility. A registered person, so that leaving duty puts them in the loop."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="staff")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="duties")
    task_group = models.CharField(_("task group"), max_length=30, choices=TaskGroup.choices)
    post = models.CharField(_("post"), max_length=60, blank=True)
    ppe_level = models.CharField(_("protection level"), max_length=2, choices=PpeLevel.choices,
                                 default=PpeLevel.LEVEL_2)
    status = models.CharField(_("status"), max_length=20, choices=StaffStatus.choices, default=StaffStatus.ON_DUTY)
    on_duty_from = models.DateField(_("on duty from"))
    off_duty_on = models.DateField(_("left duty on"), null=True, blank=True)
    # The rotation episode opened when they left duty.
    rotation_episode = models.ForeignKey(Episode, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["facility", "task_group", "id"]
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        constraints = [
            models.UniqueConstraint(fields=["person"], condition=models.Q(status="on_duty"),
                                    name="staff_one_duty_per_person"),
        ]

    def __str__(self) -> str:
        return self.person.name


class DutyShift(models.Model):
    """The duty roster: who works which shift on which day."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="shifts")
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="shifts")
    day = models.DateField(_("day"))
    shift = models.CharField(_("shift"), max_length=10, choices=Shift.choices)

    class Meta:
        ordering = ["day", "shift", "staff"]
        constraints = [models.UniqueConstraint(fields=["staff", "day", "shift"], name="shift_unique")]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.day} {self.shift}"


class StaffHealthCheck(models.Model):
    """The daily health registration of a staff member."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="health_checks")
    day = models.DateField(_("day"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["staff", "day"], name="staff_check_once_a_day")]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.day}"


class StaffTest(models.Model):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="tests")
    sampled_on = models.DateField(_("sampled on"))
    result = models.CharField(_("result"), max_length=20, default="pending")
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-sampled_on"]
        constraints = [models.UniqueConstraint(fields=["staff", "sampled_on"], name="staff_test_once_a_day")]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.sampled_on}"


class CareRequest(models.Model):
    """A need of a person under control (at a site or at home), routed to the care group."""

    episode = models.ForeignKey(Episode, on_delete=models.PROTECT, related_name="care_requests")
    # Where the person was when asked: the facility, or none for home custody (the community answers).
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="care_requests")
    custodian = models.ForeignKey(Custodian, on_delete=models.PROTECT, null=True, related_name="+")
    kind = models.CharField(_("need"), max_length=20, choices=CareKind.choices)
    detail = models.TextField(_("detail"))
    urgent = models.BooleanField(_("urgent"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=CareStatus.choices, default=CareStatus.OPEN)
    due_at = models.DateTimeField(_("answer by"))
    created_at = models.DateTimeField(_("recorded"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    outcome = models.TextField(_("what was done"), blank=True)

    class Meta:
        ordering = ["status", "due_at", "id"]
        verbose_name = _("care request")
        verbose_name_plural = _("care requests")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True)
                | models.Q(status="closed", closed_at__isnull=False),
                name="care_closed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="care_open_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
