import pytest

from closedloop.lib import categories as c


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("密接", c.CLOSE_CONTACT),
        ("密切接触者", c.CLOSE_CONTACT),
        (" close contact ", c.CLOSE_CONTACT),
        ("Close-Contact", c.CLOSE_CONTACT),
        ("close_contact", c.CLOSE_CONTACT),
        ("次密接", c.SECONDARY_CONTACT),
        ("密接的密接", c.SECONDARY_CONTACT),
        ("Secondary contact", c.SECONDARY_CONTACT),
        ("入境", c.INBOUND),
        ("入境人员", c.INBOUND),
        ("inbound traveller", c.INBOUND),
        ("Inbound Traveler", c.INBOUND),
        ("高风险区", c.HIGH_RISK_AREA),
        ("高风险区来返", c.HIGH_RISK_AREA),
        ("高风险地区", c.HIGH_RISK_AREA),
        ("high-risk area", c.HIGH_RISK_AREA),
        ("中风险区", c.MEDIUM_RISK_AREA),
        ("中风险地区来返人员", c.MEDIUM_RISK_AREA),
        ("medium risk area", c.MEDIUM_RISK_AREA),
        ("阳性", c.CASE),
        ("确诊", c.CASE),
        ("无症状", c.CASE),
        ("感染者", c.CASE),
        ("positive", c.CASE),
        ("CASE", c.CASE),
        ("外地隔离", c.OUT_OF_CITY),
        ("市外隔离", c.OUT_OF_CITY),
        ("out_of_city", c.OUT_OF_CITY),
        ("'密接", c.CLOSE_CONTACT),
        ("闭环工作人员", c.STAFF_ROTATION),
        ("工作人员轮休", c.STAFF_ROTATION),
        ("Staff rotation", c.STAFF_ROTATION),
        ("staff_rotation", c.STAFF_ROTATION),
    ],
)
def test_parse_category(label, code):
    assert c.parse_category(label) == code


def test_empty_category_is_none():
    assert c.parse_category("") is None
    assert c.parse_category(None) is None
    assert c.parse_category(" \u3000") is None


def test_unknown_category_lists_what_is_accepted():
    with pytest.raises(ValueError) as info:
        c.parse_category("低风险区")
    assert "低风险区" in info.value.reason
    assert "密接 (close contact)" in info.value.reason
    assert "入境 (inbound)" in info.value.reason


def test_every_category_has_an_anchor():
    assert set(c.ANCHOR_FOR) == set(c.ALL)
    assert c.ANCHOR_FOR[c.CLOSE_CONTACT] == "last_exposure"
    assert c.ANCHOR_FOR[c.SECONDARY_CONTACT] == "last_exposure"
    assert c.ANCHOR_FOR[c.INBOUND] == "arrival"
    assert c.ANCHOR_FOR[c.HIGH_RISK_AREA] == "left_risk_area"
    assert c.ANCHOR_FOR[c.MEDIUM_RISK_AREA] == "left_risk_area"
    assert c.ANCHOR_FOR[c.CASE] == "control_start"
    assert c.ANCHOR_FOR[c.OUT_OF_CITY] == "control_start"
    assert c.ANCHOR_FOR[c.STAFF_ROTATION] == "control_start"


@pytest.mark.parametrize(
    ("raw", "sex"),
    [("男", "M"), ("女", "F"), ("M", "M"), ("f", "F"), ("Male", "M"), ("female", "F"),
     ("1", "M"), ("2", "F"), (1.0, "M"), ("男性", "M"), ("女　", "F")],
)
def test_parse_sex(raw, sex):
    assert c.parse_sex(raw) == sex


def test_parse_sex_empty_and_unknown():
    assert c.parse_sex("") is None
    with pytest.raises(ValueError) as info:
        c.parse_sex("未知")
    assert "男 or 女" in info.value.reason
