"""Categories of people under control, and the sex column."""

from __future__ import annotations

import re

from closedloop.lib.text import CellError, clean_cell, gettext_noop

CLOSE_CONTACT = "close_contact"
SECONDARY_CONTACT = "secondary_contact"
INBOUND = "inbound"
HIGH_RISK_AREA = "high_risk_area"
MEDIUM_RISK_AREA = "medium_risk_area"
CASE = "case"
OUT_OF_CITY = "out_of_city"  # a resident isolated in another city
STAFF_ROTATION = "staff_rotation"  # front-line staff leaving closed-loop duty

ALL = (CLOSE_CONTACT, SECONDARY_CONTACT, INBOUND, HIGH_RISK_AREA, MEDIUM_RISK_AREA, CASE, OUT_OF_CITY, STAFF_ROTATION)

# The event each category's control period is counted from.
ANCHOR_FOR = {
    CLOSE_CONTACT: "last_exposure",
    SECONDARY_CONTACT: "last_exposure",
    INBOUND: "arrival",
    HIGH_RISK_AREA: "left_risk_area",
    MEDIUM_RISK_AREA: "left_risk_area",
    CASE: "control_start",
    OUT_OF_CITY: "control_start",
    # Day 1 is the last day on duty, as day 1 of a contact's course is the day of last exposure.
    STAFF_ROTATION: "control_start",
}


class CategoryError(CellError):
    """A category or sex that cannot be read; see ``reason``."""


def _risk_area_labels(level: str) -> list[str]:
    return [
        f"{level}风险{area}{suffix}"
        for area in ("区", "地区")
        for suffix in ("", "来返", "来返人员", "返回人员", "旅居", "旅居史", "人员")
    ]


# Keys are folded: lower-case, without spaces, hyphens, underscores or slashes.
_LABELS = {
    CLOSE_CONTACT: [
        "密接", "密切接触者", "密接者", "密接人员", "closecontact", "closecontacts",
    ],
    SECONDARY_CONTACT: [
        "次密接", "密接的密接", "次密切接触者", "次密接人员", "密接的密切接触者",
        "secondarycontact", "secondarycontacts", "contactofcontact",
    ],
    INBOUND: [
        "入境", "入境人员", "入境来返", "入境来返人员", "境外入境", "境外输入", "inbound",
        "inboundtraveller", "inboundtraveler", "inboundtravellers", "inboundtravelers",
    ],
    HIGH_RISK_AREA: [
        *_risk_area_labels("高"), "highrisk", "highriskarea", "fromhighriskarea",
    ],
    MEDIUM_RISK_AREA: [
        *_risk_area_labels("中"), "mediumrisk", "mediumriskarea", "frommediumriskarea",
    ],
    CASE: [
        "阳性", "确诊", "确诊病例", "无症状", "无症状感染者", "感染者", "阳性感染者",
        "病例", "case", "cases", "positive", "confirmed", "confirmedcase", "asymptomatic",
        "asymptomaticinfection", "infected",
    ],
    OUT_OF_CITY: [
        "外地隔离", "市外隔离", "外市隔离", "异地隔离", "外地集中隔离", "市外集中隔离",
        "outofcity", "outofcityisolation", "isolatedelsewhere", "isolatedinanothercity",
    ],
    STAFF_ROTATION: [
        "闭环工作人员", "工作人员轮休", "闭环人员轮休", "闭环轮休", "轮休人员", "结束闭环作业",
        "结束闭环作业人员", "staffrotation", "staffleavingduty", "staffleavingclosedloopduty",
    ],
}
_BY_LABEL = {label: code for code, labels in _LABELS.items() for label in labels}
_BY_LABEL.update({code.replace("_", ""): code for code in ALL})
_NOISE = re.compile(r"[\s\-_/·]+")

def parse_category(raw: object) -> str | None:
    """Map a category label (Chinese, English or code name) to a constant; empty gives None."""
    text = clean_cell(raw)
    if not text:
        return None
    code = _BY_LABEL.get(_NOISE.sub("", text.lower()))
    if code is None:
        # The accepted labels are part of the message so a translation can
        # drop the English glosses.
        raise CategoryError(
            gettext_noop(
                'Unknown category "%(value)s"; use one of: 密接 (close contact), 次密接 (secondary contact), '
                "入境 (inbound), 高风险区 (high-risk area), 中风险区 (medium-risk area), "
                "阳性/确诊 (case), 外地隔离 (out of city)."
            ),
            value=text,
        )
    return code


_SEXES = {
    "男": "M", "男性": "M", "m": "M", "male": "M", "man": "M", "1": "M",
    "女": "F", "女性": "F", "f": "F", "female": "F", "woman": "F", "2": "F",
}


def parse_sex(raw: object) -> str | None:
    """'M' or 'F' from 男/女, M/F, male/female or the national codes 1/2; empty gives None."""
    text = clean_cell(raw)
    if not text:
        return None
    sex = _SEXES.get(text.lower())
    if sex is None:
        raise CategoryError(gettext_noop('Unknown sex "%(value)s"; write 男 or 女 (M or F).'), value=text)
    return sex
