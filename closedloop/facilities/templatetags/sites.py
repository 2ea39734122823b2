"""Template helpers for pages of other apps that show where a person stays."""

from django import template

from closedloop.facilities.selectors import open_stay

register = template.Library()


@register.simple_tag
def current_stay(episode):
    """The open stay (facility and room) of an episode, or None."""
    return open_stay(episode) if episode is not None and episode.pk else None


@register.simple_tag(takes_context=True)
def capacity_headline(context):
    """Whether and when the city runs short of rooms (headquarters only; None for anyone else)."""
    from closedloop.facilities.capacity import capacity_headline_cached

    request = context.get("request")
    return capacity_headline_cached(request.user) if request is not None else None
