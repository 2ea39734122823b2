from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AwayStatus(models.TextChoices):
    """What the other city's headquarters last said of a resident isolated there."""

    ISOLATED = "isolated", _("In isolation there")
    RELEASED = "released", _("Released there, waiting to come home")
    POSITIVE = "positive", _("Tested positive there")
    MOVED = "moved", _("Moved to another site there")
    HOME = "home", _("Brought home")


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ADOPTED = "adopted", _("Adopted")
    SUPERSEDED = "superseded", _("Superseded")


class TripKind(models.TextChoices):
    COACH = "coach", _("Coach (origin → station)")
    SHUTTLE = "shuttle", _("Shuttle (station → home district)")


class TripState(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("trip state", "Planned")
    BOARDING = "boarding", pgettext_lazy("trip state", "Boarding")
    UNDER_WAY = "under_way", pgettext_lazy("trip state", "Under way")
    ARRIVED = "arrived", pgettext_lazy("trip state", "Arrived")
    DONE = "done", pgettext_lazy("trip state", "Handed over")
    CANCELLED = "cancelled", pgettext_lazy("trip state", "Cancelled")


class PassengerStatus(models.TextChoices):
    PLANNED = "planned", pgettext_lazy("passenger", "Planned")
    BOARDED = "boarded", pgettext_lazy("passenger", "On board")
    LEFT_BEHIND = "left_behind", pgettext_lazy("passenger", "Left behind")
    DELIVERED = "delivered", pgettext_lazy("passenger", "Handed over")


class Stage(models.TextChoices):
    """The hand-overs of the way home; each has its checklist (checklists/handover.json)."""

    BOARDING = "boarding", _("Boarding at the origin site")
    STATION = "station", _("Arrival at the transfer station")
    SHUTTLE = "shuttle", _("Boarding the district shuttle")
    HOME = "home", _("Arrival home (the community receives)")
