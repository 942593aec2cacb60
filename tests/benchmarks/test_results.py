"""benchmarks/results.py: the machine-readable figures and their statistics."""

from __future__ import annotations

import json

import pytest

from benchmarks import results


def test_summary_is_minimum_median_maximum():
    assert results.summary([3.0, 1.0, 2.0]) == (1.0, 2.0, 3.0)
    assert results.summary([4.0, 1.0, 2.0, 3.0]) == (1.0, 2.5, 4.0)


def test_summary_of_nothing_says_so():
    with pytest.raises(ValueError, match="no values"):
        results.summary([])


def test_percentile_is_the_nearest_rank():
    twenty = [float(v) for v in range(20, 0, -1)]  # unsorted on purpose
    assert results.percentile(twenty, 0) == 1
    assert results.percentile(twenty, 95) == 19
    assert results.percentile(twenty, 100) == 20
    assert results.percentile([5.0], 95) == 5.0
    with pytest.raises(ValueError, match="between 0 and 100"):
        results.percentile(twenty, 150)


def figure(name, values, goal=None):
    return results.figure(name, values, "s", goal, "python -m benchmarks.x", "quiet", commit="abc", date="today")


def test_a_figure_is_the_median_with_its_spread_and_its_goal():
    f = figure("native.shipped.cold_start", [40.0, 30.0, 35.0], goal=30)
    assert (f.value, f.low, f.high, f.runs) == (35.0, 30.0, 40.0, 3)
    assert f.met is False
    assert figure("x", [29.0], goal=30).met is True
    assert figure("x", [29.0]).met is None


def test_record_writes_every_field_and_keeps_other_figures(tmp_path):
    path = tmp_path / "results.json"
    results.record([figure("deploys.p50", [1.0]), figure("native.shipped.cold_start", [40.0])], path)
    results.record([figure("native.shipped.cold_start", [20.0, 30.0])], path)
    entries = json.loads(path.read_text())
    assert [e["name"] for e in entries] == ["deploys.p50", "native.shipped.cold_start"]
    assert entries[1] == {"name": "native.shipped.cold_start", "value": 25.0, "unit": "s", "goal": None,
                          "low": 20.0, "high": 30.0, "runs": 2, "command": "python -m benchmarks.x",
                          "date": "today", "commit": "abc", "load": "quiet"}
    assert results.load(path)["deploys.p50"].value == 1.0


def test_compare_says_what_changed_and_whether_the_goal_is_met():
    old = {"a": figure("a", [2.0], goal=1)}
    lines = results.compare(old, [figure("a", [0.5, 1.5, 0.8], goal=1), figure("b", [3.0])])
    assert lines[0] == "a: 0.8 s (0.5–1.5, 3 runs; was 2 s) goal met"
    assert lines[1] == "b: 3 s (3–3, 1 runs; new)"


def test_the_commit_is_this_checkout_s(tmp_path):
    commit = results.git_commit()
    assert len(commit.removesuffix("+changes")) == 40
    assert results.git_commit(tmp_path) == "unknown"
