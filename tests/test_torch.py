"""gradcheck.torch: correct backwards pass (ops, autograd.Function, nn.Module; float32/64,
complex64/128, 0-d, non-contiguous, several outputs), wrong ones are caught and named, the
user's tensors are never touched, and bad input gets a typed error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="the [torch] extra (torch==2.13.0) is not installed")

import gradcheck  # noqa: E402
import gradcheck.torch as gt  # noqa: E402
from gradcheck import InvalidInputError, InvalidTypeError, NondeterministicError  # noqa: E402
from gradcheck._engine.numdiff import scales  # noqa: E402

seeds = st.integers(0, 2**32 - 1)
DTYPES = [torch.float64, torch.float32, torch.complex128, torch.complex64]


def _randn(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if dtype.is_complex:
        x = x + 1j * rng.standard_normal(shape)
    return torch.tensor(x, dtype=dtype)


def _softmax_mix(x, w):
    return torch.softmax(x @ w, dim=-1)


def _two_outputs(x, w):
    y = x @ w
    return torch.tanh(y) if not y.is_complex() else y.exp(), (x * x).sum(-1)


def _scalar_out(x, w):
    return (x.abs() ** 2).sum() * w.sum()


OPS = [_softmax_mix, _two_outputs, _scalar_out]


@pytest.mark.parametrize("fn", OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["full", "fast"])
@given(seed=seeds, dtype=st.sampled_from(DTYPES), n=st.integers(1, 4))
def test_torch_ops_pass(fn, mode, seed, dtype, n):
    rng = np.random.default_rng(seed)
    if fn is _softmax_mix and dtype.is_complex:
        dtype = torch.float64 if dtype == torch.complex128 else torch.float32
    x, w = _randn(rng, (n, 3), dtype), _randn(rng, (3, 3), dtype)
    res = gt.check(fn, x, w, mode=mode, seed=seed)
    assert res.status == "pass", res


class _Sin(torch.autograd.Function):
    """A custom Function whose backward may be wrong in one entry (``bug`` = that index), by
    the relative error ``rel``."""

    rel = 1e-4

    @staticmethod
    def forward(ctx, x, bug):
        ctx.save_for_backward(x)
        ctx.bug = bug
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        grad = (g * x.cos()).clone()
        if ctx.bug is not None:
            grad.view(-1)[ctx.bug] *= 1 + _Sin.rel
        return grad, None


@pytest.mark.parametrize("mode", ["full", "fast"])
@given(seed=seeds, n=st.integers(2, 30), data=st.data())
def test_a_wrong_backward_entry_is_caught_and_named(mode, seed, n, data):
    # One entry of the backward off by a relative 1e-4, or more where that is below what the
    # mode can see, read from a pass at the same seed:
    # - full mode: the entry's allowed error A grows like 1/|x_k| (its step is c |x_k|), so a
    #   fixed 1e-4 was below it at x_k = 0.011, v_k = 0.012 (seed=143, n=8, k=2; 20-seed soak,
    #   dev seed 233: 1.2e-6 against A = 1.4e-6). The plant is at least 4 A. Deterministic: f
    #   alone sets the steps and bounds (ulps eps_g |a| moves A by ~1e-14 relative), so the
    #   planted entry is off by >= 4A - |a - N| >= 3A > A and fails (rechecked from shorter
    #   steps of the same f, which reproduce N).
    # - fast mode misses an error e with probability <= R^-2, R = |e| s_k / (the directions'
    #   allowed error) with s_k the entry's scale (~|x_k|): a fixed 1e-4 was R = 2.3 at
    #   seed=290375053, n=24, k=4 (x_k = -0.017; dev seed 122), so fast mode plants R = 1e4
    #   (<= 1e-8 per example).
    # An entry whose cotangent hides its error (|v_k| < 0.01, ~0.8% of draws) is skipped.
    _planted_entry_is_caught(mode, seed, n, data.draw(st.integers(0, n - 1)))


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_wrong_backward_entry_at_a_small_x_is_caught_and_named(mode):
    # dev seed 233's draw: x_k = 0.011, v_k = 0.012, where a fixed 1e-4 plant passed full mode
    _planted_entry_is_caught(mode, seed=143, n=8, k=2)


def _planted_entry_is_caught(mode, seed, n, k):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.uniform(-1, 1, n))
    v = gt._loss.cotangent(gt._inputs.make_call(lambda t: t.sin(), (x,), None), [x], seed)[0].v
    if abs(float(v[0][k])) < 1e-2:
        return  # the cotangent hides this entry's error (|v_k| ~ 0): nothing to catch
    ok = gt.check(lambda t: _Sin.apply(t, None), x, mode=mode, seed=seed)
    assert ok.status == "pass", ok
    a_k = abs(float(torch.cos(x[k]) * v[0][k]))
    if mode == "full":
        rel = max(1e-4, 4 * float(ok.params[0].allowed[k]) / a_k)
    else:
        allowed = max(e.allowed for e in ok.worst)
        rel = max(1e-4, 1e4 * allowed / (float(scales(x.numpy())[k]) * a_k))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_Sin, "rel", rel)
        res = gt.check(lambda t: _Sin.apply(t, k), x, mode=mode, seed=seed)
    assert res.status == "fail", res
    assert any(e.status == "fail" and (e.path, e.index) == ("inputs[0]", (k,)) for e in res.worst)


def test_autograd_function_and_module_and_dict_inputs_are_named():
    x = torch.randn(4, 3, dtype=torch.float64)
    res = gt.check(lambda t: _Sin.apply(t, None), x, seed=0)
    assert res.status == "pass", res
    lin = torch.nn.Linear(3, 2).double()
    res = gt.check(lin, x, seed=0)
    assert res.status == "pass", res
    assert [p.path for p in res.params] == ["inputs[0]", "weight", "bias"]
    assert res.label == "Linear"
    res = gt.check(lambda input, weight: input @ weight, {"input": x, "weight": x.T}, seed=0)
    assert [p.path for p in res.params] == ["input", "weight"], res
    res = gt.check(torch.cat, [x, x.T.contiguous().T], seed=0)
    assert [p.path for p in res.params] == ["inputs[0][0]", "inputs[0][1]"], res


def test_a_wrong_module_weight_gradient_is_named():
    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.linspace(0.5, 1.5, 3, dtype=torch.float64))

        def forward(self, x):
            return _Bad.apply(x, self.w)

    class _Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return g * w, (g * x).sum(0) * 1.001  # the weight's gradient is 0.1% off

    res = gt.check(Scaled(), torch.randn(4, 3, dtype=torch.float64), seed=0)
    assert res.status == "fail", res
    assert {e.path for e in res.worst if e.status == "fail"} == {"w"}, res


def test_complex_inputs_follow_pytorchs_convention_and_a_missing_conjugate_fails():
    z = torch.tensor([1 + 2j, -0.5 + 0.25j], dtype=torch.complex128)

    class NoConj(torch.autograd.Function):
        """d(z²)/dz without the conjugate: backward returns g * 2z instead of g * conj(2z)."""

        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * 2 * z

    assert gt.check(lambda z: z * z, z, seed=0).status == "pass"
    res = gt.check(NoConj.apply, z, seed=0)
    assert res.status == "fail", res
    assert any(e.path.startswith("inputs[0].") for e in res.worst if e.status == "fail")


def test_complex_outputs_are_checked_through_their_imaginary_part_too():
    class DropsImag(torch.autograd.Function):
        """exp(i x) for real x; backward forgets the imaginary part of the upstream gradient."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.polar(torch.ones_like(x), x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            y = torch.polar(torch.ones_like(x), x)
            return (g.real * (1j * y).real).to(x.dtype)

    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    assert gt.check(lambda t: torch.polar(torch.ones_like(t), t), x, seed=0).status == "pass"
    assert gt.check(DropsImag.apply, x, seed=0).status == "fail"


