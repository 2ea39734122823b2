"""The manifest of one trip, for the escorts: printed on A4 with a signature block for both sides of each
hand-over, or exported as a workbook (xlsxwriter).

ID numbers and phones are always masked here: a manifest travels on paper. People left behind at
boarding stay on the list with their status and do not count against the seats.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

import xlsxwriter
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from closedloop.planning.returns.instance import capacity
from closedloop.transfers import live
from closedloop.transfers.choices import PassengerStatus, Stage, TripKind
from closedloop.transfers.models import Fleet, Passenger, Trip


@dataclass
class Line:
    number: int
    name: str
    sex: str
    doc_number: str  # masked
    phone: str  # masked
    group: str
    home: str
    lane: int | None  # 1-based, coaches only
    screen_from: datetime | None
    status: str
    status_label: str


@dataclass
class Signing:
    """One hand-over of the trip: who gives, who receives."""

    stage: str
    label: str
    giver: str
    receiver: str


@dataclass
class Manifest:
    trip: Trip
    title: str
    vehicle: str
    origin: str  # where the trip picks people up
    destination: str
    times: list[tuple[str, datetime | None]]
    seats: int
    capacity: int
    lines: list[Line] = field(default_factory=list)
    signings: list[Signing] = field(default_factory=list)

    @property
    def people(self) -> int:
        return sum(1 for line in self.lines if line.status != PassengerStatus.LEFT_BEHIND)

    @property
    def over_capacity(self) -> bool:
        return self.people > self.capacity

    @property
    def filename(self) -> str:
        return f"manifest-{self.trip.kind}-{self.trip.pk}-{timezone.localtime(self.trip.depart_at):%Y%m%d-%H%M}.xlsx"


def manifest_for(trip: Trip) -> Manifest:
    """The manifest of a trip (its plan, origin and town loaded): three queries."""
    plan = trip.plan
    fleet = Fleet.objects.select_related("station").filter(city_id=plan.city_id).first()
    station = fleet.station.name if fleet and fleet.station else _("Transfer station")
    number = trip.vehicle + 1
    if trip.kind == TripKind.COACH:
        seats = plan.instance["coaches"]["seats"]
        cap = capacity(seats, plan.instance["coaches"]["max_load"])
        vehicle = _("Coach %(number)s") % {"number": number}
        origin = f"{trip.origin.name}（{trip.origin.other_city}）" if trip.origin.other_city else trip.origin.name
        destination = station
        times = [(_("Leaves the station"), trip.start_at), (_("Leaves the site"), trip.depart_at),
                 (_("At the station"), trip.arrive_at)]
        signings = [Signing(Stage.BOARDING, str(Stage.BOARDING.label), trip.origin.name, vehicle),
                    Signing(Stage.STATION, str(Stage.STATION.label), vehicle, station)]
    else:
        index = live.LiveIndex.from_instance(plan.instance, plan.epoch)
        district_id = next((d for d, town in index.districts.items() if town == trip.town_id), None)
        district = next((d for d in plan.instance["districts"] if d["id"] == district_id), None)
        seats = district["seats"] if district else 0
        cap = capacity(seats, district["max_load"]) if district else 0
        vehicle = _("%(town)s shuttle %(number)s") % {"town": trip.town.label, "number": number}
        origin, destination = station, trip.town.label
        times = [(_("Leaves the station"), trip.depart_at), (_("Arrives home"), trip.arrive_at)]
        signings = [Signing(Stage.SHUTTLE, str(Stage.SHUTTLE.label), station, vehicle),
                    Signing(Stage.HOME, str(Stage.HOME.label), vehicle, _("Home community of each person"))]
    out = Manifest(trip=trip, title=_("Transfer manifest"), vehicle=vehicle, origin=origin,
                   destination=destination, times=times, seats=seats, capacity=cap, signings=signings)
    rows = (Passenger.objects.filter(trip=trip).select_related("episode__person__community",
                                                                 "episode__person__town")
            .order_by("group", "episode__person__name_pinyin", "pk"))
    for n, p in enumerate(rows, start=1):
        person = p.episode.person
        home = person.community or person.town
        out.lines.append(Line(
            number=n, name=person.name, sex=person.get_sex_display(), doc_number=person.doc_number_masked,
            phone=person.phone_masked, group=p.group, home=home.label if home else "",
            lane=p.lane + 1 if p.lane is not None else None, screen_from=p.screen_from, status=p.status,
            status_label=p.get_status_display()))
    return out


# --- the workbook ---------------------------------------------------------------------------------------

def columns(trip: Trip) -> list[str]:
    cols = [_("No."), _("Name"), _("Sex"), _("ID number"), _("Phone"), _("Household group"), _("Goes home to")]
    if trip.kind == TripKind.COACH:
        cols += [_("Screening lane"), _("Screening from")]
    return cols + [_("Status"), _("Signature")]


def _local(value: datetime | None) -> datetime | None:
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def xlsx(m: Manifest) -> bytes:
    """The manifest as one sheet: the trip, the passengers, the signature block."""
    zh = (get_language() or "").startswith("zh")
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(_("Manifest")[:31])
    title = book.add_format({"bold": True, "font_size": 16})
    key = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#EDEDED", "border": 1})
    cell = book.add_format({"border": 1})
    moment = book.add_format({"num_format": 'yyyy"年"m"月"d"日" h:mm' if zh else "yyyy-mm-dd hh:mm"})
    moment_cell = book.add_format({"border": 1, "num_format": 'm"月"d"日" h:mm' if zh else "mm-dd hh:mm"})
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    cols = columns(m.trip)
    for c, label in enumerate(cols):
        sheet.set_column(c, c, 6 if c == 0 else max(10, min(len(label) * 2 + 4, 24)))

    sheet.write_string(0, 0, f"{m.title} · {m.vehicle}", title)
    facts: list[tuple[str, object]] = [
        (_("Trip"), f"#{m.trip.pk} · {m.trip.get_kind_display()}"), (_("From"), m.origin), (_("To"), m.destination),
        *m.times, (_("Plate"), m.trip.plate), (_("Driver"), m.trip.driver), (_("Escort staff"), m.trip.escorts),
        (_("People / capacity"), _("%(people)s of %(capacity)s (%(seats)s seats)") % {
            "people": m.people, "capacity": m.capacity, "seats": m.seats}),
    ]
    r = 2
    for label, value in facts:
        sheet.write_string(r, 0, str(label), key)
        if isinstance(value, datetime):
            sheet.write_datetime(r, 2, _local(value), moment)
        elif value:
            sheet.write_string(r, 2, str(value))
        r += 1

    r += 1
    for c, label in enumerate(cols):
        sheet.write_string(r, c, label, header)
    for line in m.lines:
        r += 1
        values: list = [line.number, line.name, line.sex, line.doc_number, line.phone, line.group, line.home]
        if m.trip.kind == TripKind.COACH:
            values += [line.lane, _local(line.screen_from)]
        values += [line.status_label, ""]
        for c, value in enumerate(values):
            if value is None or value == "":
                sheet.write_blank(r, c, None, cell)
            elif isinstance(value, datetime):
                sheet.write_datetime(r, c, value, moment_cell)
            elif isinstance(value, int):
                sheet.write_number(r, c, value, cell)
            else:
                sheet.write_string(r, c, str(value), cell)

    r += 2
    for s in m.signings:
        sheet.write_string(r, 0, s.label, key)
        r += 1
        for side, who in ((_("Handed over by"), s.giver), (_("Received by"), s.receiver)):
            sheet.write_string(r, 0, f"{side}: {who}")
            sheet.write_string(r, 4, _("Signature"))
            sheet.write_string(r, 7, _("Date and time"))
            r += 1
        r += 1
    book.close()
    return buffer.getvalue()
