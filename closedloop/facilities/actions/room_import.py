"""Rooms from a spreadsheet: every row checked, the good ones made together, every other one explained.

A room the site has already (same building and number) is skipped and
counted, so importing the same file twice makes no duplicates. A file that
cannot be read at all is refused on ``file`` and nothing is written.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from closedloop.core.audit import audit_record
from closedloop.facilities.actions.rooms import corridor_order, may_manage_rooms
from closedloop.facilities.models import Facility, Room

CREATED, EXISTING, REJECTED = "created", "existing", "rejected"


@dataclass
class RoomImportRow:
    row: int  # Excel row number
    outcome: str  # created | existing | rejected
    building: str = ""
    floor: int | None = None
    number: str = ""
    column: str = ""
    value: str = ""
    reason: str = ""

    @property
    def label(self) -> str:
        return f"{self.building}-{self.number}" if self.building else self.number


@dataclass
class RoomImport:
    facility: Facility
    file_name: str
    sha256: str
    header_row: int
    rows: list[RoomImportRow] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def read(self) -> int:
        return len(self.rows)

    @property
    def created(self) -> int:
        return self.count(CREATED)

    @property
    def existing(self) -> int:
        return self.count(EXISTING)

    @property
    def rejected(self) -> int:
        return self.count(REJECTED)

    @property
    def problems(self) -> list[RoomImportRow]:
        return [r for r in self.rows if r.outcome == REJECTED]

    def summary(self) -> dict:
        return {"file": self.file_name, "sha256": self.sha256, "header_row": self.header_row, "read": self.read,
                "created": self.created, "existing": self.existing, "rejected": self.rejected}

    def as_dict(self) -> dict:
        return {**self.summary(), "rows": [asdict(r) for r in self.rows]}


def rooms_import(*, facility: Facility, path: Path | str, actor, file_name: str = "") -> RoomImport:
    """Read a room file (.xlsx/.csv) and make the rooms it lists that the site does not have yet.

    Every row gets an outcome: created, existing (skipped) or rejected with
    its reason (the number missing, the floor not a number, beds outside
    1–8, listed twice in the file …). The good rows are written in one
    transaction with one audit row; a file that cannot be read writes nothing.
    """
    from closedloop.facilities.roomfile import read_room_file
    from closedloop.people.importing.reader import UnreadableFile

    may_manage_rooms(actor, facility)
    path = Path(path)
    try:
        data = path.read_bytes()
        room_file = read_room_file(path)
    except UnreadableFile as exc:
        raise ValidationError({"file": str(exc)}) from None
    except OSError:
        raise ValidationError({"file": _("The file cannot be read.")}) from None
    report = RoomImport(facility=facility, file_name=file_name or path.name,
                        sha256=hashlib.sha256(data).hexdigest(), header_row=room_file.header_row)
    try:
        with transaction.atomic():
            _write(report, room_file.lines, facility, actor)
    except IntegrityError:
        # Another desk made one of these rooms at the same moment: nothing of this file was written.
        raise ValidationError(_("Another desk added rooms to this site at the same moment; "
                                "nothing was imported. Import the file again: rooms that exist now are skipped.")) \
            from None
    return report


def _write(report: RoomImport, lines, facility: Facility, actor) -> None:
    # The facility row is the lock: two imports into one site run one after the other.
    Facility.objects.select_for_update().filter(pk=facility.pk).first()
    existing = set(Room.objects.filter(facility=facility).values_list("building", "number"))
    first_row: dict[tuple[str, str], int] = {}
    new: list[Room] = []
    for line in lines:
        row = RoomImportRow(row=line.row, outcome=REJECTED, building=line.building, floor=line.floor,
                            number=line.number)
        if line.problem:
            row.column, row.value, row.reason = line.problem_column, line.problem_value, line.problem
        elif line.key in first_row:
            row.column, row.value = line.label, line.label
            row.reason = _("Room %(room)s is listed twice in the file (first on row %(row)s).") % {
                "room": line.label, "row": first_row[line.key]}
        elif line.key in existing:
            row.outcome = EXISTING
            first_row[line.key] = line.row
        else:
            row.outcome = CREATED
            first_row[line.key] = line.row
            new.append(Room(facility=facility, building=line.building, floor=line.floor, number=line.number,
                            beds=line.beds, accessible=line.accessible, note=line.note,
                            order=corridor_order(line.number)))
        report.rows.append(row)
    Room.objects.bulk_create(new, batch_size=1000)
    audit_record(actor=actor, action="room.import", target=facility, after=report.summary())
