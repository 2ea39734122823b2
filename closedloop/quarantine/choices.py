from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.lib import categories as c
from closedloop.quarantine import states as s


class Category(models.TextChoices):
    CLOSE_CONTACT = c.CLOSE_CONTACT, _("Close contact")
    SECONDARY_CONTACT = c.SECONDARY_CONTACT, _("Secondary contact")
    INBOUND = c.INBOUND, _("Inbound traveller")
    HIGH_RISK_AREA = c.HIGH_RISK_AREA, _("From a high-risk area")
    MEDIUM_RISK_AREA = c.MEDIUM_RISK_AREA, _("From a medium-risk area")
    CASE = c.CASE, _("Case")
    OUT_OF_CITY = c.OUT_OF_CITY, _("Isolated in another city")
    STAFF_ROTATION = c.STAFF_ROTATION, _("Staff leaving closed-loop duty")


class AnchorKind(models.TextChoices):
    LAST_EXPOSURE = "last_exposure", _("Last exposure")
    ARRIVAL = "arrival", _("Arrival")
    LEFT_RISK_AREA = "left_risk_area", _("Left the risk area")
    CONTROL_START = "control_start", _("Start of control")


class EpisodeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class EpisodeState(models.TextChoices):
    AWAITING = s.AWAITING, _("Awaiting placement")
    IN_CUSTODY = s.IN_CUSTODY, _("In custody")
    IN_TRANSIT = s.IN_TRANSIT, _("In transit")
    RELEASED = s.RELEASED, _("Released")
    BECAME_CASE = s.BECAME_CASE, _("Became a case")
    CLOSED = s.CLOSED, _("Closed")


class LedgerEvent(models.TextChoices):
    PLACE = s.PLACE, _("Placed under control")
    GIVE = s.GIVE, _("Handed over")
    RECEIVE = s.RECEIVE, _("Received")
    REFUSE = s.REFUSE, _("Refused by the receiver")
    RELEASE = s.RELEASE, _("Released")
    BECOME_CASE = s.BECOME_CASE, _("Became a case")
    CLOSE = s.CLOSE, _("Closed")


class CustodianKind(models.TextChoices):
    ISOLATION_SITE = "isolation_site", _("Centralized isolation site")
    HEALTH_STATION = "health_station", _("Health station")
    VEHICLE_TRIP = "vehicle_trip", _("Vehicle trip")
    TRANSFER_STATION = "transfer_station", _("Transfer station")
    HOME_COMMUNITY = "home_community", _("Home community")
    HOSPITAL = "hospital", _("Designated hospital")
    OUT_OF_CITY_SITE = "out_of_city_site", _("Isolation site in another city")


class CheckSlot(models.TextChoices):
    MORNING = "morning", _("Morning")
    NOON = "noon", _("Noon")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")
    DAILY = "daily", _("Daily")


class TestKind(models.TextChoices):
    PCR = "pcr", _("Nucleic-acid (PCR) test")
    ANTIGEN = "antigen", _("Antigen test")


class TestResult(models.TextChoices):
    PENDING = "pending", _("Awaiting result")
    NEGATIVE = "negative", _("Negative")
    ASSESS = "assess", _("Needs risk assessment")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid sample")


class AlertKind(models.TextChoices):
    FEVER = "fever", _("Fever")
    SYMPTOM = "symptom", _("Symptoms")
    POSITIVE = "positive", _("Positive result")
    ASSESS = "assess", _("Result needs risk assessment")
    LOST_IN_TRANSIT = "lost_in_transit", _("Lost in transit")
    OVERDUE_RELEASE = "overdue_release", _("Kept beyond the release day")
    MISSED_TEST = "missed_test", _("Missed test")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