def test_zero_d_and_non_contiguous_inputs_keep_their_shape_and_strides():
    seen = []

    def fn(a, b):
        seen.append((tuple(a.shape), tuple(b.stride()), b.is_contiguous()))
        return a * (b @ b.T).sin()

    a = torch.tensor(0.7, dtype=torch.float64)
    b = torch.randn(8, 6, dtype=torch.float64)[:, ::2]  # strides (6, 2): non-contiguous
    for vmap in (True, False):
        seen.clear()
        res = gt.check(fn, a, b, seed=0, vmap=vmap)
        assert res.status == "pass", res
        assert seen
        assert set(seen) == {((), (6, 2), False)}, set(seen)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_wrong_backward_at_a_0d_input_is_named_by_its_own_name_and_index(mode):
    # d/da (a * sum sin(b)) off by 1e-3 relative: ~1e6 times the allowed error in float64
    class WrongScale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b.sin()

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return (g * b.sin()).sum() * 1.001, g * a * b.cos()

    a = torch.tensor(0.7, dtype=torch.float64)
    b = torch.linspace(0.2, 1.2, 4, dtype=torch.float64)
    res = gt.check(WrongScale.apply, a, b, mode=mode, seed=0)
    assert res.status == "fail", res
    assert [(p.path, p.shape) for p in res.params] == [("inputs[0]", ()), ("inputs[1]", (4,))]
    named = [(e.path, e.index) for e in res.worst if e.status == "fail"]
    assert named[0] == ("inputs[0]", ()), res


