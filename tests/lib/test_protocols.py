"""Protocols as data: the shipped files, the file format, and every refusal of a malformed file."""

from __future__ import annotations

import ast
import copy
import json
import pickle
import re
from datetime import date

import pytest

from closedloop.lib import protocols
from closedloop.lib.protocols import (
    CT_ASSESS,
    CT_NEGATIVE,
    CT_POSITIVE,
    SHIPPED_DIR,
    CtRule,
    Phase,
    ProtocolError,
    Text,
    load_directory,
    load_protocol,
    shipped,
)

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(autouse=True)
def raised_protocol_errors(monkeypatch, marked_messages):
    """Every ProtocolError built in a test has a marked template and exactly its placeholders as params."""
    seen: list[ProtocolError] = []
    original = ProtocolError.__init__

    def recording_init(self, file, field, template, /, **params):
        original(self, file, field, template, **params)
        seen.append(self)

    monkeypatch.setattr(ProtocolError, "__init__", recording_init)
    yield seen
    monkeypatch.undo()
    for error in seen:
        assert error.template in marked_messages, error.template
        assert set(PLACEHOLDER.findall(error.template)) == set(error.params), error.template
        assert error.template % error.params == error.reason


# --- the shipped protocols ----------------------------------------------------

# The spec's table (docs/protocols.md, ../shared/specs/protocols.md), written out.
SPEC_TABLE = {
    "cn-9-close-contact": (
        "close_contact", "last_exposure", "2022-06-28",
        [("centralized", 7, (1, 2, 3, 5, 7)), ("home_monitoring", 3, (3,))],
    ),
    "cn-9-secondary-contact": (
        "secondary_contact", "last_exposure", "2022-06-28", [("home_isolation", 7, (1, 4, 7))],
    ),
    "cn-9-inbound": (
        "inbound", "arrival", "2022-06-28",
        [("centralized", 7, (1, 2, 3, 5, 7)), ("home_monitoring", 3, (3,))],
    ),
    "cn-9-high-risk-area": (
        "high_risk_area", "left_risk_area", "2022-06-28", [("centralized", 7, (1, 2, 3, 5, 7))],
    ),
    "cn-9-medium-risk-area": (
        "medium_risk_area", "left_risk_area", "2022-06-28", [("home_isolation", 7, (1, 4, 7))],
    ),
    "cn-20m-close-contact": (
        "close_contact", "last_exposure", "2022-11-11",
        [("centralized", 5, (1, 2, 3, 5)), ("home_isolation", 3, (1, 3))],
    ),
    "cn-20m-inbound": (
        "inbound", "arrival", "2022-11-11",
        [("centralized", 5, (1, 2, 3, 5)), ("home_isolation", 3, (1, 3))],
    ),
    "cn-20m-high-risk-spillover": (
        "high_risk_area", "left_risk_area", "2022-11-11", [("home_isolation", 7, (1, 3, 5, 7))],
    ),
    # Staff leaving closed-loop duty (issue #4): day 1 is the last day on duty.
    "cn-staff-rotation": (
        "staff_rotation", "control_start", "2022-06-28",
        [("centralized", 7, (1, 4, 7)), ("home_monitoring", 7, (7,))],
    ),
}


def test_nine_protocols_ship_one_file_each():
    catalogue = shipped()
    assert sorted(catalogue) == sorted((name, 1) for name in SPEC_TABLE)
    assert sorted(path.name for path in SHIPPED_DIR.glob("*.json")) == sorted(f"{name}.json" for name in SPEC_TABLE)


@pytest.mark.parametrize("name", sorted(SPEC_TABLE))
def test_shipped_protocol_matches_the_spec_table(name):
    category, anchor, effective, phases = SPEC_TABLE[name]
    protocol = shipped()[(name, 1)]
    assert protocol.id == name
    assert protocol.category == category
    assert protocol.anchor == anchor
    assert protocol.effective_from == date.fromisoformat(effective)
    assert [(p.kind, p.days, p.tests) for p in protocol.phases] == phases
    assert protocol.health_checks.per_day == 2
    assert protocol.health_checks.slots == ("morning", "evening")
    assert protocol.ct == CtRule(positive_below=35, assess_below=40)
    assert protocol.release.requires_all_days
    assert protocol.release.requires_all_tests_negative
    assert protocol.release.requires_no_open_symptom_alert
    assert protocol.title.zh and protocol.title.en and protocol.source


