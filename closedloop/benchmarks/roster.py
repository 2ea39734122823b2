"""The benchmark roster: a tracing team's list of close contacts, as big as asked.

``write_roster(path, rows=, seed=, today=)`` writes an .xlsx (xlsxwriter,
constant memory) that looks like what a tracing team sends: households of one
to six people sharing an address, town and community from the demo city, the
whole household exposed on the same day within the last week, dates typed in
the forms clerks use, some phones with dashes or spaces, a town given by its
short name now and then. About 2% of the rows are bad, in four kinds that the
import must reject: an ID number with a wrong check digit, an ID number
mangled by Excel into scientific notation, a last exposure in the future, a
missing name.

Everything is drawn from ``random.Random(seed)``: the same rows, seed and day
give the same file. Pure Python, no Django; every person is obviously fake
(ID numbers with the reserved area code 330000, mobiles in 1700 xxx xxxx).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from closedloop.lib.demo_city import CITY_NAME, TOWNS
from closedloop.lib.identity import synthetic_resident_id

SCALES = {"small": 5_000, "full": 100_000}
BAD_SHARE = 0.02
BAD_KINDS = ("bad_checksum", "scientific_notation", "future_date", "missing_name")
HEADERS = ["姓名", "性别", "证件类型", "身份证号码", "联系电话", "现住址", "所属镇街", "村社区", "人员类别",
           "末次暴露时间", "备注"]
EXPOSURE_WINDOW_DAYS = 7  # last exposures fall within the last week

_SURNAMES = ("王", "陈", "吴", "楼", "金", "朱", "李", "张", "何", "傅", "龚", "杨", "刘", "周", "骆", "黄",
             "徐", "方", "叶", "胡", "鲍", "虞", "毛", "赵", "孙", "郑", "冯", "蒋", "丁", "俞", "应", "林")
_SURNAME_CUM = tuple(itertools.accumulate(
    (12, 11, 9, 7, 6, 6, 6, 6, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2)))
_GIVEN = {
    "M": ("伟", "军", "勇", "强", "建华", "志强", "海峰", "晓东", "建国", "国强", "德明", "浩", "杰", "磊", "宇",
          "俊杰", "子轩", "梓睿", "浩宇", "一鸣", "文博", "荣华", "金水", "振华", "天宇", "明轩", "春雷"),
    "F": ("丽", "芳", "燕", "红", "敏", "静", "丽华", "红霞", "海燕", "秀英", "桂英", "玉兰", "婷", "倩", "雪",
          "欣怡", "雨婷", "梓涵", "一诺", "诗涵", "美玲", "雪芳", "素珍", "月娥", "晓雯", "佳琪", "可馨"),
}
_SHAPES = ("single", "couple", "elderly_couple", "nuclear", "three_generation", "single_parent")
_SHAPE_CUM = tuple(itertools.accumulate((16, 14, 10, 32, 20, 8)))
_NOTES = ("同住家属", "已电话联系", "在外地出差", "居家", "需翻译", "行动不便")


@dataclass
class RosterInfo:
    path: Path
    rows: int
    seed: int
    today: date
    households: int = 0
    bad: Counter = field(default_factory=Counter)  # kind -> rows
    spoiled: dict[int, str] = field(default_factory=dict)  # index in the data rows -> kind

    @property
    def bad_rows(self) -> int:
        return sum(self.bad.values())


def roster_rows(rows: int, *, seed: int, today: date) -> tuple[list[list], RosterInfo]:
    """The data rows (cells as written) and what they hold."""
    rng = random.Random(seed)
    info = RosterInfo(path=Path(), rows=rows, seed=seed, today=today)
    town_cum = tuple(itertools.accumulate(t["weight"] for t in TOWNS))
    used_ids: set[str] = set()
    used_phones: set[str] = set()
    used_addresses: set[str] = set()
    out: list[list] = []
    while len(out) < rows:
        info.households += 1
        town = rng.choices(TOWNS, cum_weights=town_cum)[0]
        community = rng.choice(town["communities"])
        address = _address(rng, town, community, used_addresses)
        category = "密接" if rng.random() < 0.7 else "次密接"
        exposed = today - timedelta(days=rng.randint(1, EXPOSURE_WINDOW_DAYS))
        town_text = town["name"] if rng.random() < 0.9 else town["name"].removesuffix("街道").removesuffix("镇")
        surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
        for age, sex, own_surname in _members(rng):
            if len(out) >= rows:
                break
            birth = _birth_date(rng, today, age)
            number = _resident_id(rng, birth, sex, used_ids)
            name = (surname if own_surname else rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]) + rng.choice(
                _GIVEN[sex])
            out.append([
                name, "男" if sex == "M" else "女", "身份证" if rng.random() < 0.85 else "", number,
                _phone(rng, age, used_phones), address, town_text, community["name"], category,
                _date_cell(rng, exposed), rng.choice(_NOTES) if rng.random() < 0.05 else "",
            ])
    bad_count = round(rows * BAD_SHARE)
    for i, index in enumerate(sorted(rng.sample(range(rows), bad_count))):
        kind = BAD_KINDS[i % len(BAD_KINDS)]
        _spoil(out[index], kind, rng, today, variant=i // len(BAD_KINDS))
        info.bad[kind] += 1
        info.spoiled[index] = kind
    return out, info


def write_roster(path: Path, *, rows: int, seed: int = 2022, today: date | None = None) -> RosterInfo:
    """Write the roster to ``path`` (.xlsx) and say what it holds."""
    import xlsxwriter

    today = today or date.today()
    data, info = roster_rows(rows, seed=seed, today=today)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.xlsx")
    book = xlsxwriter.Workbook(str(partial), {"constant_memory": True})
    sheet = book.add_worksheet("密接名单")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    title = book.add_format({"bold": True})
    sheet.write_string(0, 0, f"{CITY_NAME}密切接触者排查名单（基准测试，合成数据）", title)
    sheet.write_row(1, 0, HEADERS)
    for r, cells in enumerate(data, start=2):
        for c, value in enumerate(cells):
            if value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(r, c, value, date_format)
            else:
                sheet.write_number(r, c, value)
    book.close()
    partial.replace(path)  # a cached file is always whole
    info.path = path
    return info


# --- one household ---------------------------------------------------------------


def _members(rng: random.Random) -> list[tuple[int, str, bool]]:
    """(age, sex, takes the household's surname), the head first."""
    shape = rng.choices(_SHAPES, cum_weights=_SHAPE_CUM)[0]
    if shape == "single":
        return [(rng.randint(20, 85), rng.choice("MF"), True)]
    head = rng.randint(66, 88) if shape == "elderly_couple" else rng.randint(25, 55)
    members = [(head, "M", True)]
    if shape != "single_parent":
        members.append((max(20, head - rng.randint(-1, 5)), "F", False))
    if shape in ("nuclear", "three_generation", "single_parent"):
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            members.append((rng.randint(0, max(0, min(17, head - 22))), rng.choice("MF"), True))
    if shape == "three_generation":
        members.append((min(95, head + rng.randint(24, 32)), "F", False))
    return members


def _birth_date(rng: random.Random, today: date, age: int) -> date:
    return today - timedelta(days=age * 365 + rng.randint(1, 364))


def _resident_id(rng: random.Random, birth: date, sex: str, used: set[str]) -> str:
    start = rng.randrange(100)
    while True:
        for step in range(100):
            number = synthetic_resident_id(birth, (start + step) % 100, sex == "F")
            if number not in used:
                used.add(number)
                return number
        birth -= timedelta(days=1)


def _phone(rng: random.Random, age: int, used: set[str]) -> str:
    if age < 12 or (age >= 80 and rng.random() < 0.5):
        return ""
    while True:
        digits = f"1700{rng.randrange(10**7):07d}"
        if digits not in used:
            used.add(digits)
            break
    form = rng.random()
    if form < 0.08:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form < 0.12:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    return digits


def _address(rng: random.Random, town: dict, community: dict, used: set[str]) -> str:
    while True:
        if community["village"]:
            place = f"{rng.randint(1, 40)}组{rng.randint(1, 300)}号"
        else:
            place = f"{rng.randint(1, 60)}幢{rng.randint(1, 4)}单元{rng.randint(1, 24)}{rng.randint(1, 4):02d}室"
        address = f"{town['name']}{community['name']}{place}"
        if address not in used:
            used.add(address)
            return address


def _date_cell(rng: random.Random, day: date):
    """A date as clerks type it: a real date cell mostly, text in a few forms otherwise."""
    form = rng.random()
    if form < 0.55:
        return datetime(day.year, day.month, day.day)
    if form < 0.85:
        return day.isoformat()
    if form < 0.95:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def _spoil(cells: list, kind: str, rng: random.Random, today: date, *, variant: int) -> None:
    """Make one row bad in the given way (and only that way)."""
    number = cells[3]
    if kind == "bad_checksum":
        cells[3] = number[:-1] + ("0" if number[-1] != "0" else "1")
    elif kind == "scientific_notation":
        # What Excel shows for an 18-digit number typed into a number cell, pasted
        # back as text; or the number cell itself, whose last digits are gone.
        value = int(number[:17]) * 10
        cells[3] = format(value, ".5E") if variant % 2 == 0 else float(value)
    elif kind == "future_date":
        cells[9] = (today + timedelta(days=rng.randint(2, 6))).isoformat()  # still future after a midnight
    elif kind == "missing_name":
        cells[0] = ""
