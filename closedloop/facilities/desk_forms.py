"""Forms of the check-in desk, the room page and check-out. They parse what the desk typed; the writes are
the actions' (``checkin``, ``room_transition``, ``checkout_release``, ``checkout_handover``).

A room is offered as ``<id>.<version>``: the version the desk saw travels with the choice, so a room
another desk took meanwhile is refused by the action instead of silently chosen again.
"""

from __future__ import annotations

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from closedloop.facilities import room_states as rs
from closedloop.facilities.actions.rooms import MANUAL_EVENTS
from closedloop.facilities.allocation import category_label, floor_label
from closedloop.facilities.models import Room


def room_token(room: Room | None) -> str:
    return f"{room.pk}.{room.version}" if room is not None else ""


def parse_room_token(text: str) -> tuple[int, int] | None:
    """``"12.3"`` → (12, 3); None for anything else."""
    head, dot, tail = (text or "").strip().partition(".")
    if not dot or not head.isdigit() or not tail.isdigit():
        return None
    return int(head), int(tail)


def options_html(choices: list) -> str:
    """The ``<option>``s of the room choices, rendered once for every person's select (a coach of 50 people
    and 400 free rooms would be 20,000 widget renderings otherwise)."""
    parts = []
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            inner = format_html_join("", '<option value="{}">{}</option>', label)
            parts.append(format_html('<optgroup label="{}">{}</optgroup>', value, inner))
        else:
            parts.append(format_html('<option value="{}">{}</option>', value, label))
    return "".join(parts)


def select_html(options: str, chosen: str) -> str:
    """The options with ``chosen`` (a room token) selected; none chosen selects "not now"."""
    if chosen and f'value="{chosen}"' in options:
        return mark_safe(options.replace(f'value="{chosen}"', f'value="{chosen}" selected', 1))  # noqa: S308
    return mark_safe(options.replace('value=""', 'value="" selected', 1))  # noqa: S308


def room_choices(rooms: list[Room], floors: dict[tuple[str, int], str]) -> list:
    """Available rooms grouped by floor, each floor named with the category it holds."""
    groups: dict[tuple[str, int], list] = {}
    for r in rooms:
        label = r.label + (" ♿" if r.accessible else "") + (f" ({r.beds})" if r.beds > 1 else "")
        groups.setdefault((r.building, r.floor), []).append((room_token(r), label))
    out: list = [("", _("— not now —"))]
    for (building, floor), options in groups.items():
        held = floors.get((building, floor))
        name = floor_label(building, floor)
        if held:
            name = f"{name} · {category_label(held)}"
        out.append((name, options))
    return out


class CheckinForm(forms.Form):
    """One room choice per person picked; the people are the ``pick`` values of the same form."""

    signed_by = forms.CharField(label=_("Received and signed by"), max_length=60, required=False)

    def __init__(self, *args, episodes: list, choices: list, initial_rooms: dict[int, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.episodes = episodes
        for e in episodes:
            name = f"room_{e.pk}"
            self.fields[name] = forms.CharField(label=e.person.name, required=False,
                                                widget=forms.Select(choices=choices))
            self.initial.setdefault(name, (initial_rooms or {}).get(e.pk, ""))

    def clean(self):
        data = super().clean()
        chosen = []
        for e in self.episodes:
            text = data.get(f"room_{e.pk}", "")
            if not text:
                continue
            parsed = parse_room_token(text)
            if parsed is None:
                self.add_error(f"room_{e.pk}", _("Choose a room from the list."))
                continue
            chosen.append((e, *parsed))
        if not chosen and not self.errors:
            raise forms.ValidationError(_("Choose a room for at least one person."))
        data["chosen"] = chosen
        return data

    def bound_rows(self):
        """(episode, its room field) in the order picked, for the template."""
        return [(e, self[f"room_{e.pk}"]) for e in self.episodes]


EVENT_LABELS = {
    rs.CLEAN_START: _("Cleaning started"),
    rs.CLEAN_DONE: _("Cleaning done"),
    rs.TAKE_OUT: _("Take out of service"),
    rs.BRING_BACK: _("Back in service"),
}


class TransitionForm(forms.Form):
    event = forms.ChoiceField(choices=[(e, EVENT_LABELS[e]) for e in sorted(MANUAL_EVENTS)])
    note = forms.CharField(label=_("Reason or note"), max_length=200, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


def events_for(status: str) -> list[tuple[str, str]]:
    """The manual events a room in this status may take, in the order a page offers them."""
    order = (rs.CLEAN_START, rs.CLEAN_DONE, rs.BRING_BACK, rs.TAKE_OUT)
    return [(e, EVENT_LABELS[e]) for e in order if rs.can_transition(status, e)]