@pytest.mark.parametrize("name", sorted(SPEC_TABLE))
def test_shipped_file_is_canonical_and_round_trips(name):
    path = SHIPPED_DIR / f"{name}.json"
    protocol = load_protocol(path)
    text = path.read_text(encoding="utf-8")
    assert protocol.to_dict() == json.loads(text)
    assert protocol.to_json() == text
    assert load_protocol(protocol.to_dict()) == protocol
    assert protocol.file_name() == path.name


def test_only_the_medium_risk_protocol_offers_an_alternative():
    catalogue = shipped()
    offering = {key for key, protocol in catalogue.items() if protocol.alternatives}
    assert offering == {("cn-9-medium-risk-area", 1)}
    medium = catalogue[("cn-9-medium-risk-area", 1)]
    alternative = medium.alternative("home_unsuitable")
    assert alternative.phases == (Phase(kind="centralized", days=7, tests=(1, 4, 7)),)
    assert medium.phases_for("home_unsuitable") == alternative.phases
    assert medium.phases_for(None) == medium.phases
    assert medium.phases_for("no_such_condition") is None
    assert medium.to_dict()["alternatives"]["home_unsuitable"]["phases"][0]["kind"] == "centralized"


def test_shipped_returns_a_fresh_dict():
    first = shipped()
    first.clear()
    assert len(shipped()) == 9


def test_protocol_properties():
    protocol = shipped()[("cn-9-close-contact", 1)]
    assert protocol.key == ("cn-9-close-contact", 1)
    assert protocol.total_days == 10
    assert shipped()[("cn-20m-close-contact", 1)].total_days == 8
    assert hash(protocol) == hash(load_protocol(protocol.to_dict()))


def test_title_in_language():
    title = Text(zh="密切接触者", en="Close contact")
    assert title.in_language("zh-hans") == "密切接触者"
    assert title.in_language("zh") == "密切接触者"
    assert title.in_language("en") == "Close contact"


@pytest.mark.parametrize(
    ("ct", "meaning"),
    [(None, CT_NEGATIVE), (12, CT_POSITIVE), (34.99, CT_POSITIVE), (35, CT_ASSESS), (39.9, CT_ASSESS),
     (40, CT_NEGATIVE), (45, CT_NEGATIVE)],
)
def test_ct_rule_classifies_at_the_thresholds(ct, meaning):
    assert CtRule(positive_below=35, assess_below=40).classify(ct) == meaning


def test_ct_thresholds_are_protocol_data():
    data = _base()
    data["ct"] = {"positive_below": 30, "assess_below": 38.5}
    rule = load_protocol(data).ct
    assert rule.classify(32) == CT_ASSESS
    assert rule.classify(38.5) == CT_NEGATIVE


def test_four_checks_a_day_have_four_slots():
    data = _base()
    data["health_checks"] = {"per_day": 4, "times": ["07:00", "11:30", "15:00", "20:00"]}
    assert load_protocol(data).health_checks.slots == ("morning", "noon", "afternoon", "evening")


# --- refusals -----------------------------------------------------------------

FILE = "cn-9-close-contact.json"


def _base() -> dict:
    return copy.deepcopy(shipped()[("cn-9-close-contact", 1)].to_dict())


def _set(path: str, value):
    """A change to the base protocol: set (or, with DELETE, remove) the value at a dotted path."""

    def change(data):
        *parents, last = _steps(path)
        node = data
        for step in parents:
            node = node[step]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
        return data

    return change


def _steps(path: str) -> list:
    steps: list = []
    for part in path.split("."):
        name, *indexes = part.replace("]", "").split("[")
        steps.append(name)
        steps.extend(int(index) for index in indexes)
    return steps


DELETE = object()

