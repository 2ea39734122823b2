"""The fields a roster column can map to, with the header names people use."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from closedloop.lib.text import clean_cell

# field -> (label, synonyms). Synonyms are compared after ``header_key``.
FIELDS: dict[str, tuple] = {
    "name": (_("Name"), ["姓名", "名字", "人员姓名", "name", "fullname"]),
    "sex": (_("Sex"), ["性别", "sex", "gender"]),
    "doc_type": (_("Document type"), ["证件类型", "证件种类", "证件类别", "idtype", "documenttype", "doctype"]),
    "doc_number": (_("Document number"), [
        "证件号码", "证件号", "身份证号", "身份证号码", "身份证", "公民身份号码", "身份证件号码",
        "idnumber", "idno", "id", "idcard", "documentnumber", "passportnumber",
    ]),
    "birth_date": (_("Birth date"), ["出生日期", "出生年月", "出生年月日", "birthdate", "dateofbirth", "dob"]),
    "phone": (_("Phone"), [
        "联系电话", "手机号", "手机号码", "电话", "电话号码", "联系方式", "手机", "phone", "mobile", "telephone", "tel",
    ]),
    "address": (_("Home address"), [
        "现住址", "居住地址", "住址", "家庭住址", "现居住地址", "现居住地", "居住地", "address", "homeaddress",
    ]),
    "town": (_("Town or street"), ["所属镇街", "镇街", "镇街道", "街道", "乡镇", "乡镇街道", "town", "street", "townstreet"]),
    "community": (_("Village or community"), [
        "村社区", "所属村社", "所属社区", "社区", "村居", "村社", "所属村社区", "community", "village",
    ]),
    "category": (_("Category"), ["人员类别", "人员类型", "类别", "管控类别", "人员分类", "category", "type"]),
    "last_exposure": (_("Last exposure"), [
        "末次暴露时间", "末次暴露日期", "末次接触时间", "末次接触日期", "lastexposure", "lastcontact",
    ]),
    "arrival": (_("Arrival"), ["入境时间", "入境日期", "抵达时间", "到达时间", "抵义时间", "arrival", "arrivaldate"]),
    "left_risk_area": (_("Left the risk area"), ["离开风险区时间", "离开风险区域时间", "离开风险地区时间", "leftriskarea"]),
    "isolation_site": (_("Isolation site"), ["隔离地点", "隔离点", "隔离酒店", "隔离场所", "isolationsite"]),
    "isolation_start": (_("Isolation start"), ["隔离开始时间", "开始隔离时间", "隔离开始日期", "isolationstart"]),
    "linked_case": (_("Linked case"), ["关联病例", "关联阳性", "关联感染者", "linkedcase"]),
    "employer": (_("Employer"), ["工作单位", "单位", "单位名称", "employer", "workunit", "company"]),
    "employer_uscc": (_("Employer's credit code"), [
        "统一社会信用代码", "社会信用代码", "信用代码", "单位信用代码", "uscc", "creditcode",
    ]),
    "household": (_("Household"), ["户号", "家庭编号", "家庭", "household", "householdid"]),
    "notes": (_("Notes"), ["备注", "说明", "notes", "remarks", "note", "remark"]),
}

_NOISE = re.compile(r"[\s_\-/:：*＊()（）\[\]【】]|必填|选填|\(.*?\)")
_SYNONYMS = {syn: field for field, (_label, syns) in FIELDS.items() for syn in syns}


def header_key(text) -> str:
    return _NOISE.sub("", clean_cell(text).lower())


def match_header(text, synonyms: dict[str, str]) -> str | None:
    """The field a header names: an exact synonym, else the longest synonym it contains.

    Shared by every file reader (rosters, lab results); each passes its own synonyms.
    """
    key = header_key(text)
    if not key:
        return None
    if key in synonyms:
        return synonyms[key]
    best = None
    for syn, field in synonyms.items():
        # Short Latin synonyms ("id", "tel") only count as exact matches.
        if len(syn) >= 2 and (not syn.isascii() or len(syn) >= 5) and syn in key:
            if best is None or len(syn) > len(best[0]):
                best = (syn, field)
    return best[1] if best else None


def field_for_header(text) -> str | None:
    return match_header(text, _SYNONYMS)


def field_label(field: str) -> str:
    return str(FIELDS[field][0]) if field in FIELDS else field
