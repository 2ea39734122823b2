"""Sections other apps add to the work lists and the headquarters alerts page.

The closed loop does not know rooms, staff or care requests; the facilities app
registers a section (a template, and a function giving its context) in its
``AppConfig.ready``. A work-list view merges each section's context into its
own and includes the templates in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SITE, COMMUNITY, HEADQUARTERS = "site", "community", "headquarters"


@dataclass(frozen=True)
class Section:
    template: str
    # (user, subject, work list or None, now) -> context dict, or None to leave the section out.
    context: Callable


_sections: dict[str, list[Section]] = {SITE: [], COMMUNITY: [], HEADQUARTERS: []}


def add_section(page: str, template: str, context: Callable) -> None:
    if all(s.template != template for s in _sections[page]):
        _sections[page].append(Section(template, context))


def sections(page: str, user, subject, wl, now) -> tuple[list[str], dict]:
    """The templates to include and the context they need, for one page."""
    templates: list[str] = []
    merged: dict = {}
    for section in _sections[page]:
        context = section.context(user, subject, wl, now)
        if context is not None:
            templates.append(section.template)
            merged.update(context)
    return templates, merged
