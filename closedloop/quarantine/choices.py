from django.db import models
from django.utils.translation import gettext_lazy as _

from closedloop.lib import categories as c


class Category(models.TextChoices):
    CLOSE_CONTACT = c.CLOSE_CONTACT, _("Close contact")
    SECONDARY_CONTACT = c.SECONDARY_CONTACT, _("Secondary contact")
    INBOUND = c.INBOUND, _("Inbound traveller")
    HIGH_RISK_AREA = c.HIGH_RISK_AREA, _("From a high-risk area")
    MEDIUM_RISK_AREA = c.MEDIUM_RISK_AREA, _("From a medium-risk area")
    CASE = c.CASE, _("Case")
    OUT_OF_CITY = c.OUT_OF_CITY, _("Isolated in another city")


class AnchorKind(models.TextChoices):
    LAST_EXPOSURE = "last_exposure", _("Last exposure")
    ARRIVAL = "arrival", _("Arrival")
    LEFT_RISK_AREA = "left_risk_area", _("Left the risk area")
    CONTROL_START = "control_start", _("Start of control")


class EpisodeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
