from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from closedloop.facilities import room_states as rs


class FacilityKind(models.TextChoices):
    ISOLATION_SITE = "isolation_site", _("Centralized isolation site")
    HEALTH_STATION = "health_station", _("Health station")
    TRANSFER_STATION = "transfer_station", _("Transfer station")
    HOSPITAL = "hospital", _("Designated hospital")
    OUT_OF_CITY_SITE = "out_of_city_site", _("Isolation site in another city")


# Facilities whose rooms are allocated by the city (the others hold people without rooms here).
ROOMED_KINDS = frozenset({FacilityKind.ISOLATION_SITE, FacilityKind.HEALTH_STATION})


class FacilityStatus(models.TextChoices):
    PREPARING = "preparing", _("Preparing")
    OPEN = "open", pgettext_lazy("facility status", "Open")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class RoomStatus(models.TextChoices):
    AVAILABLE = rs.AVAILABLE, _("Available")
    OCCUPIED = rs.OCCUPIED, _("Occupied")
    AWAITING_CLEANING = rs.AWAITING_CLEANING, _("Awaiting cleaning")
    CLEANING = rs.CLEANING, _("Cleaning")
    OUT_OF_SERVICE = rs.OUT_OF_SERVICE, _("Out of service")


class RoomEventKind(models.TextChoices):
    ASSIGN = rs.ASSIGN, _("Assigned")
    VACATE = rs.VACATE, _("Vacated")
    CLEAN_START = rs.CLEAN_START, _("Cleaning started")
    CLEAN_DONE = rs.CLEAN_DONE, _("Cleaned")
    OUT_OF_SERVICE = rs.TAKE_OUT, _("Taken out of service")
    BACK_IN_SERVICE = rs.BRING_BACK, _("Back in service")


class TaskGroup(models.TextChoices):
    DISINFECTION = "disinfection", _("Disinfection")
    HEALTH_OBSERVATION = "health_observation", _("Health observation")
    LIAISON = "liaison", _("Liaison")
    SECURITY = "security", _("Security")
    LOGISTICS = "logistics", _("Logistics")
    TRANSFER = "transfer", _("Transfer")
    CARE = "care", _("Care")


class Shift(models.TextChoices):
    DAY = "day", _("Day shift (08:00–16:00)")
    EVENING = "evening", _("Evening shift (16:00–24:00)")
    NIGHT = "night", _("Night shift (00:00–08:00)")


class PpeLevel(models.TextChoices):
    LEVEL_1 = "1", _("Level 1 protection")
    LEVEL_2 = "2", _("Level 2 protection")
    LEVEL_3 = "3", _("Level 3 protection")


class StaffStatus(models.TextChoices):
    ON_DUTY = "on_duty", _("On duty")
    OFF_DUTY = "off_duty", _("Left duty (in rotation)")


class CareKind(models.TextChoices):
    MEDICINE = "medicine", _("Medicine")
    SPECIAL_FOOD = "special_food", _("Special food")
    MEDICAL_CARE = "medical_care", _("Medical care")
    COUNSELLING = "counselling", _("Psychological counselling")
    DEPENDENT = "dependent", _("Help for a dependent left at home")
    OTHER = "other", _("Other")


class CareStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("care request status", "Open")
    CLOSED = "closed", pgettext_lazy("care request status", "Closed")