def test_wrt_reads_as_in_check_vjp_the_others_are_constants():
    x, w = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    for wrt in (1, "inputs[1]", (np.int64(1),), [1]):
        res = gt.check(lambda x, w: (x * w).sin(), x, w, wrt=wrt, seed=0)
        assert [p.path for p in res.params] == ["inputs[1]"], (wrt, res)
    with pytest.raises(InvalidTypeError, match="`wrt` must"):
        gt.check(torch.sin, x, wrt=True)
    with pytest.raises(InvalidInputError, match="`wrt` is empty"):
        gt.check(torch.sin, x, wrt=())


def test_the_users_tensors_are_never_modified_even_by_an_fn_writing_into_its_inputs():
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    keep = x.detach().clone()

    def careless(t):
        y = t.exp()
        with torch.no_grad():
            t.mul_(0)  # writes into its input: gradcheck gave it a copy
        return y

    assert gt.check(careless, x, seed=0).status == "pass"
    assert torch.equal(x.detach(), keep)
    assert x.grad is None


@pytest.mark.parametrize("mode", ["full", "fast"])
@pytest.mark.parametrize("vmap", [True, False])
def test_storage_relative_views_see_each_point_not_the_stacks_first_row(mode, vmap):
    # as_strided addresses the storage: a looped row of a stack starts k rows in, so each
    # point must be a tensor of its own (else f reads the first row: numeric 0, inconclusive)
    def fn(x):
        return torch.as_strided(x, (2, 2), (1, 2), 1).sin()

    x = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    res = gt.check(fn, x, mode=mode, seed=0, vmap=vmap)
    assert res.status == "pass", res


def test_fn_that_cannot_be_vmapped_falls_back_to_a_loop_and_says_so():
    def branchy(x):
        return x.sin() if float(x.detach().sum()) > -100 else x.cos()  # .item(): no vmap

    x = torch.randn(6, dtype=torch.float64)
    res = gt.check(branchy, x, seed=0)
    assert res.status == "pass", res
    assert "cannot be vmapped" in " ".join(res.notes), res.notes


def test_fn_that_vmaps_unfaithfully_is_caught_at_the_base_point_and_looped():
    from torch._C._functorch import is_batchedtensor

    def two_faced(x):  # a different function under vmap: its stacked values would lie
        return x.sin() * (2.0 if is_batchedtensor(x) else 1.0)

    res = gt.check(two_faced, torch.randn(6, dtype=torch.float64), seed=0)
    assert res.status == "pass", res
    assert "at the base point" in " ".join(res.notes), res.notes


def test_float32_inputs_are_differenced_in_float64_and_judged_in_float32():
    class Float32Only(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            if x.dtype != torch.float32:
                raise TypeError("float32 kernel")
            ctx.save_for_backward(x)
            return x.tanh()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (1 - x.tanh() ** 2)

    x = torch.randn(7, dtype=torch.float32)
    assert gt.check(torch.tanh, x, seed=0).status == "pass"
    res = gt.check(Float32Only.apply, x, seed=0)
    assert res.status == "pass", res


def test_a_kink_is_inconclusive_not_a_failure():
    x = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64)
    res = gt.check(torch.relu, x, seed=0)
    assert res.status == "inconclusive", res
    assert res.worst[0].index == (0,)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_zerotensor_gradient_is_zero_not_an_exception(mode):
    # sgn's backward returns torch's ZeroTensor for real inputs, which refuses .numpy()
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    res = gt.check(torch.sgn, x, mode=mode, seed=0)
    assert res.status == "inconclusive", res  # the gradient is exactly 0: vacuous
    assert "vacuous" in res.reason, res


