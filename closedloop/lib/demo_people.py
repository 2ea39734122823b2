"""The demo city's residents: a deterministic generator of synthetic people.

``generate(persons, seed, today)`` returns plain dicts, the same list for the
same arguments (only ``random.Random(seed)`` is used). Everything is
obviously fake while passing every check a real roster passes: resident ID
numbers carry the reserved area code 330000 (see
``identity.synthetic_resident_id``) and mobiles are in 1700 xxx xxxx, a
virtual-operator range. No Django here; ``closedloop.core.demo`` writes the
result through the actions.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from closedloop.lib import categories as cat
from closedloop.lib.demo_city import CITY_NAME, TOWNS
from closedloop.lib.identity import RESIDENT_ID, synthetic_resident_id

# Share of people under control a week into the outbreak.
UNDER_CONTROL_SHARE = 0.40
# Anchor dates (last exposure, arrival, ...) fall within this many days before today.
ANCHOR_WINDOW_DAYS = 10
PHONE_PREFIX = "1700"  # 170 is a virtual-operator block; 1700 keeps the range obviously fake

# Common surnames, weighted; Yiwu has many 楼, 吴, 金, 龚, 傅 and 骆.
_SURNAMES = (
    ("王", 12), ("陈", 11), ("吴", 9), ("楼", 7), ("金", 6), ("朱", 6), ("李", 6), ("张", 6),
    ("何", 5), ("傅", 4), ("龚", 4), ("杨", 4), ("刘", 4), ("周", 4), ("骆", 3), ("黄", 3),
    ("徐", 3), ("方", 3), ("叶", 3), ("胡", 3), ("鲍", 2), ("虞", 2), ("毛", 2), ("赵", 2),
    ("孙", 2), ("郑", 2), ("冯", 2), ("蒋", 2), ("丁", 2), ("俞", 2), ("应", 2), ("林", 2),
    ("许", 2), ("沈", 2), ("宗", 1), ("季", 1), ("施", 1), ("贾", 1), ("马", 1), ("龙", 1),
)
_SURNAME_CHOICES = tuple(s for s, _w in _SURNAMES)
_SURNAME_WEIGHTS = tuple(w for _s, w in _SURNAMES)

# Given names by the decade a person was born in (what parents chose then) and sex.
_GIVEN = {
    ("old", "M"): ("建国", "国强", "德明", "志明", "荣华", "金水", "根土", "樟法", "土根", "福林", "长根",
                   "有才", "宝林", "裕民", "振华", "文忠", "庆丰", "秋生", "仁德", "锡荣"),
    ("old", "F"): ("秀英", "桂英", "玉兰", "凤英", "月娥", "菊花", "金花", "彩凤", "小妹", "杏花", "素珍",
                   "美娟", "爱娟", "翠英", "香娥", "仙娥", "雪琴", "春娥", "月仙", "银花"),
    ("mid", "M"): ("伟", "军", "勇", "强", "建华", "志强", "海峰", "晓东", "建军", "立新", "国平", "卫东",
                   "建平", "杰", "斌", "鹏", "峰", "涛", "明", "俊", "华", "海军", "永强", "春雷", "剑锋"),
    ("mid", "F"): ("丽", "芳", "燕", "红", "敏", "静", "丽华", "红霞", "海燕", "丽娟", "春燕", "晓燕",
                   "美玲", "雪芳", "丽萍", "玲", "霞", "琴", "萍", "群", "慧", "彩霞", "小红", "素芬"),
    ("young", "M"): ("浩", "杰", "磊", "超", "凯", "宇", "鑫", "俊杰", "浩然", "子豪", "宇航", "家豪",
                     "文博", "志远", "嘉豪", "俊豪", "天宇", "明轩", "博文", "晨阳"),
    ("young", "F"): ("婷", "倩", "雪", "佳", "颖", "欣怡", "雨婷", "佳怡", "思雨", "梦瑶", "晓雯", "诗琪",
                     "雅婷", "心怡", "佳琪", "雨欣", "梦婷", "晨曦", "静怡", "丹"),
    ("child", "M"): ("子轩", "梓睿", "浩宇", "宇轩", "睿", "一鸣", "奕辰", "沐阳", "子墨", "俊熙", "梓豪",
                     "博涵", "铭泽", "昊天", "皓轩", "思远", "嘉懿", "承泽"),
    ("child", "F"): ("梓涵", "一诺", "欣妍", "若汐", "梓萱", "语桐", "诗涵", "可馨", "雨桐", "思琪", "依诺",
                     "芷若", "安琪", "沐晴", "语嫣", "欣悦", "可欣", "梦琪"),
}

_EMPLOYER_BRANDS = ("恒达", "鸿盛", "金瑞", "永信", "华艺", "佳美", "新宇", "博源", "盛丰", "融通", "雅诺", "启航")
_EMPLOYER_TRADES = ("饰品", "针织", "小商品", "工艺品", "玩具", "日用品", "电子商务", "物流", "文具", "袜业")
_EMPLOYERS = tuple(
    f"义乌市{brand}{trade}有限公司" for brand in _EMPLOYER_BRANDS for trade in _EMPLOYER_TRADES
) + ("义乌国际商贸城经营户", "个体经营", "义乌市某某小学", "义乌市某某卫生院")

# Household shapes and how common each is.
_SHAPES = (
    ("single_adult", 12),
    ("single_elderly", 6),
    ("couple", 12),
    ("elderly_couple", 10),
    ("nuclear", 28),
    ("three_generation", 15),
    ("couple_adult_child", 10),
    ("single_parent", 4),
    ("nuclear_three_children", 4),
)
_SHAPE_CHOICES = tuple(s for s, _w in _SHAPES)
_SHAPE_WEIGHTS = tuple(w for _s, w in _SHAPES)

# Categories of people under control, weighted: contacts dominate.
_CATEGORIES = (
    (cat.CLOSE_CONTACT, 45),
    (cat.SECONDARY_CONTACT, 33),
    (cat.INBOUND, 6),
    (cat.HIGH_RISK_AREA, 7),
    (cat.MEDIUM_RISK_AREA, 5),
    (cat.OUT_OF_CITY, 4),
)
_CATEGORY_CHOICES = tuple(c for c, _w in _CATEGORIES)
_CATEGORY_WEIGHTS = tuple(w for _c, w in _CATEGORIES)
# Contacts come in households (exposed together); travellers alone or in pairs.
_HOUSEHOLD_CATEGORIES = frozenset({cat.CLOSE_CONTACT, cat.SECONDARY_CONTACT})

FLAG_NAMES = ("is_pregnant", "has_chronic_illness", "has_disability", "needs_medication")


def generate(persons: int, seed: int, today: date) -> list[dict]:
    """``persons`` synthetic residents living in households in the demo city.

    Each dict has: household (a key shared by members), name, sex ("M"/"F"),
    birth_date, doc_type, doc_number, phone ("" for young children and some
    of the very old), address, town_code, community_code, employer, flags
    (is_pregnant, has_chronic_illness, has_disability, needs_medication),
    category (or None) and anchor_date (or None).
    """
    if persons < 0:
        raise ValueError("persons must not be negative")
    return _Generator(random.Random(seed), today).run(persons)


class _Generator:
    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.used_ids: set[tuple[date, str, int]] = set()
        self.used_phones: set[str] = set()
        self.used_addresses: set[str] = set()
        self.town_weights = tuple(t["weight"] for t in TOWNS)

    # --- the whole population ------------------------------------------------

    def run(self, persons: int) -> list[dict]:
        people: list[dict] = []
        households: list[list[dict]] = []
        while len(people) < persons:
            key = f"H{len(households) + 1:05d}"
            members = self.household(key)[: persons - len(people)]
            households.append(members)
            people.extend(members)
        self.place_under_control(households, round(persons * UNDER_CONTROL_SHARE))
        return people

    def household(self, key: str) -> list[dict]:
        rng = self.rng
        town = rng.choices(TOWNS, weights=self.town_weights)[0]
        community = rng.choice(town["communities"])
        address = self.address(town, community)
        surname = self.surname()
        members = [
            self.person(key, age, sex, surname if own_surname else self.surname(), town, community, address)
            for age, sex, own_surname in self.shape(rng.choices(_SHAPE_CHOICES, weights=_SHAPE_WEIGHTS)[0])
        ]
        return members

    def shape(self, shape: str) -> list[tuple[int, str, bool]]:
        """(age, sex, takes the household's surname) for each member; the head first."""
        rng = self.rng
        if shape == "single_adult":
            return [(rng.randint(20, 62), rng.choice("MF"), True)]
        if shape == "single_elderly":
            return [(rng.randint(65, 92), "F" if rng.random() < 0.62 else "M", True)]
        if shape == "couple":
            return self.couple(rng.randint(23, 64))
        if shape == "elderly_couple":
            return self.couple(rng.randint(66, 88))
        if shape == "nuclear":
            head = self.couple(rng.randint(27, 52))
            return head + self.children(head, rng.choice((1, 1, 2)))
        if shape == "nuclear_three_children":
            head = self.couple(rng.randint(32, 50))
            return head + self.children(head, 3)
        if shape == "single_parent":
            age = rng.randint(28, 50)
            parent = [(age, "F" if rng.random() < 0.75 else "M", True)]
            return parent + self.children(parent, rng.choice((1, 1, 2)))
        if shape == "couple_adult_child":
            head = self.couple(rng.randint(46, 64))
            child_age = max(18, min(head[0][0], head[1][0]) - rng.randint(22, 32))
            return head + [(child_age, rng.choice("MF"), True)]
        if shape == "three_generation":
            head = self.couple(rng.randint(33, 52))
            members = head + self.children(head, rng.choice((1, 1, 2)))
            # A grandmother, and often a grandfather too, live with the family.
            elder = min(95, max(head[0][0], head[1][0]) + rng.randint(24, 34))
            members.append((elder, "F", False))
            if len(members) < 5 and rng.random() < 0.55:
                members.append((min(97, elder + rng.randint(0, 4)), "M", True))
            return members
        raise ValueError(shape)

    def couple(self, age: int) -> list[tuple[int, str, bool]]:
        # Husband usually the same age or a little older; the wife keeps her own surname.
        wife_age = max(20, age - self.rng.choice((-1, 0, 1, 1, 2, 2, 3, 4, 5)))
        return [(age, "M", True), (wife_age, "F", False)]

    def children(self, parents: list[tuple[int, str, bool]], count: int) -> list[tuple[int, str, bool]]:
        youngest_parent = min(age for age, _sex, _own in parents)
        oldest_child = max(0, min(17, youngest_parent - 22))
        ages = sorted((self.rng.randint(0, oldest_child) for _ in range(count)), reverse=True)
        return [(age, self.rng.choice("MF"), True) for age in ages]

    # --- one person --------------------------------------------------------------

    def person(self, key: str, age: int, sex: str, surname: str, town: dict, community: dict, address: str) -> dict:
        birth = self.birth_date(age)
        doc_number, birth = self.resident_id(birth, sex)
        return {
            "household": key,
            "name": surname + self.given_name(birth, sex),
            "sex": sex,
            "birth_date": birth,
            "doc_type": RESIDENT_ID,
            "doc_number": doc_number,
            "phone": self.phone(age),
            "address": address,
            "town_code": town["code"],
            "community_code": community["code"],
            "employer": self.employer(age),
            "flags": self.flags(age, sex),
            "category": None,
            "anchor_date": None,
        }

    def surname(self) -> str:
        return self.rng.choices(_SURNAME_CHOICES, weights=_SURNAME_WEIGHTS)[0]

    def given_name(self, birth: date, sex: str) -> str:
        era = "old" if birth.year < 1960 else "mid" if birth.year < 1990 else "young" if birth.year < 2010 else "child"
        return self.rng.choice(_GIVEN[(era, sex)])

    def birth_date(self, age: int) -> date:
        # A day on which the person is ``age`` years old today.
        latest = _years_before(self.today, age)
        earliest = _years_before(self.today, age + 1) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def resident_id(self, birth: date, sex: str) -> tuple[str, date]:
        """A unique synthetic ID number; if its birth date's 100 numbers are taken, a day earlier."""
        while True:
            start = self.rng.randrange(100)
            for step in range(100):
                seq = (start + step) % 100
                if (birth, sex, seq) not in self.used_ids:
                    self.used_ids.add((birth, sex, seq))
                    return synthetic_resident_id(birth, seq, sex == "F"), birth
            birth -= timedelta(days=1)

    def phone(self, age: int) -> str:
        rng = self.rng
        if age < 10 or (age < 16 and rng.random() < 0.5) or (age >= 80 and rng.random() < 0.5):
            return ""
        while True:
            phone = f"{PHONE_PREFIX}{rng.randrange(10**7):07d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    def address(self, town: dict, community: dict) -> str:
        rng = self.rng
        while True:
            if community["village"]:
                place = f"{rng.randint(1, 260)}号"
            else:
                place = f"{rng.randint(1, 36)}幢{rng.randint(1, 4)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
            address = f"{CITY_NAME}{town['name']}{community['name']} {place}"
            if address not in self.used_addresses:
                self.used_addresses.add(address)
                return address

    def employer(self, age: int) -> str:
        if 18 <= age <= 60 and self.rng.random() < 0.3:
            return self.rng.choice(_EMPLOYERS)
        return ""

    def flags(self, age: int, sex: str) -> dict[str, bool]:
        rng = self.rng
        chronic_rate = 0.35 if age >= 65 else 0.12 if age >= 45 else 0.02
        chronic = rng.random() < chronic_rate
        return {
            "is_pregnant": sex == "F" and 22 <= age <= 40 and rng.random() < 0.05,
            "has_chronic_illness": chronic,
            "has_disability": rng.random() < (0.05 if age >= 65 else 0.015),
            "needs_medication": rng.random() < (0.65 if chronic else 0.01),
        }

    # --- who is under control ------------------------------------------------------

    def place_under_control(self, households: list[list[dict]], target: int) -> None:
        rng = self.rng
        order = list(range(len(households)))
        rng.shuffle(order)
        placed = 0
        for index in order:
            if placed >= target:
                break
            members = households[index]
            category = rng.choices(_CATEGORY_CHOICES, weights=_CATEGORY_WEIGHTS)[0]
            if category in _HOUSEHOLD_CATEGORIES:
                chosen = list(members)
            else:
                adults = [m for m in members if _age(m["birth_date"], self.today) >= 18] or list(members)
                chosen = adults[: rng.choice((1, 1, 1, 2))]
            anchor = self.today - timedelta(days=rng.randint(1, ANCHOR_WINDOW_DAYS))
            for member in chosen[: target - placed]:
                member["category"] = category
                member["anchor_date"] = anchor
                placed += 1


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
