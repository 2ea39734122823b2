"""Messy rosters as clerks really send them, built fresh for each test."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import xlsxwriter
from stdnum.cn import ric

FW = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def rid(birth: date, seq: int, *, area: str = "330782") -> str:
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def rid_with_x(birth: date) -> str:
    for seq in range(1, 999):
        number = rid(birth, seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X check digit")


def bad_checksum(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


HEADERS = ["序号", "姓名", "性别", "证件类型", "身份证号码", "联系电话", "现住址", "所属镇街", "村社区", "人员类别",
           "末次暴露时间", "备注"]


def messy_rows(today: date, existing_id: str) -> tuple[list[list], dict]:
    d = today - timedelta(days=3)
    ids = {
        "zhang": rid(date(1985, 3, 12), 11),
        "fullwidth": rid(date(1992, 7, 1), 22),
        "x": rid_with_x(date(1978, 11, 30)),
        "month_day": rid(date(2001, 2, 14), 31),
        "serial": rid(date(1960, 6, 6), 42),
        "apostrophe": rid(date(1999, 9, 9), 52),
        "spaces": rid(date(2010, 1, 20), 61),
        "female_id": rid(date(1988, 8, 8), 72),
    }
    excel_serial = (d - date(1899, 12, 30)).days
    rows = [
        ["张伟", "男", "身份证", ids["zhang"], "13812345678", "香溪路1号", "稠城街道", "香溪社区", "密接", d.isoformat(), ""],
        ["王芳", "女", "居民身份证", ids["fullwidth"].translate(FW), "１３９１２３４５６７８", "江滨路2号", "稠城", "江滨社区",
         "密切接触者", f"{d.year}年{d.month}月{d.day}日", ""],
        ["李强", "男", "", ids["x"].lower(), "+86 137-1234-5678", "春华路3号", "北苑街道", "春华社区", "密接",
         f"{d.year}/{d.month}/{d.day}", ""],
        ["赵磊", "", "身份证", "3.30782E+17", "13600000001", "", "稠城街道", "", "密接", d.isoformat(), "科学计数法"],
        ["钱敏", "", "身份证", 330782199001011234.0, "13600000002", "", "稠城街道", "", "密接", d.isoformat(), "末位被清零"],
        ["孙丽", "", "身份证", bad_checksum(ids["zhang"]), "13600000003", "", "稠城街道", "", "密接", d.isoformat(), ""],
        ["周杰", "女", "身份证", rid(date(1980, 5, 5), 13), "13600000004", "", "稠城街道", "", "密接", d.isoformat(), "性别不符"],
        ["张伟", "男", "身份证", ids["zhang"], "13999999999", "", "稠城街道", "香溪社区", "密接", d.isoformat(), "重复"],
        ["吴刚", "男", "", ids["month_day"], "13700000005", "", "稠城街道", "", "次密接", f"{d.month}月{d.day}日", ""],
        ["郑爽", "女", "", ids["serial"], "13700000006", "", "北苑街道", "", "密接", excel_serial, ""],
        ["冯雪", "", "", rid(date(1975, 4, 4), 82), "13700000007", "", "稠城街道", "", "密接",
         (today + timedelta(days=5)).isoformat(), "未来日期"],
        ["陈晨", "", "", "'" + ids["apostrophe"], "13700000008", "", "稠城街道", "", "密接", d.isoformat(), ""],
        ["褚红", "女", "", "", "13700000009", "无证件", "稠城街道", "香溪社区", "密接", d.isoformat(), ""],
        [None] * 11,
        ["", "男", "身份证", rid(date(1970, 1, 1), 91), "13700000010", "", "稠城街道", "", "密接", d.isoformat(), "缺姓名"],
        ["卫东", "", "", rid(date(1971, 2, 2), 93), "13700000011", "", "稠城街道", "", "密接",
         (today - timedelta(days=90)).isoformat(), "太久以前"],
        ["蒋琴", "", "", " " + ids["spaces"][:6] + " " + ids["spaces"][6:14] + " " + ids["spaces"][14:] + " ",
         "13700000012", "", "稠城街道", "", "入境", "", "arrival missing"],
        ["李娜", "女", "", "", "13500001111", "", "稠城街道", "", "密接", d.isoformat(), "疑似重复"],
        ["老住户", "", "身份证", existing_id, "13811112222", "新地址9号", "稠城街道", "", "", "", "新电话"],
    ]
    rows = [[i + 1, *r] if any(c not in (None, "") for c in r) else [None, *r] for i, r in enumerate(rows)]
    expected = {"read": 18, "created": 8, "updated": 1, "unchanged": 0, "merged_in_file": 1, "flagged": 1, "rejected": 7}
    return rows, expected


def write_xlsx(path: Path, rows: list[list], *, title: bool = True) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("名单")
    r = 0
    if title:
        fmt = book.add_format({"bold": True, "align": "center"})
        sheet.merge_range(0, 0, 0, len(HEADERS) - 1, "义乌市密切接触者排查名单（第3批）", fmt)
        sheet.write(1, 0, "填报单位：流调组")
        r = 2
    sheet.write_row(r, 0, HEADERS)
    for i, row in enumerate(rows, start=r + 1):
        for j, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, (int, float)):
                sheet.write_number(i, j, value)
            else:
                sheet.write_string(i, j, value)
    book.close()
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "gb18030") -> Path:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path