def test_randomness_inside_fn_is_a_nondeterminism_error():
    drop = torch.nn.Dropout(0.5)
    with pytest.raises(NondeterministicError):
        gt.check(drop, torch.randn(20, dtype=torch.float64), seed=0)


class _Drifting(torch.autograd.Function):
    """sin, whose backward drifts by one part in 1e6 per call (state in the backward only);
    counts its forwards that record a graph and its backwards."""

    forwards = 0
    backwards = 0

    @staticmethod
    def forward(ctx, x):
        _Drifting.forwards += x.requires_grad  # a forward whose graph is recorded
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        _Drifting.backwards += 1
        return g * x.cos() * (1 + 1e-6 * _Drifting.backwards)


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_backward_that_changes_between_calls_is_a_nondeterminism_error(mode):
    # the base point's two backward passes share the cotangent's forward (retain_graph, as
    # torch's reentrancy check): the backward itself still runs twice and is compared
    _Drifting.forwards = _Drifting.backwards = 0
    with pytest.raises(NondeterministicError, match="analytic gradient is not deterministic"):
        gt.check(_Drifting.apply, torch.randn(4, dtype=torch.float64), mode=mode, seed=0)
    assert _Drifting.backwards == 2
    assert _Drifting.forwards == 1  # the cotangent's (differences run without a graph)


@pytest.mark.parametrize(
    ("inputs", "kw", "error", "match"),
    [
        ((torch.ones(2, dtype=torch.float16),), {}, InvalidTypeError, "float16"),
        ((torch.arange(3),), {}, InvalidInputError, "nothing to check"),
        ((torch.ones(2, dtype=torch.float64),), {"wrt": 3}, InvalidInputError, r"positions are"),
        ((torch.ones(2, dtype=torch.float64),), {"wrt": 1.5}, InvalidTypeError, "`wrt` must"),
        (
            (torch.ones(2, dtype=torch.float64), torch.arange(2)),
            {"wrt": 1},
            InvalidTypeError,
            "inputs\\[1\\].*int64",
        ),
        ((torch.tensor([1.0, float("nan")], dtype=torch.float64),), {}, InvalidInputError, "nan"),
        ((torch.ones(2, dtype=torch.float64),), {"mode": "slow"}, InvalidInputError, "mode"),
    ],
)
def test_bad_input_gets_a_typed_error(inputs, kw, error, match):
    with pytest.raises(error, match=match):
        gt.check(lambda *ts: ts[0] * 2, *inputs, **kw)


def test_outputs_of_changing_shape_and_no_float_output_are_typed_errors():
    x = torch.tensor([0.5, 0.0, 2.0], dtype=torch.float64)
    # OpInfo's `bfloat16` op raised numpy's TypeError inside the check (no bfloat16 in numpy)
    with pytest.raises(InvalidTypeError, match=r"bfloat16 output\(s\) \[0\]"):
        gt.check(lambda t: t.to(torch.bfloat16), x, seed=0)
    with pytest.raises(InvalidInputError, match="keep their shapes"):
        gt.check(lambda t: t[t > 0], x, seed=0)
    with pytest.raises(InvalidTypeError, match="no floating-point"):
        gt.check(lambda t: t.argmax(), x, seed=0)


# --- the drop-in --------------------------------------------------------------------------


def test_dropin_returns_true_raises_or_returns_false_like_torch():
    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert gt.gradcheck(torch.sin, (x,)) is True
    assert gt.gradcheck(torch.sin, x, fast_mode=True) is True
    bad = lambda t: _Sin.apply(t, 2)  # noqa: E731
    with pytest.raises(gt.GradcheckFailure) as info:
        gt.gradcheck(bad, (x,))
    from torch.autograd.gradcheck import GradcheckError

    assert isinstance(info.value, GradcheckError)
    assert isinstance(info.value, gradcheck.GradientMismatch)
    assert "inputs[0][2]" in str(info.value)
    assert gt.gradcheck(bad, (x,), raise_exception=False) is False


