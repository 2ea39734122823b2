"""``closedloop returns plan|validate``, run as an operator runs them: no database needed."""

from __future__ import annotations

import copy
import json

from closedloop.planning.returns.generate import generate
from tests.core.cli_helpers import closedloop
from tests.planning.test_returns_validate import INSTANCE, PLAN


def write(path, data) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_plan_writes_a_plan_the_validator_accepts(tmp_path):
    instance = write(tmp_path / "instance.json", generate(300, bottleneck="fleet"))
    out = closedloop("returns", "plan", instance, "-o", str(tmp_path / "plan.json"), "--time-limit", "2",
                     data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    made = json.loads((tmp_path / "plan.json").read_text())
    assert made["format"] == "closedloop.returns-plan/1" and made["lower_bound"] <= made["makespan"]
    assert f"the last home at minute {made['makespan']}" in out.stdout
    assert f"no plan can beat minute {made['lower_bound']}" in out.stdout

    checked = closedloop("returns", "validate", instance, str(tmp_path / "plan.json"), data_dir=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == (f"OK: every rule is kept; makespan {made['makespan']}, "
                                      f"lower bound {made['lower_bound']}.")
    assert not (tmp_path / "closedloop.sqlite3").exists()  # the database was never touched


def test_validate_prints_each_violation_and_exits_1(tmp_path):
    broken = copy.deepcopy(PLAN)
    broken["coach_trips"][1]["coach"] = 0  # overlaps coach 0's first trip (rule 5)
    broken["station"][2]["end"] = 238  # too short a block (rule 6)
    out = closedloop("returns", "validate", write(tmp_path / "i.json", INSTANCE), write(tmp_path / "p.json", broken),
                     data_dir=tmp_path)
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("rule 5, coach_trips[1]: Coach 0 starts this trip at minute 10")
    assert lines[1].startswith("rule 6, station[2]: Group a2 of 3 people is screened from minute 230 to 238")
    assert len(lines) == 2 and "2 violations" in out.stderr


def test_a_file_that_is_not_a_plan_or_instance_exits_2_with_the_reason(tmp_path):
    instance = write(tmp_path / "i.json", INSTANCE)
    no_plan = closedloop("returns", "validate", instance, write(tmp_path / "p.json", {"format": "x"}),
                         data_dir=tmp_path)
    assert no_plan.returncode == 2
    assert 'The plan\'s "format" must be "closedloop.returns-plan/1", not "x".' in no_plan.stderr

    (tmp_path / "junk.json").write_text("{")
    junk = closedloop("returns", "validate", instance, str(tmp_path / "junk.json"), data_dir=tmp_path)
    assert junk.returncode == 2 and "is not JSON" in junk.stderr

    missing = closedloop("returns", "validate", instance, str(tmp_path / "none.json"), data_dir=tmp_path)
    assert missing.returncode == 2 and "Cannot read" in missing.stderr

    too_big = copy.deepcopy(INSTANCE)
    too_big["origins"][0]["groups"][1]["size"] = 7
    for args in (("validate", write(tmp_path / "big.json", too_big), str(tmp_path / "p.json")),
                 ("plan", str(tmp_path / "big.json"), "-o", str(tmp_path / "out.json"))):
        out = closedloop("returns", *args, data_dir=tmp_path)
        assert out.returncode == 2
        assert "Group a2 has 7 people, but a coach may carry at most 6" in out.stderr
    assert not (tmp_path / "out.json").exists()


def test_plan_needs_an_output_and_a_sane_time_limit(tmp_path):
    instance = write(tmp_path / "i.json", INSTANCE)
    assert closedloop("returns", "plan", instance, data_dir=tmp_path).returncode == 2
    out = closedloop("returns", "plan", instance, "-o", str(tmp_path / "p.json"), "--time-limit", "0",
                     data_dir=tmp_path)
    assert out.returncode == 2 and "must be more than 0" in out.stderr
