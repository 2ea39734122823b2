"""Rooms from a spreadsheet: the reader (header among the first rows, Chinese and English names, each cell's
rules) and the action (good rows kept together, every other row explained, nothing written for a file that
cannot be read, a second import skips what the first made) — and its page."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from closedloop.core.models import AuditEvent
from closedloop.facilities.actions import rooms_import
from closedloop.facilities.models import Room
from closedloop.facilities.roomfile import parse_floor, parse_yes_no, read_room_file

GOOD_ROWS = [
    ["楼栋", "楼层", "房间号", "床位数", "是否无障碍", "备注"],
    ["B", 5, 501, 1, "是", "靠电梯"],
    ["B", 5, "502", 2, "否", ""],
    ["B", "6层", "601", "", "✓", None],
    ["B", 6, "602", 1.0, "N", ""],
]


def write_xlsx(path: Path, rows: list[list], *, title: str | None = "稠城隔离点A房间清单") -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("房间")
    offset = 0
    if title:
        sheet.write(0, 0, title)
        offset = 2  # a title, an empty row, then the header
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r + offset, c, value)
    book.close()
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    text = "\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def rooms_of(facility, building="B") -> dict[str, Room]:
    return {r.number: r for r in Room.objects.filter(facility=facility, building=building)}


# --- the reader ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, floor", [
    (3, 3), (3.0, 3), ("3", 3), ("3.0", 3), ("3层", 3), ("12楼", 12), ("F3", 3), ("3F", 3), ("B1", -1), ("负2", -2),
    ("-1", -1), ("三", None), ("3a", None), (3.5, None),
])
def test_floor_cells(raw, floor):
    assert parse_floor(raw) == floor


@pytest.mark.parametrize("raw, value", [
    ("是", True), ("Y", True), ("yes", True), (1, True), ("1", True), ("✓", True), ("√", True),
    ("否", False), ("N", False), (0, False), ("0", False), ("", False), (None, False), ("×", False),
    ("也许", None), ("2", None),
])
def test_accessible_cells(raw, value):
    assert parse_yes_no(raw) is value


def test_reader_finds_the_header_below_a_title(tmp_path):
    room_file = read_room_file(write_xlsx(tmp_path / "rooms.xlsx", GOOD_ROWS))
    assert room_file.header_row == 3
    assert [(line.row, line.number, line.floor, line.beds, line.accessible) for line in room_file.lines] == [
        (4, "501", 5, 1, True), (5, "502", 5, 2, False), (6, "601", 6, 1, True), (7, "602", 6, 1, False)]
    assert not any(line.problem for line in room_file.lines)


def test_reader_knows_other_header_names(tmp_path):
    rows = [["栋", "层", "房号", "床位", "无障碍", "说明"], ["A", "3", "3-01", "2", "Y", "x"]]
    [line] = read_room_file(write_csv(tmp_path / "rooms.csv", rows)).lines
    assert (line.building, line.floor, line.number, line.beds, line.accessible, line.note) == ("A", 3, "3-01", 2,
                                                                                              True, "x")


# --- the action ---------------------------------------------------------------------------------------

def test_import_makes_the_rooms_and_audits(tmp_path, facility_a, commander):
    report = rooms_import(facility=facility_a, path=write_xlsx(tmp_path / "rooms.xlsx", GOOD_ROWS),
                          actor=commander)
    assert (report.read, report.created, report.existing, report.rejected) == (4, 4, 0, 0)
    made = rooms_of(facility_a)
    assert sorted(made) == ["501", "502", "601", "602"]
    assert (made["501"].floor, made["501"].beds, made["501"].accessible, made["501"].note) == (5, 1, True, "靠电梯")
    assert (made["502"].beds, made["502"].accessible) == (2, False)
    assert (made["601"].floor, made["601"].accessible, made["602"].order) == (6, True, 2)
    assert {r.status for r in made.values()} == {"available"}
    [event] = AuditEvent.objects.filter(action="room.import")
    assert (event.actor_id, event.target_id) == (commander.pk, str(facility_a.pk))
    assert (event.after["created"], event.after["rejected"], event.after["file"]) == (4, 0, "rooms.xlsx")


def test_bad_rows_are_explained_and_the_good_ones_kept(tmp_path, facility_a, commander):
    rows = [
        ["楼栋", "楼层", "房间号", "床位数", "无障碍", "备注"],
        ["", 3, "301", 1, "否", ""],      # row 2: site A has 301 already (no building): skipped, counted
        ["B", 7, "", 1, "否", ""],        # row 3: no number
        ["B", "七", "702", 1, "否", ""],   # row 4: floor not a number
        ["B", 7, "703", 9, "否", ""],     # row 5: beds out of 1–8
        ["B", 7, "704", 1, "否", ""],     # row 6: good
        ["B", 7, "704", 2, "否", ""],     # row 7: listed twice
        ["B", 7, "705", 1, "也许", ""],    # row 8: accessible unreadable
        ["B", "", "706", 1, "", ""],      # row 9: no floor
        ["", "", "", "", "", ""],         # row 10: empty, ignored
        ["B", 7, "707", 0, "", ""],       # row 11: beds out of 1–8
    ]
    report = rooms_import(facility=facility_a, path=write_csv(tmp_path / "rooms.csv", rows), actor=commander)
    assert (report.read, report.created, report.existing, report.rejected) == (9, 1, 1, 7)
    assert sorted(rooms_of(facility_a)) == ["704"]
    assert rooms_of(facility_a)["704"].beds == 1
    problems = {p.row: p for p in report.problems}
    assert sorted(problems) == [3, 4, 5, 7, 8, 9, 11]
    assert problems[3].reason == "The room number is missing."
    assert problems[4].reason == "The floor “七” is not a number." and problems[4].column == "楼层"
    assert "between 1 and 8 beds" in problems[5].reason and problems[5].value == "9"
    assert problems[7].reason == "Room B-704 is listed twice in the file (first on row 6)."
    assert "是 or 否" in problems[8].reason and problems[8].column == "无障碍"
    assert problems[9].reason == "The floor is missing."
    assert "between 1 and 8 beds" in problems[11].reason
    [existing] = [r for r in report.rows if r.outcome == "existing"]
    assert (existing.row, existing.number) == (2, "301")


def test_reimport_skips_what_the_first_made(tmp_path, facility_a, commander):
    path = write_xlsx(tmp_path / "rooms.xlsx", GOOD_ROWS)
    rooms_import(facility=facility_a, path=path, actor=commander)
    again = rooms_import(facility=facility_a, path=path, actor=commander)
    assert (again.created, again.existing, again.rejected) == (0, 4, 0)
    assert Room.objects.filter(facility=facility_a, building="B").count() == 4
    assert AuditEvent.objects.filter(action="room.import").count() == 2


@pytest.mark.django_db(transaction=True)
def test_desks_importing_one_file_at_once_make_each_room_once(tmp_path, facility_a, commander):
    path = write_xlsx(tmp_path / "rooms.xlsx", GOOD_ROWS)
    racers = 3
    barrier = threading.Barrier(racers)
    outcomes: list = [None] * racers

    def desk(i):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = rooms_import(facility=facility_a, path=path, actor=commander)
        except ValidationError as exc:  # "another desk added rooms at the same moment": nothing written
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # The site is locked for the import: the desks take turns, the first makes the rooms, the others skip them.
    assert all(o is not None and not isinstance(o, ValidationError) for o in outcomes), outcomes
    assert sorted((r.created, r.existing) for r in outcomes) == [(0, 4), (0, 4), (4, 0)]
    assert sorted(rooms_of(facility_a)) == ["501", "502", "601", "602"]


def test_chinese_excel_csv_is_read(tmp_path, facility_a, commander):
    path = write_csv(tmp_path / "rooms.csv", GOOD_ROWS, encoding="gb18030")
    report = rooms_import(facility=facility_a, path=path, actor=commander)
    assert report.created == 4 and rooms_of(facility_a)["501"].note == "靠电梯"


@pytest.mark.parametrize("name, content", [
    ("rooms.xlsx", b"this is not a workbook"),
    ("rooms.csv", b""),
    ("rooms.csv", "姓名,电话\n张三,13812345678\n".encode()),  # no floor and room number columns
    ("rooms.pdf", b"%PDF-1.4"),
])
def test_an_unreadable_file_writes_nothing(tmp_path, facility_a, commander, name, content):
    before = Room.objects.count()
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError) as exc:
        rooms_import(facility=facility_a, path=path, actor=commander)
    assert "file" in exc.value.message_dict
    assert Room.objects.count() == before
    assert not AuditEvent.objects.filter(action="room.import").exists()


def test_import_needs_headquarters(tmp_path, facility_a, site_a):
    with pytest.raises(PermissionDenied):
        rooms_import(facility=facility_a, path=write_xlsx(tmp_path / "rooms.xlsx", GOOD_ROWS), actor=site_a)
    assert not rooms_of(facility_a)


# --- the page -----------------------------------------------------------------------------------------

@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def test_import_page_shows_the_result_table(client, tmp_path, facility_a, commander):
    rows = [*GOOD_ROWS, ["B", "七", "702", 1, "否", ""]]
    path = write_xlsx(tmp_path / "房间清单.xlsx", rows)
    client.force_login(commander)
    url = reverse("sites:rooms_import", args=[facility_a.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"file": upload(path)})
    assert response.status_code == 200
    text = response.content.decode()
    assert "房间清单.xlsx" in text
    assert 'data-count="created">4<' in text and 'data-count="rejected">1<' in text
    assert 'data-row="8"' in text and "The floor “七” is not a number." in text
    assert len(rooms_of(facility_a)) == 4


def test_import_page_keeps_the_form_on_a_bad_file(client, tmp_path, facility_a, commander):
    client.force_login(commander)
    url = reverse("sites:rooms_import", args=[facility_a.pk])
    response = client.post(url, {"file": SimpleUploadedFile("rooms.xlsx", b"garbage")})
    assert response.status_code == 400
    assert "not a readable spreadsheet" in response.content.decode()
    response = client.post(url, {"file": SimpleUploadedFile("rooms.docx", b"garbage")})
    assert response.status_code == 400 and "Only .xlsx, .xls and .csv" in response.content.decode()
    assert not AuditEvent.objects.filter(action="room.import").exists()


def test_import_page_refuses_outsiders_roles_and_methods(client, tmp_path, facility_a, site_a, site_b, commander):
    url = reverse("sites:rooms_import", args=[facility_a.pk])
    path = write_xlsx(tmp_path / "rooms.xlsx", GOOD_ROWS)
    client.force_login(site_b)
    assert client.get(url).status_code == 404
    assert client.post(url, {"file": upload(path)}).status_code == 404
    client.force_login(site_a)
    assert client.get(url).status_code == 403
    assert client.post(url, {"file": upload(path)}).status_code == 403
    client.force_login(commander)
    assert client.put(url).status_code == 405
    assert not rooms_of(facility_a)