REFUSALS = [
    # unknown and missing keys
    (_set("colour", "red"), "colour", "Unknown key; the keys here are: id, version, title, source, effective_from, "
     "category, anchor, phases, health_checks, ct, release, alternatives."),
    (_set("phases[0].colour", "red"), "phases[0].colour", "Unknown key; the keys here are: kind, days, tests."),
    (_set("alternatives", {"no_home": {}}), "alternatives.no_home",
     "Unknown key; the keys here are: home_unsuitable."),
    (_set("ct", DELETE), "ct", "This key is missing."),
    (_set("health_checks.times", DELETE), "health_checks.times", "This key is missing."),
    (_set("title.en", DELETE), "title.en", "This key is missing."),
    (_set("release.requires_all_days", DELETE), "release.requires_all_days", "This key is missing."),
    # wrong types
    (_set("version", "1"), "version", 'This should be a whole number, not "1".'),
    (_set("version", True), "version", "This should be a whole number, not true."),
    (_set("phases[0].days", 7.0), "phases[0].days", "This should be a whole number, not 7.0."),
    (_set("phases[0].tests[1]", "2"), "phases[0].tests[1]", 'This should be a whole number, not "2".'),
    (_set("title.zh", 5), "title.zh", "This should be a text in quotes, not 5."),
    (_set("title", "Close contact"), "title", 'This should be an object {...}, not "Close contact".'),
    (_set("phases", {"kind": "centralized"}), "phases",
     'This should be a list [...], not {"kind": "centralized"}.'),
    (_set("phases[0].tests", 7), "phases[0].tests", "This should be a list [...], not 7."),
    (_set("release.requires_all_days", 1), "release.requires_all_days", "This should be true or false, not 1."),
    (_set("ct.positive_below", "35"), "ct.positive_below", 'This should be a number, not "35".'),
    (_set("source", " "), "source", "This text is empty."),
    # days and test days
    (_set("phases[0].days", 0), "phases[0].days", "A phase lasts at least 1 day, not 0."),
    (_set("phases[1].days", -3), "phases[1].days", "A phase lasts at least 1 day, not -3."),
    (_set("phases[0].days", 70), "phases[0].days",
     "A phase of 70 days is longer than the limit of 60 days; check the number."),
    (_set("phases[1].tests", [4]), "phases[1].tests[0]", "Test day 4 is outside the phase's 3 days."),
    (_set("phases[0].tests", [0, 1]), "phases[0].tests[0]", "Test day 0 is outside the phase's 7 days."),
    (_set("phases[0].tests", [1, 2, 2, 5]), "phases[0].tests[2]", "Test day 2 is listed twice."),
    (_set("phases[0].tests", [1, 3, 2, 5]), "phases[0].tests[2]",
     "Test day 2 comes after day 3; list the test days in order."),
    (_set("phases", []), "phases", "A protocol needs at least one phase."),
    # closed vocabularies
    (_set("anchor", "exposure"), "anchor",
     'Unknown value "exposure"; use one of: last_exposure, arrival, left_risk_area, control_start.'),
    (_set("category", "case"), "category",
     'Unknown value "case"; use one of: close_contact, secondary_contact, inbound, high_risk_area, '
     'medium_risk_area, staff_rotation.'),
    (_set("phases[1].kind", "hotel"), "phases[1].kind",
     'Unknown value "hotel"; use one of: centralized, home_isolation, home_monitoring.'),
    # Ct thresholds
    (_set("ct.assess_below", 35), "ct.assess_below",
     "The assessment threshold 35 must be above the positive threshold 35."),
    (_set("ct", {"positive_below": 40, "assess_below": 35}), "ct.assess_below",
     "The assessment threshold 35 must be above the positive threshold 40."),
    (_set("ct.positive_below", 0), "ct.positive_below", "A Ct threshold is above 0 and at most 50, not 0."),
    (_set("ct.assess_below", 55.5), "ct.assess_below", "A Ct threshold is above 0 and at most 50, not 55.5."),
    # health checks
    (_set("health_checks.per_day", 0), "health_checks.per_day",
     "Health checks happen 1 to 4 times a day, not 0."),
    (_set("health_checks.per_day", 5), "health_checks.per_day",
     "Health checks happen 1 to 4 times a day, not 5."),
    (_set("health_checks.times", ["08:00", "8:00 pm"]), "health_checks.times[1]",
     '"8:00 pm" is not a time of day; write it like 08:00.'),
    (_set("health_checks.times", ["8:00", "18:00"]), "health_checks.times[0]",
     '"8:00" is not a time of day; write it like 08:00.'),
    (_set("health_checks.times", ["08:00", "24:00"]), "health_checks.times[1]",
     '"24:00" is not a time of day; write it like 08:00.'),
    (_set("health_checks.times", ["18:00", "08:00"]), "health_checks.times[1]",
     "08:00 is not after 18:00; list the times in order, each once."),
    (_set("health_checks.times", ["08:00", "08:00"]), "health_checks.times[1]",
     "08:00 is not after 08:00; list the times in order, each once."),
    (_set("health_checks.times", ["08:00"]), "health_checks.times",
     "Give one time per check: 2 checks a day, but 1 times are listed."),
    (_set("health_checks", {"per_day": 1, "times": ["08:00", "18:00"]}), "health_checks.times",
     "Give one time per check: 1 checks a day, but 2 times are listed."),
    # identity
    (_set("id", "cn-9-close-contact-v2"), "id",
     'The id "cn-9-close-contact-v2" does not match the file name; name the file cn-9-close-contact-v2.json.'),
    (_set("id", "CN_9"), "id",
     'The id "CN_9" may only have lower-case letters, digits and single hyphens, like cn-9-close-contact.'),
    (_set("version", 0), "version", "The version starts at 1, not 0."),
    (_set("version", -2), "version", "The version starts at 1, not -2."),
    (_set("effective_from", "2022-6-28"), "effective_from", '"2022-6-28" is not a date; write it like 2022-06-28.'),
    (_set("effective_from", "2022-02-30"), "effective_from", '"2022-02-30" is not a date; write it like 2022-06-28.'),
    # alternatives are checked like the protocol's own phases
    (_set("alternatives", {"home_unsuitable": {"title": {"zh": "集中", "en": "Centralized"},
                                               "phases": [{"kind": "centralized", "days": 3, "tests": [5]}]}}),
     "alternatives.home_unsuitable.phases[0].tests[0]", "Test day 5 is outside the phase's 3 days."),
    (_set("alternatives", {"home_unsuitable": {"phases": []}}), "alternatives.home_unsuitable.title",
     "This key is missing."),
]


