"""Helpers of the out-of-city registry's tests: roster files as other cities send them, ID numbers,
a transfer desk login, and records built through the import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import xlsxwriter
from django.test import Client
from stdnum.cn import ric

from closedloop.core.actions import user_create
from closedloop.core.roles import Role
from closedloop.transfers.actions import away_import
from closedloop.transfers.models import AwayRecord
from tests.conftest import PASSWORD

HEADER = ["姓名", "身份证号", "联系电话", "隔离点", "所在城市", "解除隔离日期", "现住址所属镇街", "村社区", "状态"]
HZ_SITE, NB_SITE = "杭州市萧山区集中隔离点", "宁波市鄞州区集中隔离点"


def resident_id(n: int, *, female: bool = False, birth: date = date(1985, 3, 1)) -> str:
    """A valid Yiwu ID number, distinct per n (and from the conftest's person_factory, born 1990)."""
    body = f"330782{birth:%Y%m%d}{n * 2 + (0 if female else 1):03d}"
    return body + ric.calc_check_digit(body + "0")


def row(n: int, name: str, *, site: str = HZ_SITE, city: str = "杭州市", release: str = "2026-12-01",
        town: str = "稠城街道", community: str = "", status: str = "", phone: str = "") -> list:
    return [name, resident_id(n), phone or f"1391234{n:04d}", site, city, release, town, community, status]


def write_csv(folder: Path, rows: list[list], name: str = "roster.csv", *, header=HEADER, title: str = "") -> Path:
    path = folder / name
    lines = ([title] if title else []) + [",".join(header)] + [",".join(str(c) for c in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def write_xlsx(folder: Path, rows: list[list], name: str = "roster.xlsx", *, header=HEADER, title: str = "") -> Path:
    path = folder / name
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("名单")
    lines = ([[title]] if title else []) + [header] + rows
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            sheet.write_string(r, c, str(value)) if isinstance(value, str) else sheet.write(r, c, value)
    book.close()
    return path


def import_rows(folder: Path, rows: list[list], *, actor=None, city=None, name: str = "roster.csv", hint: str = ""):
    return away_import(path=write_csv(folder, rows, name), actor=actor, city=city, origin_city_hint=hint)


def record_of(name: str) -> AwayRecord:
    return AwayRecord.objects.select_related("episode__person", "episode__custodian", "origin").get(
        episode__person__name=name)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def transfer_desk(city):
    return user_create(username="transfer", password=PASSWORD, role=Role.TRANSFER_DESK, full_name="Transfer",
                       jurisdictions=[city], actor=None)
