"""The demo city's data and its people generator (pure, no database)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from closedloop.lib import categories
from closedloop.lib.demo_city import CITY_CODE, COMMUNITIES_BY_CODE, TOWN_OF_COMMUNITY, TOWNS
from closedloop.lib.demo_people import ANCHOR_WINDOW_DAYS, FLAG_NAMES, _Generator, generate
from closedloop.lib.identity import RESIDENT_ID, is_synthetic_resident_id, parse_resident_id
from closedloop.lib.phones import parse_phone

TODAY = date(2022, 8, 10)


@pytest.fixture(scope="module")
def people():
    return generate(2000, 2022, TODAY)


def _age(birth: date) -> int:
    return TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))


# --- the city -------------------------------------------------------------------


def test_city_has_the_fourteen_towns_with_their_codes():
    assert [t["code"] for t in TOWNS] == [f"{CITY_CODE}{n:03d}" for n in range(1, 15)]
    assert [t["name"] for t in TOWNS] == [
        "稠城街道", "北苑街道", "江东街道", "稠江街道", "福田街道", "后宅街道", "城西街道", "廿三里街道",
        "义亭镇", "赤岸镇", "佛堂镇", "上溪镇", "大陈镇", "苏溪镇",
    ]
    assert [t["name_en"] for t in TOWNS] == [
        "Choucheng", "Beiyuan", "Jiangdong", "Choujiang", "Futian", "Houzhai", "Chengxi", "Niansanli",
        "Yiting", "Chian", "Fotang", "Shangxi", "Dachen", "Suxi",
    ]


def test_every_town_has_six_to_twelve_communities_with_codes_under_it():
    for town in TOWNS:
        communities = town["communities"]
        assert 6 <= len(communities) <= 12, town["name"]
        assert [c["code"] for c in communities] == [f"{town['code']}{n:03d}" for n in range(1, len(communities) + 1)]
        assert len({c["name"] for c in communities}) == len(communities)
        for c in communities:
            assert c["name"].endswith(("社区", "村")) and c["name_en"].isascii() and c["name_en"]
            assert c["village"] == c["name"].endswith("村")
    assert len(COMMUNITIES_BY_CODE) == sum(len(t["communities"]) for t in TOWNS)


# --- determinism ------------------------------------------------------------------


def test_same_seed_gives_the_same_people_whatever_the_global_random_state(people):
    random.seed(1)
    again = generate(2000, 2022, TODAY)
    random.seed(99)
    assert again == people == generate(2000, 2022, TODAY)


def test_a_different_seed_gives_different_people(people):
    other = generate(2000, 2023, TODAY)
    assert [p["doc_number"] for p in other] != [p["doc_number"] for p in people]
    assert [p["name"] for p in other] != [p["name"] for p in people]


@pytest.mark.parametrize("count", [0, 1, 2, 7, 333])
def test_exactly_the_number_asked_for(count):
    assert len(generate(count, 5, TODAY)) == count


def test_a_negative_number_is_refused():
    with pytest.raises(ValueError):
        generate(-1, 5, TODAY)


# --- identity and contact details ----------------------------------------------------


def test_every_id_number_is_valid_synthetic_and_matches_birth_date_and_sex(people):
    for p in people:
        assert p["doc_type"] == RESIDENT_ID
        parsed = parse_resident_id(p["doc_number"], today=TODAY)
        assert is_synthetic_resident_id(p["doc_number"])
        assert parsed.birth_date == p["birth_date"] <= TODAY
        assert parsed.sex == p["sex"]


def test_id_numbers_and_phones_are_unique(people):
    assert len({p["doc_number"] for p in people}) == len(people)
    phones = [p["phone"] for p in people if p["phone"]]
    assert len(set(phones)) == len(phones)
    assert len(phones) > len(people) * 0.6


def test_phones_are_valid_mobiles_in_the_fake_range(people):
    for p in people:
        if p["phone"]:
            assert parse_phone(p["phone"]) == p["phone"]
            assert p["phone"].startswith("1700")


def test_young_children_have_no_phone(people):
    assert all(not p["phone"] for p in people if _age(p["birth_date"]) < 10)


def test_a_birth_date_whose_hundred_numbers_are_taken_moves_a_day_earlier():
    generator = _Generator(random.Random(0), TODAY)
    birth = date(1980, 3, 1)
    numbers = [generator.resident_id(birth, "F") for _ in range(150)]
    assert len({number for number, _birth in numbers}) == 150
    assert Counter(b for _number, b in numbers) == {birth: 100, birth - timedelta(days=1): 50}
    for number, b in numbers:
        assert parse_resident_id(number, today=TODAY).birth_date == b


def test_names_are_chinese_with_a_common_surname(people):
    for p in people:
        assert 2 <= len(p["name"]) <= 3
        assert all("\u4e00" <= ch <= "\u9fff" for ch in p["name"])
    surnames = Counter(p["name"][0] for p in people)
    assert surnames.most_common(1)[0][0] in {"王", "陈", "吴"}


# --- households and places ---------------------------------------------------------------


def test_households_share_address_town_and_community(people):
    households = defaultdict(list)
    for p in people:
        households[p["household"]].append(p)
    for members in households.values():
        assert 1 <= len(members) <= 5
        assert len({(m["address"], m["town_code"], m["community_code"]) for m in members}) == 1
    addresses = [members[0]["address"] for members in households.values()]
    assert len(set(addresses)) == len(addresses)
    sizes = Counter(len(m) for m in households.values())
    assert set(sizes) == {1, 2, 3, 4, 5}


def test_each_person_lives_in_a_community_of_their_town(people):
    for p in people:
        community = COMMUNITIES_BY_CODE[p["community_code"]]
        town = TOWN_OF_COMMUNITY[p["community_code"]]
        assert town["code"] == p["town_code"]
        assert p["address"].startswith(f"义乌市{town['name']}{community['name']} ")
    assert len({p["town_code"] for p in people}) == 14


def test_ages_mix_children_adults_and_elderly(people):
    ages = [_age(p["birth_date"]) for p in people]
    elderly = sum(a >= 65 for a in ages) / len(ages)
    children = sum(a < 14 for a in ages) / len(ages)
    assert 0.10 <= elderly <= 0.22
    assert 0.10 <= children <= 0.35
    assert max(ages) <= 100


def test_flags_are_plausible(people):
    for p in people:
        assert set(p["flags"]) == set(FLAG_NAMES)
        if p["flags"]["is_pregnant"]:
            assert p["sex"] == "F" and 22 <= _age(p["birth_date"]) <= 40
    for flag in FLAG_NAMES:
        assert any(p["flags"][flag] for p in people), flag
    assert any(p["employer"] for p in people)
    assert all(18 <= _age(p["birth_date"]) <= 60 for p in people if p["employer"])


# --- under control -------------------------------------------------------------------------


def test_forty_percent_under_control_with_a_recent_anchor(people):
    controlled = [p for p in people if p["category"]]
    assert len(controlled) == round(len(people) * 0.4)
    for p in people:
        assert (p["category"] is None) == (p["anchor_date"] is None)
    for p in controlled:
        assert p["category"] in categories.ALL and p["category"] != categories.CASE
        assert TODAY - timedelta(days=ANCHOR_WINDOW_DAYS) <= p["anchor_date"] < TODAY


def test_contacts_dominate_and_every_category_appears(people):
    counts = Counter(p["category"] for p in people if p["category"])
    assert counts.most_common(1)[0][0] == categories.CLOSE_CONTACT
    assert counts[categories.CLOSE_CONTACT] + counts[categories.SECONDARY_CONTACT] > 0.7 * sum(counts.values())
    for category in (categories.INBOUND, categories.HIGH_RISK_AREA, categories.MEDIUM_RISK_AREA,
                     categories.OUT_OF_CITY):
        assert counts[category] > 0, category
