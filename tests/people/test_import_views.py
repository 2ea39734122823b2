"""The roster import in the browser's request cycle: upload, layout, preview, start, result, download."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from python_calamine import CalamineWorkbook

from closedloop.people.models import ImportMapping, ImportRun, Person
from tests.people.rosters import messy_rows, write_xlsx


@pytest.fixture
def roster(tmp_path, city, town_a, town_b, community_a1, community_a2, community_b1, person_factory):
    existing = person_factory("老住户", phone="13800000000")
    from closedloop.people.actions import PersonData, person_register

    person_register(data=PersonData(name="李娜", city=city, town=town_a, phone="13500001111"), actor=None)
    rows, expected = messy_rows(timezone.localdate(), existing.doc_number)
    return write_xlsx(tmp_path / "名单.xlsx", rows), expected


def upload(client, path, **extra):
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes()), **extra}
    return client.post(reverse("people:import_upload"), data)


def test_upload_preview_start_and_download(client, duty_officer, roster, settings):
    settings.IMPORT_RUN_INLINE = True
    path, expected = roster
    client.force_login(duty_officer)
    response = upload(client, path)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "身份证号码" in html and 'id="preview"' in html
    assert "scientific notation" in html or "科学计数法" in html
    assert "330782198503120115" not in html  # ID numbers are masked in the preview
    assert Person.objects.count() == 2  # nothing written before the start

    # Save the mapping under a name, then start.
    form = {"built_for": run.header_row, "header_row": run.header_row, "category": "", "save_as": "流调组名单"}
    for i, field in run.columns.items():
        form[f"col_{i}"] = field
    assert client.post(reverse("people:import_mapping", args=[run.pk]), form).status_code == 302
    assert ImportMapping.objects.filter(name="流调组名单").exists()
    assert client.post(reverse("people:import_start", args=[run.pk])).status_code == 302
    run.refresh_from_db()
    assert run.status == "done"
    assert {k: run.counts[k] for k in expected} == expected
    result = client.get(reverse("people:import_detail", args=[run.pk])).content.decode()
    assert 'id="import-counts"' in result and 'id="download-rejected"' in result

    download = client.get(reverse("people:import_rejected", args=[run.pk]))
    assert download.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(download.content))
    rows = book.get_sheet_by_index(0).to_python()
    assert len(rows) == 1 + expected["rejected"]
    assert rows[0][2:4] == ["序号", "姓名"]
    assert any("scientific notation" in r[0] for r in rows[1:])

    progress = client.get(reverse("people:import_progress", args=[run.pk])).json()
    assert progress["status"] == "done" and progress["rows_done"] == expected["read"]


def test_bad_file_is_refused_next_to_the_field(client, duty_officer, city, tmp_path):
    client.force_login(duty_officer)
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"not a workbook")
    response = upload(client, bad)
    assert response.status_code == 200
    assert "field-errors" in response.content.decode()
    assert not ImportRun.objects.exists()
    other = tmp_path / "x.pdf"
    other.write_bytes(b"%PDF")
    assert "field-errors" in upload(client, other).content.decode()


def test_mapping_without_name_is_refused_and_keeps_the_choice(client, duty_officer, roster):
    path, _e = roster
    client.force_login(duty_officer)
    upload(client, path)
    run = ImportRun.objects.get()
    form = {"built_for": run.header_row, "header_row": run.header_row}
    for i, field in run.columns.items():
        form[f"col_{i}"] = "" if field == "name" else field
    response = client.post(reverse("people:import_mapping", args=[run.pk]), form)
    assert response.status_code == 400
    assert "Name" in response.content.decode() or "姓名" in response.content.decode()


def test_outsiders_and_roles_without_import_are_refused(client, duty_officer, site_b, materials_clerk, roster):
    path, _e = roster
    client.force_login(duty_officer)
    upload(client, path)
    run = ImportRun.objects.get()
    client.force_login(site_b)  # may import, but not see headquarters' import
    assert client.get(reverse("people:import_detail", args=[run.pk])).status_code == 404
    assert client.get(reverse("people:import_rejected", args=[run.pk])).status_code == 404
    client.force_login(materials_clerk)
    assert client.get(reverse("people:imports")).status_code == 403
    assert client.get(reverse("people:import_upload")).status_code == 403


def test_wrong_methods(client, duty_officer, roster):
    path, _e = roster
    client.force_login(duty_officer)
    upload(client, path)
    run = ImportRun.objects.get()
    assert client.get(reverse("people:import_start", args=[run.pk])).status_code == 405
    assert client.post(reverse("people:import_progress", args=[run.pk])).status_code == 405
    assert client.post(reverse("people:imports")).status_code == 405
