"""The scipy.special battery (`tests._special_battery`): issue 11's targets for the numerics.

0 false alarms on correct gradients, every planted 1 % error above the stated bound caught and
named, and fewer than 10 % of correct checks inconclusive (these functions have no kinks:
every inconclusive verdict counts). Deterministic: full mode draws nothing, fast mode uses
seed 0, so each assertion either holds or names a real defect (no false-failure probability
to state). The default run checks every 4th point; ``-m slow`` all of them.
"""

from __future__ import annotations

import pytest

from tests import _special_battery as battery


def _assert_targets(out):
    n = out["counts"]
    assert out["problems"] == [], out["problems"]
    assert n.get("full fail", 0) == 0, n
    assert n.get("fast fail", 0) == 0, n
    assert n["planted caught and named"] == n["planted above bound"] > 0, n
    for mode in ("full", "fast"):
        assert n.get(f"{mode} inconclusive", 0) < 0.1 * n[f"{mode} checks"], n


def test_the_quick_battery_meets_the_targets():
    _assert_targets(battery.run(quick=True))


@pytest.mark.slow
def test_the_whole_battery_meets_the_targets():
    _assert_targets(battery.run(quick=False))


def test_the_battery_covers_what_the_issue_lists():
    tags = {c.tag for c in battery.cases()}
    assert tags == {"wide", "near pole", "oscillating", "float32"}
    names = {c.special.name for c in battery.cases()}
    assert {"gammaln", "digamma", "gamma", "j0", "Si", "erfc", "log1p"} <= names


def test_a_wrong_reference_would_be_caught():
    # negative control: the battery's machinery sees a gradient 1 % off as a failure.
    case = next(c for c in battery.cases() if c.special.name == "j0" and c.x > 1e5)
    assert battery.check(case, "full").status == "pass"
    assert battery.check(case, "full", 1.01).status == "fail"
