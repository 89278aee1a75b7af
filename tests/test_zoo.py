"""The checker zoo (`gradcheck.zoo`, `gradcheck.strategies.checker_zoo`): random functions of
parameter trees with exact gradients, and the checker's three properties on them (issue 11).

1. A correct gradient never fails (full and fast mode).
2. An error planted in one entry, twice the allowed error the correct run states for it,
   fails and is named.
3. A poisoned coordinate (a kink, a jump, an isolated value, a pole or a domain edge at its
   own point, in a leaf of its own) leaves every other entry's verdict exactly as it was.

Every property is deterministic given the drawn example (full mode draws nothing; fast mode
takes its seed from the example), so a counterexample is a defect, not bad luck. The
thorough profile runs them with 1000 examples: ``pytest --hypothesis-profile=thorough -k zoo``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import gradcheck
from gradcheck.strategies import checker_zoo
from gradcheck.zoo import POISONS, ZooCase, flatten


def _check(case: ZooCase, grad=None, **kw):
    with np.errstate(all="ignore"):
        return gradcheck.check_grad(case.f, grad or case.grad, case.params, **kw)


@given(case=checker_zoo())
def test_the_zoo_never_cries_wolf(case):
    res = _check(case)
    assert res.status != "fail", (case.description, res)


@given(case=checker_zoo(), seed=st.integers(0, 2**32 - 1))
def test_the_zoo_never_cries_wolf_in_fast_mode(case, seed):
    res = _check(case, mode="fast", seed=seed)
    assert res.status != "fail", (case.description, res)


def _passing(res, case):
    """(entry, allowed) of every entry that passed and is not rough by construction.

    An entry whose allowed error is exactly 0 is left out: there f and its gradient are exactly
    0 near the point (a ReLU's flat side), and "twice the allowed error" plants nothing (found
    by the thorough profile: a planted error of 0 passed, as it must)."""
    out = []
    for p in res.params:
        for idx in np.ndindex(p.statuses.shape):
            entry = (p.path, tuple(int(i) for i in idx))
            allowed = float(p.allowed[idx])
            if p.statuses[idx] == "pass" and entry not in case.rough and allowed > 0:
                out.append((entry, allowed))
    return out


@given(case=checker_zoo(), data=st.data())
def test_a_planted_error_above_the_stated_bound_fails_and_is_named(case, data):
    ok = _check(case)
    candidates = _passing(ok, case)
    if not candidates:
        return  # nothing checkable (all vacuous or rough): nothing to plant
    entry, allowed = data.draw(st.sampled_from(candidates), label="entry")
    sign = data.draw(st.sampled_from([-1.0, 1.0]), label="sign")
    res = _check(case, case.planted(entry, sign * 2 * allowed))
    # Deterministic: the planted run's allowed error is the same A (f alone sets it), and
    # |a + 2A - N| >= 2A - |a - N| > A, so the planted entry never passes. A fail must also be
    # reproduced from steps ~20 and ~414 times shorter; where f is noisy (float32 inside) those
    # may never be quiet, and the entry "did not converge" (dev seed 188 of soak 5: float32
    # parameters and f32-inside, m = 1000; before 71aaa1e the rechecks halved onto the accepted
    # step itself and always "reproduced" it, which also let a step at a multiple of sin's
    # period through as a fail). So: a fail names the entry; else it is inconclusive there.
    assert res.status != "pass", (case.description, entry, res)
    got = _status_of(res, entry)
    if res.status == "fail":
        assert (res.worst[0].path, res.worst[0].index) == entry, (case.description, entry, res)
    else:
        assert got == "inconclusive", (case.description, entry, res)


@given(case=checker_zoo(), data=st.data())
def test_the_numeric_side_comes_from_f_alone(case, data):
    # The premise of the planted-error property above, on its own: full mode's steps, numeric
    # derivatives and error estimates read f's values only, so a wrong gradient cannot move
    # them (its allowed error differs only by the analytic side's own rounding, ~eps_g |a|).
    # Soak 10, dev seed 286: the noise probes chose their coordinates by |x_i a_i|; a planted
    # error at a flat ReLU entry took a probe from a kinked one, the leaf stopped reading as
    # noisy, and the planted entry's error estimate grew 200-fold.
    entry = data.draw(st.sampled_from(case.entries()), label="entry")
    grads = flatten(case.grad(case.params))
    scale = max(float(np.max(np.abs(g.array), initial=0.0)) for g in grads) or 1.0
    sign = data.draw(st.sampled_from([-1.0, 1.0]), label="sign")
    delta = sign * scale * 10.0 ** data.draw(st.integers(-12, 1), label="log10 size")
    ok, wrong = _check(case), _check(case, case.planted(entry, delta))
    for a, b in zip(ok.params, wrong.params, strict=True):
        assert np.array_equal(a.numeric, b.numeric, equal_nan=True), (case.description, entry)
        assert np.array_equal(a.error, b.error, equal_nan=True), (case.description, entry, a, b)


def test_a_wrong_value_at_a_flat_relu_entry_does_not_choose_the_noise_probes():
    # soak 10's dev seed 286 by hand: relu(x - c) with two entries at their kinks (analytic 0
    # there), one active, one flat. By |x_i a_i| the probes were the active entry and the first
    # two zeros, both kinked: the leaf read as noisy. A wrong value at the flat entry (1, 1, 0)
    # took a probe, the leaf stopped reading as noisy, and every error estimate changed (fell
    # 3000-fold here; in the seed's case it rose 200-fold and the planted error passed).
    x = np.array([0.5, -0.7, 1.2, 0.9, -1.1, 0.6, -0.65, 0.4]).reshape(2, 2, 2)
    gap = np.array([0.0, -1e-9, 1.0, 0.0, 1e-9, -1e-9, -1.0, 0.0]).reshape(2, 2, 2)
    w = np.array([1.5, -0.8, 1.1, 0.7, -1.9, 1.3, 0.9, -0.6]).reshape(2, 2, 2)
    c = x - gap

    def f(p):
        return float(1e-3 * np.sum(w * np.maximum(p - c, 0.0)))

    def grad(p):
        return 1e-3 * w * (p - c > 0)

    flat = (1, 1, 0)
    ok = gradcheck.check_grad(f, grad, x)
    allowed = float(ok.params[0].allowed[flat])
    assert ok.status == "inconclusive"
    assert ok.params[0].statuses[flat] == "pass"

    def wrong(p):
        a = grad(p)
        a[flat] -= 2 * allowed
        return a

    bad = gradcheck.check_grad(f, wrong, x)
    assert np.array_equal(ok.params[0].error, bad.params[0].error)
    assert bad.status == "fail"
    assert bad.worst[0].index == flat


def _status_of(res, entry):
    path, index = entry
    return next(str(p.statuses[index]) for p in res.params if p.path == path)


@given(
    case=checker_zoo(rough=False, float32=False),
    kind=st.sampled_from(POISONS),
    data=st.data(),
)
def test_clean_entries_are_judged_as_if_the_poisoned_one_were_not_there(case, kind, data):
    # optionally with a planted error in the clean part, so that fails are compared too
    ok = _check(case)
    grad = case.grad
    candidates = _passing(ok, case)
    if candidates and data.draw(st.booleans(), label="plant"):
        entry, allowed = data.draw(st.sampled_from(candidates), label="entry")
        grad = case.planted(entry, 4 * allowed)
    clean = _check(case, grad)
    poisoned_case = case.poisoned(kind)

    def poisoned_grad(params):
        return {"clean": grad(params["clean"]), "poison": poisoned_case.grad(params)["poison"]}

    poisoned = _check(poisoned_case, poisoned_grad)
    *others, poison = poisoned.params
    for a, b in zip(clean.params, others, strict=True):
        assert np.array_equal(a.statuses, b.statuses), (case.description, kind, clean, poisoned)
        assert a.status == b.status
    assert poison.status == "inconclusive", (kind, poisoned)
    for e in poisoned.worst:  # listed when no entry fails: its cause is named
        if e.path == "params['poison']":
            assert e.note.split(":")[0] in {"kink", "jump", "pole", "did not converge"}, e


def _found(condition):
    """An example of the zoo meeting ``condition`` (generation only: no shrinking)."""
    quick = settings(database=None, phases=[Phase.generate], max_examples=500, deadline=None)
    return find(checker_zoo(), condition, settings=quick)


def test_the_zoo_draws_what_the_issue_lists():
    # 0-d to 4-d leaves, nested trees, every primitive kind, float32 inside and float32
    # parameters, entries at kinks or next to poles: each is drawn by some example.
    def ndims(c):
        return {np.ndim(leaf.array) for leaf in flatten(c.params)}

    assert _found(lambda c: 0 in ndims(c)) is not None
    assert _found(lambda c: 4 in ndims(c)) is not None
    assert _found(lambda c: flatten(c.params)[0].path.count("[") >= 2) is not None
    for kind in ("smooth:", "saturated:", "offset:", "kink:", "pole:", "f32-inside", "float32"):
        assert _found(lambda c, k=kind: k in c.description) is not None
    assert _found(lambda c: len(c.rough) > 0) is not None


def test_a_planted_case_is_wrong_where_it_says():
    case = _one_case()
    entry = case.entries()[0]
    path, index = entry
    a = {leaf.path: leaf.array for leaf in flatten(case.grad(case.params))}
    a_i = np.asarray(a[path])[index]
    # delta >= |a_i|, so the entry moves in its own dtype (a float32 gradient of 1e8 + 1.0
    # rounds back to 1e8: the run under --hypothesis-seed=2 drew one); the sum is compared
    # as the gradient's dtype rounds it.
    delta = max(1.0, 2 * abs(float(a_i)))
    wrong = case.planted(entry, delta)
    b = {leaf.path: leaf.array for leaf in flatten(wrong(case.params))}
    diff = {p: np.argwhere(np.asarray(a[p] != b[p])) for p in a}
    assert [(p, tuple(map(int, i))) for p, d in diff.items() for i in d] == [entry]
    assert np.asarray(b[path])[index] == a_i + np.asarray(delta, dtype=a_i.dtype)


def _one_case() -> ZooCase:
    return _found(lambda c: len(c.entries()) >= 3)
