"""A roster from another city: people found or registered once, sites registered once, episodes placed with
the site there; every rejected row with its reason; the same file again changes nothing; a later file wins."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from closedloop.core.models import AuditEvent
from closedloop.facilities.models import Facility
from closedloop.people.models import Person
from closedloop.quarantine import states
from closedloop.quarantine.actions import episode_open
from closedloop.quarantine.models import CustodyEvent, Episode
from closedloop.transfers.actions import away_import, away_report
from closedloop.transfers.actions.away import site_code
from closedloop.transfers.models import AwayRecord
from tests.transfers import away_support as sup
from tests.transfers.away_support import HZ_SITE, NB_SITE, import_rows, record_of, resident_id, row, write_csv

transfer_desk = sup.transfer_desk  # a shared fixture


def counts() -> tuple[int, ...]:
    return (Person.objects.count(), Episode.objects.count(), AwayRecord.objects.count(), CustodyEvent.objects.count(),
            Facility.objects.count())


def test_a_roster_registers_places_and_records(tmp_path, city, town_a, town_b, community_a1, hangzhou_site,
                                               transfer_desk):
    path = sup.write_xlsx(tmp_path, [
        row(1, "张伟", site=HZ_SITE, city="杭州", release="2026-12-01", community="香溪社区"),
        row(2, "李娜", site="温州市鹿城区集中隔离点", city="温州市", release="2026年12月3日", town="北苑", status="已解除"),
        row(3, "王芳", site=HZ_SITE, city="杭州市", release="", town="330782002", status="阳性"),
    ], title="杭州市集中隔离义乌籍人员名单")
    report = away_import(path=path, actor=transfer_desk, file_name="名单.xlsx")
    assert (report.header_row, report.read, report.created, report.rejected) == (2, 3, 3, 0), report.problems
    assert [r.row for r in report.rows] == [3, 4, 5]

    zhang = record_of("张伟")
    assert zhang.origin == hangzhou_site and zhang.home_town == town_a and zhang.release_on == date(2026, 12, 1)
    assert zhang.status == "isolated" and zhang.source.startswith("名单.xlsx · ")
    person = zhang.episode.person
    assert (person.community, person.town, person.phone, person.sex) == (community_a1, town_a, "13912340001", "M")
    episode = zhang.episode
    assert (episode.category, episode.state, episode.custodian_id) == ("out_of_city", states.IN_CUSTODY,
                                                                      hangzhou_site.custodian_id)
    assert list(episode.ledger.values_list("kind", "actor__username")) == [("place", "transfer")]

    # A site no roster named before is registered once, keyed by its city and name.
    li = record_of("李娜")
    wenzhou = li.origin
    assert (wenzhou.kind, wenzhou.other_city, wenzhou.code, wenzhou.status) == (
        "out_of_city_site", "温州市", site_code("温州市", "温州市鹿城区集中隔离点"), "open")
    assert li.episode.custodian_id == wenzhou.custodian_id
    assert (li.home_town, li.status, li.release_on) == (town_b, "released", date(2026, 12, 3))
    assert report.sites_created == ["温州市 · 温州市鹿城区集中隔离点"]
    wang = record_of("王芳")
    assert (wang.home_town, wang.status, wang.release_on, wang.origin) == (town_b, "positive", None, hangzhou_site)

    audit = AuditEvent.objects.get(action="away.import")
    assert audit.actor == transfer_desk and audit.target_label == "名单.xlsx" and audit.target_id == report.sha256[:40]
    assert (audit.after["created"], audit.after["rejected"], audit.after["sites_created"]) == (3, 0, report.sites_created)
    assert AuditEvent.objects.filter(action="away.register").count() == 3


def test_every_bad_row_is_reported_and_the_good_ones_kept(tmp_path, city, town_a, town_b, hangzhou_site,
                                                         person_factory, transfer_desk):
    person_factory("赵敏")  # registered already, with another ID number
    bad_id = resident_id(9)[:-1] + ("0" if resident_id(9)[-1] != "0" else "1")
    known = person_factory("钱七")
    path = write_csv(tmp_path, [
        row(1, "张伟"),
        ["", resident_id(2), "", HZ_SITE, "杭州市", "2026-12-01", "稠城街道", "", ""],
        row(3, "孙八")[:1] + [bad_id] + row(3, "孙八")[2:],
        row(4, "周九", town="火星街道"),
        row(5, "吴十", release="明天"),
        row(6, "郑一", status="出差"),
        row(1, "张伟"),  # the same ID number again
        ["孙二", known.doc_number, "", HZ_SITE, "杭州市", "2026-12-01", "稠城街道", "", ""],  # another name
        ["冯三", resident_id(7), "", "", "杭州市", "2026-12-01", "稠城街道", "", ""],
        row(8, "陈四", community="不存在社区", phone="12345"),
    ])
    before = counts()
    report = away_import(path=path, actor=transfer_desk)
    by_row = {r.row: r for r in report.rows}
    assert [(r.row, r.outcome) for r in report.rows] == [
        (2, "created"), (3, "rejected"), (4, "rejected"), (5, "rejected"), (6, "rejected"), (7, "rejected"),
        (8, "rejected"), (9, "rejected"), (10, "rejected"), (11, "created")]
    assert by_row[3].reason == "The name is empty." and by_row[3].column == "姓名"
    assert "last character does not match" in by_row[4].reason and by_row[4].column == "身份证号"
    assert "*" in by_row[4].value
    assert by_row[5].reason == "No town or street of 义乌市 is called “火星街道”." and by_row[5].column == "现住址所属镇街"
    assert "is not a date we can read" in by_row[6].reason and by_row[6].value == "明天"
    assert by_row[7].reason.startswith("Unknown status “出差”") and by_row[7].column == "状态"
    assert by_row[8].reason == "This ID number is on row 2 already; only the first row counts."
    assert by_row[9].reason == "This ID number is registered to 钱七, not 孙二; check the row."
    assert by_row[10].reason.startswith("The isolation site is empty")
    # Kept without what could not be used, and told so.
    chen = record_of("陈四").episode.person
    assert chen.community is None and chen.phone == "" and by_row[11].note
    assert counts()[0] == before[0] + 2 and AwayRecord.objects.count() == 2
    assert not Person.objects.filter(name__in=["周九", "吴十", "郑一", "孙二", "冯三"]).exists()


def test_the_same_file_again_changes_nothing_even_after_a_report(tmp_path, city, town_a, hangzhou_site,
                                                                 transfer_desk):
    rows = [row(1, "张伟"), row(2, "李娜", site="温州市鹿城区集中隔离点", city="温州市")]
    first = import_rows(tmp_path, rows, actor=transfer_desk)
    assert first.created == 2 and not first.seen_before
    away_report(record=record_of("张伟"), status="released", actor=transfer_desk)
    before = counts()
    again = import_rows(tmp_path, rows, actor=transfer_desk, name="copy.csv")  # the same bytes, another name
    assert again.seen_before and (again.unchanged, again.created, again.updated) == (2, 0, 0)
    assert counts() == before
    assert record_of("张伟").status == "released"  # what was reported after the file is newer
    assert again.sites_created == []


def test_a_later_file_updates_release_days_statuses_and_sites(tmp_path, city, town_a, town_b, hangzhou_site,
                                                              ningbo_site, transfer_desk):
    import_rows(tmp_path, [row(1, "张伟"), row(2, "李娜"), row(3, "王芳", release="2026-12-05")],
                actor=transfer_desk, name="day1.csv")
    later = import_rows(tmp_path, [
        row(1, "张伟", release="2026-12-03"),  # a late release
        row(2, "李娜", site=NB_SITE, city="宁波市", status="转运"),  # moved to Ningbo's site
        row(3, "王芳", release="", status="已解除"),  # blank release day: kept
        row(4, "赵六", town="北苑街道"),  # new
    ], actor=transfer_desk, name="day2.csv")
    assert [r.outcome for r in later.rows] == ["updated", "updated", "updated", "created"]
    assert later.rows[0].changed == ["release_on"] and later.rows[1].changed == ["origin", "status"]
    assert record_of("张伟").release_on == date(2026, 12, 3)
    wang = record_of("王芳")
    assert (wang.status, wang.release_on) == ("released", date(2026, 12, 5))
    li = record_of("李娜")
    assert li.origin == ningbo_site and li.status == "moved" and li.source.startswith("day2.csv")
    # The move is a hand-over in the ledger: given by the Hangzhou site, received by Ningbo's.
    events = list(li.episode.ledger.order_by("seq").values_list("kind", "from_custodian", "to_custodian"))
    assert events == [("place", None, hangzhou_site.custodian_id),
                      ("give", hangzhou_site.custodian_id, ningbo_site.custodian_id),
                      ("receive", hangzhou_site.custodian_id, ningbo_site.custodian_id)]
    assert li.episode.custodian_id == ningbo_site.custodian_id
    update = AuditEvent.objects.filter(action="away.update", target_id=str(li.pk)).get()
    assert update.before["origin"] == "away-hz" and update.after == {"origin": "away-nb", "status": "moved"}


def test_an_unreadable_file_writes_nothing(tmp_path, city, town_a, transfer_desk):
    garbage = tmp_path / "roster.xlsx"
    garbage.write_bytes(b"PK\x03\x04 not really a workbook")
    no_header = write_csv(tmp_path, [["张伟", "x"]], header=["姓名", "备注"], name="nohead.csv")
    wrong = tmp_path / "roster.pdf"
    wrong.write_bytes(b"%PDF-1.4")
    for path, words in ((garbage, "not a readable spreadsheet"), (no_header, "No header row names the ID number"),
                        (wrong, "cannot be imported")):
        with pytest.raises(ValidationError) as exc:
            away_import(path=path, actor=transfer_desk)
        assert words in exc.value.message_dict["file"][0]
    assert counts() == (0, 0, 0, 0, 0) and not AuditEvent.objects.filter(action="away.import").exists()


def test_people_are_never_registered_twice(tmp_path, city, town_a, hangzhou_site, person_factory, transfer_desk):
    known = person_factory("钱七")
    listed = person_factory("孙八")
    awaiting = episode_open(person=listed, category="out_of_city", anchor_date=None, actor=None)
    contact = person_factory("周九")
    episode_open(person=contact, category="close_contact", anchor_date=date(2026, 11, 20), actor=None)
    report = import_rows(tmp_path, [
        ["钱七", known.doc_number, "", HZ_SITE, "杭州市", "2026-12-01", "稠城街道", "", ""],
        ["孙八", listed.doc_number, "", HZ_SITE, "杭州市", "2026-12-01", "稠城街道", "", ""],
        ["周九", contact.doc_number, "", HZ_SITE, "杭州市", "2026-12-01", "稠城街道", "", ""],
    ], actor=transfer_desk)
    assert [r.outcome for r in report.rows] == ["created", "created", "rejected"]
    assert "under control here already (Close contact)" in report.rows[2].reason
    assert Person.objects.count() == 3
    assert record_of("钱七").episode.person == known
    sun = record_of("孙八")
    assert sun.episode == awaiting and sun.episode.state == states.IN_CUSTODY  # the listed episode, placed


def test_the_city_comes_from_the_hint_when_the_file_has_none(tmp_path, city, town_a, hangzhou_site, transfer_desk):
    header = ["姓名", "身份证号", "隔离酒店", "预计解除时间", "返乡镇街"]
    rows = [["张伟", resident_id(1), HZ_SITE, "2026-12-01", "稠城街道"]]
    path = write_csv(tmp_path, rows, header=header)
    without = away_import(path=path, actor=transfer_desk)
    assert without.rows[0].outcome == "rejected" and "no city column" in without.rows[0].reason
    report = away_import(path=write_csv(tmp_path, rows, header=header, name="b.csv"), actor=transfer_desk,
                         origin_city_hint="杭州市")
    assert report.rows[0].outcome == "created" and record_of("张伟").origin == hangzhou_site


def test_who_may_import_and_whom(tmp_path, city, town_a, town_b, hangzhou_site, analyst, site_b):
    path = write_csv(tmp_path, [row(1, "张伟", town="稠城街道"), row(2, "李娜", town="北苑街道")])
    with pytest.raises(PermissionDenied):
        away_import(path=path, actor=analyst)
    report = away_import(path=path, actor=site_b)  # town B's staff: town B's residents only
    assert [r.outcome for r in report.rows] == ["rejected", "created"]
    assert report.rows[0].reason == "You may only register people of your own jurisdiction."
    assert record_of("李娜").episode.person.town == town_b
