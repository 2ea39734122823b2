"""The out-of-city headline for pages of other apps (the overview)."""

from django import template
from django.utils import timezone

register = template.Library()


@register.simple_tag(takes_context=True)
def away_headline(context):
    """How many of ours are still out of the city, and when the last is home (None without VIEW_PEOPLE)."""
    from closedloop.core.roles import Cap
    from closedloop.transfers.away_selectors import headline

    request = context.get("request")
    if request is None or not request.user.can(Cap.VIEW_PEOPLE):
        return None
    return headline(request.user, timezone.localdate())