@pytest.mark.parametrize(("change", "field", "reason"), REFUSALS, ids=[f"{r[1]}:{r[2][:30]}" for r in REFUSALS])
def test_malformed_file_is_refused_with_file_field_and_reason(tmp_path, change, field, reason):
    path = tmp_path / FILE
    path.write_text(json.dumps(change(_base()), ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    error = info.value
    assert (error.file, error.field, error.reason) == (FILE, field, reason)
    assert str(error) == f"{FILE}: {field}: {reason}"


def test_the_briefs_example_message(tmp_path):
    data = _base()
    data["phases"][1]["tests"] = [4]
    (tmp_path / FILE).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"^cn-9-close-contact\.json: phases\[1\]\.tests\[0\]: Test day 4 is "
                       r"outside the phase's 3 days\.$"):
        load_protocol(tmp_path / FILE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"id": "cn-9-close-contact",', "The file is not valid JSON: Expecting property name enclosed in double "
         "quotes at line 1, column 29."),
        ('{"id": "cn-9-close-contact"}\n}', "The file is not valid JSON: Extra data at line 2, column 1."),
        ('{"ct": {"positive_below": NaN}}', "The file is not valid JSON: NaN is not allowed."),
        ("[]", "This should be an object {...}, not []."),
    ],
)
def test_unreadable_file_is_refused_as_a_whole(tmp_path, text, reason):
    path = tmp_path / FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert (info.value.file, info.value.field, info.value.reason) == (FILE, "", reason)
    assert str(info.value) == f"{FILE}: {reason}"


def test_file_not_in_utf8_is_refused(tmp_path):
    path = tmp_path / FILE
    path.write_bytes(json.dumps(_base(), ensure_ascii=False).encode("gb18030"))
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert str(info.value) == f"{FILE}: The file is not UTF-8 text."


def test_utf8_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / FILE
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_base(), ensure_ascii=False).encode())
    assert load_protocol(path).id == "cn-9-close-contact"


def test_repeated_key_is_refused(tmp_path):
    path = tmp_path / FILE
    text = json.dumps(_base()).replace('"days": 3,', '"days": 3, "days": 4,')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        load_protocol(path)
    assert str(info.value) == f"{FILE}: phases[1].days: This key is given more than once."


def test_data_without_a_name_skips_the_file_name_check():
    data = _base()
    data["id"] = "hq-close-contact"
    assert load_protocol(data).id == "hq-close-contact"
    data["version"] = 0
    with pytest.raises(ProtocolError) as info:
        load_protocol(data)
    assert str(info.value) == "version: The version starts at 1, not 0."
    with pytest.raises(ProtocolError) as info:
        load_protocol(_base(), name="other.json")
    assert info.value.file == "other.json" and info.value.field == "id"


@pytest.mark.parametrize(
    ("name", "version", "accepted"),
    [
        ("cn-9-close-contact.json", 1, True),
        ("cn-9-close-contact.json", 2, True),
        ("cn-9-close-contact.v2.json", 2, True),
        ("cn-9-close-contact.v1.json", 1, True),
        ("cn-9-close-contact.v3.json", 2, False),
        ("cn-9-close-contact.v02.json", 2, False),
        ("cn-9-close-contact.txt", 1, False),
        ("cn-9-close.json", 1, False),
    ],
)
def test_file_name_is_the_id_optionally_with_the_version(tmp_path, name, version, accepted):
    data = _base()
    data["version"] = version
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    if accepted:
        assert load_protocol(path).key == ("cn-9-close-contact", version)
    else:
        with pytest.raises(ProtocolError) as info:
            load_protocol(path)
        expected = "cn-9-close-contact.json" if version == 1 else f"cn-9-close-contact.v{version}.json"
        assert str(info.value) == (
            f'{name}: id: The id "cn-9-close-contact" does not match the file name; name the file {expected}.'
        )