def test_dropin_checks_the_inputs_that_require_grad():
    x = torch.randn(4, dtype=torch.float64, requires_grad=True)
    c = torch.randn(4, dtype=torch.float64)  # a constant: a wrong gradient for it is not seen

    class WrongForC(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, c):
            ctx.save_for_backward(x, c)
            return x * c

        @staticmethod
        def backward(ctx, g):
            x, c = ctx.saved_tensors
            return g * c, g * x * 3

    assert gt.gradcheck(WrongForC.apply, (x, c)) is True
    with pytest.raises(gt.GradcheckFailure):
        gt.gradcheck(WrongForC.apply, (x, c.requires_grad_()))
    with pytest.raises(InvalidInputError, match="requires grad"):
        gt.gradcheck(torch.sin, (x.detach(),))


def test_dropin_refuses_what_it_does_not_check_and_is_inconclusive_at_a_kink():
    x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    for flag in ("check_forward_ad", "check_batched_grad", "check_batched_forward_grad"):
        with pytest.raises(InvalidInputError, match=flag):
            gt.gradcheck(torch.sin, (x,), **{flag: True})
    with pytest.raises(gt.GradcheckInconclusive, match="INCONCLUSIVE"):
        gt.gradcheck(torch.relu, (x,))
    assert gt.gradcheck(torch.relu, (x,), raise_exception=False) is False


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_inputs_are_checked_on_their_device():
    seen = set()

    def fn(x):
        seen.add(x.device.type)
        return x.sin()

    x = torch.randn(5, 3, dtype=torch.float64, device="cuda")[:, ::2]
    assert gt.check(fn, x, seed=0).status == "pass"
    assert seen == {"cuda"}
    with pytest.raises(gt.GradcheckFailure):
        gt.gradcheck(lambda t: _Sin.apply(t, 1), (x.clone().requires_grad_(),))


def test_outputs_autograd_declares_non_differentiable_are_left_out_and_named():
    x = torch.randn(2, 3, dtype=torch.float64)
    res = gt.check(lambda t: torch.native_layer_norm(t, [3], None, None, 1e-5), x, seed=0)
    assert res.status == "pass", res  # mean and rstd: computed, but declared non-differentiable
    assert "output(s) [1, 2] do not require grad" in " ".join(res.notes), res.notes
    with pytest.raises(InvalidTypeError, match="no output of fn requires grad"):
        gt.check(lambda t: t.detach() * 2, x, seed=0)


def test_fn_that_needs_the_users_storage_gets_a_typed_error():
    base = torch.arange(12, dtype=torch.float64)
    view = base[2:6]  # as_strided below reads past the view, into base's storage
    with pytest.raises(InvalidInputError, match="fresh copies of its inputs"):
        gt.check(lambda t: t.as_strided((2, 2), (1, 2), 10), view, seed=0)


class _ScaleAndSum(torch.autograd.Function):
    """(2 x, sum x); with ``drops``, the backward forgets the sum's term whenever the first
    output's gradient is undefined (None), the way native_group_norm's backward drops mean's."""

    drops = False

    @staticmethod
    def forward(x):
        return 2 * x, x.sum()

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.set_materialize_grads(False)
        ctx.shape = inputs[0].shape

    @staticmethod
    def backward(ctx, g0, g1):
        out = torch.zeros(ctx.shape, dtype=torch.float64)
        if g0 is not None:
            out = out + 2 * g0
        if g1 is not None and not (_ScaleAndSum.drops and g0 is None):
            out = out + g1
        return out


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_a_backward_wrong_only_when_another_outputs_gradient_is_none_fails(mode):
    # the weighted sum of both outputs is right (finite differences agree); the per-output
    # check calls each output's backward alone, and its sum differs by the cotangent of the
    # sum, |v_1| ~ 1 >> the bound 32 eps (|a| + G/s) ~ 1e-14: deterministic (seed 0)
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    _ScaleAndSum.drops = False
    ok = gt.check(_ScaleAndSum.apply, x, mode=mode, seed=0)
    assert ok.status == "pass", ok
    _ScaleAndSum.drops = True
    try:
        res = gt.check(_ScaleAndSum.apply, x, mode=mode, seed=0)
    finally:
        _ScaleAndSum.drops = False
    assert res.status == "fail", res
    assert res.worst[0].path == "inputs[0]", res
    assert "output 1: 0" in res.worst[0].note, res
    assert "does not add up" in res.reason, res
