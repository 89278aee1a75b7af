"""Functions that return a gradient-derived quantity (norms, profiles, plot data), each checked
against finite differences on a small instance (issue 12.3: "no formula the suite cannot see").

The rest of this family is checked where it lives, against an FD-checked function: the PLOT-A
curves (`rnn`/`lstm`/`gru.jacobian_norms_by_lag`) against `state_jacobian`, FIG-4's
`per_lag_contributions` against the untied copies' gradients, PLOT-B's `delta_profile` against
`deep_backward`, PLOT-F against `standardize_jacobian`. The deep BN network of NORM-13 / PLOT-D
had no such check (its tests compare growth rates and orderings only; back-propagating through
W instead of Wᵀ moved its norms by up to 24× and passed): here each of its per-layer gradients
is an FD-checked vector-Jacobian product, and the norms and PLOT-D's arrays are theirs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given

import gradcheck
from lstm_gradients.proofs.kit import SEEDS, assert_pass
from lstm_gradients.specs.normalization import (
    BNDeepNet,
    bn_deep_forward,
    bn_deep_gradient_norms,
    bn_deep_gradients,
    bn_deep_net,
    plot_d_data,
)

ACTIVATIONS = ("relu", "tanh", "linear")
L, WIDTH, BATCH = 3, 3, 6  # small: a full FD check of every layer costs ~150 forward passes


def _layer_inputs(net: BNDeepNet) -> list[np.ndarray]:
    """h_0 … h_{L−1}: the input of every layer."""
    return [bn_deep_forward(net._replace(Ws=net.Ws[:k]), net.h0)[0] for k in range(len(net.Ws))]


def _away_from_kinks(net: BNDeepNet) -> bool:
    """ReLU: every BN output |z| >= 1e-3, far outside an FD step (~1e-5 relative), so no unit
    crosses its kink while the checker differentiates (the other activations are smooth)."""
    _, tape = bn_deep_forward(net, net.h0)
    return net.activation != "relu" or all(np.abs(z).min() >= 1e-3 for _, _, z in tape)


def _may_vanish(act: str, k: int) -> tuple[str, ...]:
    """ReLU only, below the last layer: when a ReLU layer leaves one live row (each feature
    positive in one sample only; seen at batch 4), the next BN standardises columns c·e_i,
    which does not depend on c: the gradient to every earlier layer is 0 up to the ε term
    (‖∇h_0‖ = 1.3e-9 measured), and the checker rightly calls it vacuous."""
    return (f"h_{k}",) if act == "relu" and k < L - 1 else ()


@pytest.mark.proves("NORM-13", "PLOT-D")
@pytest.mark.parametrize("act", ACTIVATIONS)
@given(seed=SEEDS)
def test_each_layer_gradient_of_the_deep_bn_net_is_its_vjp(act: str, seed: int) -> None:
    """∇_{h_l}⟨g, h_L⟩ from `bn_deep_gradients` is the gradient of the network from layer l on,
    for every l (check_vjp: FD with a random cotangent), and `bn_deep_gradient_norms` returns
    exactly their norms (same draws, same operations)."""
    net = bn_deep_net(L, WIDTH, BATCH, act, np.random.default_rng(seed))
    assume(_away_from_kinks(net))
    for k, h in enumerate(_layer_inputs(net)):

        def forward(h: np.ndarray, k: int = k) -> tuple[np.ndarray, Any]:
            return bn_deep_forward(net, h, start=k)

        def backward(g: np.ndarray, tape: Any) -> tuple[np.ndarray]:
            return (bn_deep_gradients(net, g, tape)[0],)

        res = gradcheck.check_vjp(forward, backward, (h,), seed=seed, names=(f"h_{k}",))
        assert_pass(res, may_vanish=_may_vanish(act, k))
    _, tape = bn_deep_forward(net, net.h0)
    grads = bn_deep_gradients(net, net.g, tape)
    norms = bn_deep_gradient_norms(L, WIDTH, BATCH, act, np.random.default_rng(seed))
    assert np.array_equal(norms, [np.linalg.norm(g) for g in grads])


@pytest.mark.proves("PLOT-D")
@given(seed=SEEDS)
def test_plot_d_arrays_are_the_log_norms_of_those_gradients(seed: int) -> None:
    """PLOT-D's arrays are log‖∇_{h_l}‖ of the FD-checked gradients above, one network per
    activation drawn in turn from one generator, bit for bit."""
    d = plot_d_data(L=L, width=WIDTH, batch=BATCH, seed=seed)
    rng = np.random.default_rng(seed)
    for act in ACTIVATIONS:
        net = bn_deep_net(L, WIDTH, BATCH, act, rng)
        grads = bn_deep_gradients(net, net.g, bn_deep_forward(net, net.h0)[1])
        assert np.array_equal(d[act], np.log([np.linalg.norm(g) for g in grads]))


def _through_W_not_W_transposed(net: BNDeepNet, g: np.ndarray, tape: Any) -> list[np.ndarray]:
    """The survivor of the mutation campaign: back through W_l instead of W_lᵀ."""
    from lstm_gradients.specs.normalization.layers import normalize_backward

    dphi = {"tanh": lambda z: 1 - np.tanh(z) ** 2}[net.activation]
    for W, cache, z in reversed(tape):
        g = normalize_backward(g * dphi(z), cache)[0] @ W
    return [g]


def test_the_check_fails_when_the_net_back_propagates_through_W() -> None:
    """Negative control: the W-for-Wᵀ backward fails the VJP check at the first draw (power: a
    random square W is not symmetric, so the two products differ by O(1) of the gradient)."""
    net = bn_deep_net(L, WIDTH, BATCH, "tanh", np.random.default_rng(0))
    res = gradcheck.check_vjp(
        lambda h: bn_deep_forward(net, h),
        lambda g, tape: (_through_W_not_W_transposed(net, g, tape)[0],),
        (net.h0,),
        seed=0,
    )
    assert res.status == "fail", str(res)


def test_the_deep_bn_nets_weights_have_variance_one_over_the_width() -> None:
    """NORM-13's initialisation W_l ~ N(0, 1/n) (the campaign's survivor W·√n passed: BN makes
    the gradients almost blind to the scale of W). 10 layers of width 100: the mean of W² over
    10⁵ entries has relative standard error √(2/10⁵) = 0.45 %; a band of ±3 % is 6.7 SE wide
    (false failure < 3e-11 per run; the draws are fixed, so it is deterministic), and W·√n
    (variance n = 100× too large) or W/n is far outside it (power 1)."""
    net = bn_deep_net(10, 100, 4, "linear", np.random.default_rng(0))
    second_moment = float(np.mean(np.stack(net.Ws) ** 2))
    assert abs(second_moment * 100 - 1.0) <= 0.03, second_moment