def test_error_translates_its_reason_and_keeps_file_and_field():
    data = _base()
    data["phases"][1]["tests"] = [4]
    with pytest.raises(ProtocolError) as info:
        load_protocol(data, name=FILE)
    catalogue = {"Test day %(day)s is outside the phase's %(days)s days.": "检测日第%(day)s天超出本阶段的%(days)s天。"}
    assert info.value.translated(lambda m: catalogue.get(m, m)) == (
        "cn-9-close-contact.json: phases[1].tests[0]: 检测日第4天超出本阶段的3天。"
    )
    assert info.value.params == {"day": 4, "days": 3}
    assert isinstance(info.value, ValueError)
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.file, again.field, again.template, again.params, str(again)) == (
        info.value.file, info.value.field, info.value.template, info.value.params, str(info.value)
    )


# --- directories --------------------------------------------------------------


def _write(directory, name, data):
    (directory / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_load_directory_keys_by_id_and_version(tmp_path):
    version1 = _base()
    version2 = _base()
    version2["version"] = 2
    version2["phases"][0]["days"] = 5
    version2["phases"][0]["tests"] = [1, 2, 3, 5]
    _write(tmp_path, "cn-9-close-contact.json", version1)
    _write(tmp_path, "cn-9-close-contact.v2.json", version2)
    (tmp_path / "README.txt").write_text("not a protocol", encoding="utf-8")
    catalogue = load_directory(tmp_path)
    assert sorted(catalogue) == [("cn-9-close-contact", 1), ("cn-9-close-contact", 2)]
    assert catalogue[("cn-9-close-contact", 2)].total_days == 8


def test_load_directory_merges_directories(tmp_path):
    data = _base()
    data["id"] = "hq-close-contact"
    _write(tmp_path, "hq-close-contact.json", data)
    catalogue = load_directory(SHIPPED_DIR, tmp_path)
    assert len(catalogue) == 10 and ("hq-close-contact", 1) in catalogue


def test_load_directory_refuses_a_duplicate(tmp_path):
    _write(tmp_path, "cn-9-close-contact.json", _base())
    _write(tmp_path, "cn-9-close-contact.v1.json", _base())
    with pytest.raises(ProtocolError) as info:
        load_directory(tmp_path)
    assert str(info.value) == (
        "cn-9-close-contact.v1.json: version: Protocol cn-9-close-contact version 1 is also defined in "
        "cn-9-close-contact.json."
    )


def test_load_directory_refuses_a_shipped_protocol_defined_again(tmp_path):
    _write(tmp_path, "cn-9-close-contact.json", _base())
    with pytest.raises(ProtocolError, match="is also defined in cn-9-close-contact.json"):
        load_directory(SHIPPED_DIR, tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "old"), [("category", "inbound", "close_contact"), ("anchor", "control_start", "last_exposure")]
)
def test_versions_of_one_protocol_keep_category_and_anchor(tmp_path, field, value, old):
    _write(tmp_path, "cn-9-close-contact.json", _base())
    changed = _base()
    changed["version"] = 2
    changed[field] = value
    _write(tmp_path, "cn-9-close-contact.v2.json", changed)
    with pytest.raises(ProtocolError) as info:
        load_directory(tmp_path)
    assert str(info.value) == (
        f'cn-9-close-contact.v2.json: {field}: Every version of a protocol keeps its {field}: "{value}" here, '
        f'"{old}" in cn-9-close-contact.json.'
    )


def test_load_directory_stops_at_a_malformed_file(tmp_path):
    _write(tmp_path, "cn-9-close-contact.json", _base())
    broken = _base()
    broken["id"] = "hq-broken"
    broken["phases"][0]["tests"] = [8]
    _write(tmp_path, "hq-broken.json", broken)
    with pytest.raises(ProtocolError) as info:
        load_directory(tmp_path)
    assert str(info.value) == "hq-broken.json: phases[0].tests[0]: Test day 8 is outside the phase's 7 days."


def test_protocols_module_imports_no_django():
    tree = ast.parse(open(protocols.__file__, encoding="utf-8").read())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert imported and not [name for name in imported if name.split(".")[0] == "django"]
