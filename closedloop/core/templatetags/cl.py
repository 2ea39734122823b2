"""Template helpers shared by every page: dates the Chinese way, masking,
query strings for pagination and sortable columns, person flags.

Load with ``{% load cl %}``.
"""

from __future__ import annotations

import datetime as dt
import json

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from closedloop.lib.dates import format_cn, format_cn_datetime
from closedloop.lib.identity import mask_id
from closedloop.lib.phones import mask_phone

register = template.Library()


def _chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


@register.filter
def cn_date(value) -> str:
    """2022年8月3日 in Chinese, 2022-08-03 in English; a datetime shows its local date."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    return format_cn(value) if _chinese() else value.isoformat()


@register.filter
def cn_datetime(value) -> str:
    """2022年8月3日 14:30 in Chinese, 2022-08-03 14:30 in English, in local time."""
    if value in (None, ""):
        return ""
    if not isinstance(value, dt.datetime):
        return cn_date(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_cn_datetime(value) if _chinese() else value.strftime("%Y-%m-%d %H:%M")


def mask_address(value: str) -> str:
    """Keep the place up to the first digit (street, community), hide the house number."""
    if not value:
        return ""
    for i, ch in enumerate(value):
        if ch.isdigit():
            return value[:i] + "***" if i >= 2 else "***"
    return value[:6] + "***" if len(value) > 6 else "***"


def mask_value(value, kind: str = "") -> str:
    """Mask a personal value by its kind: id, phone, phones, address (partial) or anything else (***)."""
    if value in (None, ""):
        return ""
    text = str(value)
    if kind in ("id", "doc_number"):
        return mask_id(text)
    if kind == "phone":
        return mask_phone(text)
    if kind in ("phones", "phone_other"):
        return " / ".join(mask_phone(p.strip()) for p in text.split("/") if p.strip())
    if kind == "address":
        return mask_address(text)
    return "***"


@register.filter
def mask(value, kind: str = "") -> str:
    """``{{ value|mask:"id" }}``, ``|mask:"phone"``, ``|mask:"address"``; no kind gives ``***``."""
    return mask_value(value, kind)


@register.simple_tag(takes_context=True)
def qs(context, **changes) -> str:
    """The current query string with some keys changed: ``{% qs page=3 %}``.

    A value of ``None`` or ``""`` removes the key. Changing anything but the
    page goes back to the first page. Returns ``?…`` (or ``?`` when empty).
    """
    request = context.get("request")
    query = request.GET.copy() if request is not None else None
    if query is None:
        from django.http import QueryDict

        query = QueryDict(mutable=True)
    if "page" not in changes:
        query.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str) -> str:
    """A column header link sorting by ``key``; a second click reverses it."""
    request = context.get("request")
    current = request.GET.get("sort", "") if request is not None else ""
    if current == key:
        target, arrow, state = f"-{key}", " ▲", "ascending"
    elif current == f"-{key}":
        target, arrow, state = key, " ▼", "descending"
    else:
        target, arrow, state = key, "", "none"
    return format_html(
        '<a class="sort" href="{}" data-sort="{}">{}{}</a>', qs(context, sort=target), state, label, arrow
    )


@register.filter
def person_flags(person) -> list[tuple[str, str]]:
    """(field, label) of the vulnerability flags that are set."""
    from closedloop.people.choices import FLAGS

    return [(name, str(label)) for name, label in FLAGS if getattr(person, name, False)]


@register.filter
def age(birth_date) -> int | str:
    if not birth_date:
        return ""
    from closedloop.people.derive import age_on

    return age_on(birth_date, timezone.localdate())


@register.filter
def changes(event) -> list[tuple[str, str, str]]:
    """An audit row's before/after as (key, before, after), compact."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = []
    for key in list(dict.fromkeys([*before.keys(), *after.keys()])):
        if key not in before and after.get(key) in (None, "", False, [], {}):
            continue  # a new object's empty fields say nothing
        rows.append((key, _compact(before.get(key, "")), _compact(after.get(key, ""))))
    if not isinstance(event.before, dict) and event.before not in (None, ""):
        rows.append(("", _compact(event.before), ""))
    if not isinstance(event.after, dict) and event.after not in (None, ""):
        rows.append(("", "", _compact(event.after)))
    return rows


def _compact(value) -> str:
    if value is None or value == "":
        return ""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


@register.filter
def jurisdiction_label(jurisdiction) -> str:
    return jurisdiction.label if jurisdiction is not None else ""
