r"""A "checker zoo": random functions with exact gradients, to test a gradient checker.

`checker_zoo` (exported by `gradcheck.strategies`) draws a `ZooCase`: a scalar function of a
parameter tree (0-d to 4-d leaves, nested in dicts, lists and tuples), its exact gradient,
and the entries whose stencil may meet a kink or a pole by construction. Each leaf has one
elementwise primitive of :math:`z = (x - o)/s` (its scale :math:`s`, an offset :math:`o`):

* smooth: ``sin``, ``tanh``, softplus, a Gaussian bump, ``log1p(z²)``, ``z³/3``;
* saturation: ``expit(z ± 30)`` (gradients ~1e-13, the float formula's own rounding);
* a huge offset: :math:`o = 10^6 s`;
* a kink: ``relu(z - c)`` with some entries exactly at the kink and some within 1e-9 of it;
* a pole: ``1 / (z - c)`` with some entries within 1e-6 of the pole (not crossing it);

optionally computed in float32 inside a float64 f from :math:`z` on (every term, the sums and
the coupling: f's values lie on float32's grid), or with float32 parameters; all leaves are
coupled by a smooth term :math:`\kappa (\sum_i v_i z_i)^2 / 2n`, and f is scaled by
:math:`m \in \{10^{-3}, 1, 10^3\}`. A case plants an error in one gradient entry
(`ZooCase.planted`) or adds a *poisoned* coordinate (`ZooCase.poisoned`): a leaf of its own
whose value term is exactly 0 at the base point (so the other entries' evaluations are bit for
bit those of the clean f) and whose stencil meets a kink, a jump, an isolated value, a pole or
the edge of the domain at any step.

>>> from hypothesis import given
>>> from gradcheck.strategies import checker_zoo
>>> @given(case=checker_zoo())
... def test_no_false_alarm(case):
...     assert gradcheck.check_grad(case.f, case.grad, case.params).status != "fail"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

from gradcheck._tree import Leaf, unflatten, walk

FloatArray = NDArray[np.float64]
Elementwise = Callable[[NDArray[Any]], NDArray[Any]]
Entry = tuple[str, tuple[int, ...]]


def flatten(tree: object) -> list[Leaf]:
    """The leaves of ``tree`` (paths as the checkers name them: ``params...``), in order."""
    out: list[Leaf] = []
    walk(tree, "params", lambda path, a: out.append(Leaf(path, np.asarray(a))))
    return out


def expit(t: FloatArray) -> FloatArray:
    """The logistic function 1 / (1 + e^-t), accurate to a few ulps of its own value in the
    array's dtype (e^t / (1 + e^t) for t < 0, where 1 + tanh(t/2) would cancel)."""
    t = np.asarray(t)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(t))
        return np.asarray(np.where(t >= 0, 1 / (1 + e), e / (1 + e)))


def _dexpit(t: FloatArray) -> FloatArray:
    """expit'(t) = 1 / (4 cosh²(t/2)): accurate where expit(t)(1 - expit(t)) cancels."""
    with np.errstate(over="ignore"):
        return np.asarray(0.25 / np.cosh(np.asarray(t) / 2) ** 2, dtype=np.float64)


#: (name, g, g') of the smooth primitives.
SMOOTH: tuple[tuple[str, Elementwise, Elementwise], ...] = (
    ("sin", np.sin, np.cos),
    ("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    ("softplus", lambda z: np.logaddexp(0, z), expit),
    ("gauss", lambda z: np.exp(-(z**2) / 2), lambda z: -z * np.exp(-(z**2) / 2)),
    ("log1p_sq", lambda z: np.log1p(z**2), lambda z: 2 * z / (1 + z**2)),
    ("cube", lambda z: z**3 / 3, lambda z: z**2),
)
KINDS = ("smooth", "saturated", "offset", "kink", "pole")
POISONS = ("kink", "jump", "isolated", "pole", "edge")


@dataclass(frozen=True)
class _Leaf:
    """One leaf's primitive: the term ``w * g((x - o) / s)`` summed, and its derivative."""

    kind: str
    name: str
    g: Elementwise
    dg: Elementwise
    w: FloatArray
    s: float
    o: float
    c: FloatArray  # the kink or pole positions (in z), else 0
    v: FloatArray  # coupling weights
    x: FloatArray  # the base point (float64)
    rough: tuple[int, ...]  # flat indices whose stencil may meet the kink or pole

    def z(self, x: FloatArray) -> FloatArray:
        return np.asarray((x - self.o) / self.s, dtype=np.float64)

    def value(self, x: FloatArray, f32: bool) -> Any:
        """The leaf's term; in float32 from ``z`` on when ``f32`` (a float32 scalar)."""
        z = self.z(np.asarray(x, dtype=np.float64))
        if f32:
            t = z.astype(np.float32) - self.c.astype(np.float32)
            return np.sum(self.w.astype(np.float32) * self.g(t).astype(np.float32))
        return float(np.sum(self.w * self.g(z - self.c)))

    def derivative(self, x: FloatArray) -> FloatArray:
        z = self.z(np.asarray(x, dtype=np.float64))
        return np.asarray(self.w * self.dg(z - self.c) / self.s, dtype=np.float64)


@dataclass(frozen=True)
class ZooCase:
    """A function of a parameter tree with its exact gradient (see the module docstring).

    ``rough`` lists the entries (path, index) whose stencil may meet a kink or a pole by
    construction: there a checker may rightly be inconclusive. ``poison`` names the poisoned
    entry and its kind once `poisoned` added one.
    """

    f: Callable[[Any], float]
    grad: Callable[[Any], Any]
    params: Any
    description: str
    rough: frozenset[Entry]
    poison: tuple[Entry, str] | None = None

    def entries(self) -> list[Entry]:
        """Every entry (path, index) in the checker's order."""
        return [
            (leaf.path, tuple(int(i) for i in np.unravel_index(k, np.shape(leaf.array))))
            for leaf in flatten(self.params)
            for k in range(int(np.size(leaf.array)))
        ]

    def planted(self, entry: Entry, delta: float) -> Callable[[Any], Any]:
        """``grad`` with the gradient entry ``entry`` moved by ``delta``."""
        path, index = entry

        def wrong(params: Any) -> Any:
            leaves = flatten(self.grad(params))
            out = []
            for leaf in leaves:
                a = np.array(leaf.array, copy=True)
                if leaf.path == path:
                    a[index] = a[index] + np.asarray(delta, dtype=a.dtype)
                out.append(a)
            return unflatten(self.params, out)

        return wrong

    def poisoned(self, kind: str, weight: float = 1.0) -> ZooCase:
        """This case with one more leaf, ``params['poison']`` (a 0-d array; the clean tree
        becomes ``params['clean']``), whose term is exactly 0 at the base point and whose
        stencil meets ``kind`` (one of `POISONS`) at every step; its gradient entry is a
        subgradient (kink), 0 (jump, isolated value) or the true derivative (pole, edge)."""
        q = 1.5
        p0 = q * (1 + 2.0**-50) if kind in ("pole", "edge") else q
        d = p0 - q

        def term(p: FloatArray) -> float:
            with np.errstate(all="ignore"):
                if kind == "kink":
                    return float(weight * abs(p - q))
                if kind == "jump":
                    return float(weight * (p > q))
                if kind == "isolated":
                    return float(weight * (p != q))
                if kind == "pole":
                    return float(weight / (p - q) - weight / d)
                return float(weight * (np.sqrt(p - q) - np.sqrt(d)))

        slope = {"pole": -weight / d**2, "edge": weight / (2 * np.sqrt(d))}[kind] if d else 0.0
        clean = self

        def f(params: Any) -> float:
            return clean.f(params["clean"]) + term(np.asarray(params["poison"]))

        def grad(params: Any) -> Any:
            g = np.asarray(slope, dtype=np.asarray(params["poison"]).dtype)
            return {"clean": clean.grad(params["clean"]), "poison": g}

        params = {"clean": self.params, "poison": np.array(p0)}
        renamed = frozenset(
            ("params['clean']" + path.removeprefix("params"), i) for path, i in self.rough
        )
        return replace(
            self,
            f=f,
            grad=grad,
            params=params,
            description=f"{self.description} + poison {kind}",
            rough=renamed,
            poison=(("params['poison']", ()), kind),
        )


def _shape(draw: st.DrawFn) -> tuple[int, ...]:
    ndim = draw(st.integers(0, 4), label="ndim")
    dims = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim), label="dims")
    return tuple(dims)


def _leaf(draw: st.DrawFn, rng: np.random.Generator, kinds: tuple[str, ...]) -> _Leaf:
    shape = _shape(draw)
    kind = draw(st.sampled_from(kinds), label="kind")
    s = float(10.0 ** draw(st.integers(-3, 3), label="log10 scale"))
    z = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)
    o = 1e6 * s if kind == "offset" else 0.0
    x = np.asarray(o + s * z, dtype=np.float64)
    w = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    v = rng.standard_normal(shape)
    c = np.zeros(shape)
    rough: tuple[int, ...] = ()
    name, g, dg = SMOOTH[int(rng.integers(len(SMOOTH)))]
    if kind == "saturated":
        b = float(rng.choice([-30.0, 30.0]))
        name, g, dg = (f"expit(z{b:+g})", lambda t: expit(t + b), lambda t: _dexpit(t + b))
    elif kind in ("kink", "pole"):
        # some entries exactly at the kink (or 1e-6 from the pole), some 1e-9 (1e-3) away,
        # the rest far: c = z - gap, so that z - c = gap
        choices = [0.0, 1e-9, -1e-9, 1.0] if kind == "kink" else [1e-6, -1e-6, 1e-3, 1.0]
        gap = rng.choice(choices, shape) * np.where(rng.random(shape) < 0.5, 1.0, -1.0)
        if kind == "pole":
            gap = np.where(gap == 0, 1.0, gap)
        c = z - gap
        x = np.asarray(s * z, dtype=np.float64)
        rough = tuple(int(i) for i in np.flatnonzero(np.abs(gap) < 1e-5))
        if kind == "kink":
            name, g, dg = "relu", lambda t: np.maximum(t, 0.0), lambda t: (t > 0).astype(float)
        else:
            name, g, dg = "1/z", lambda t: 1 / t, lambda t: -1 / t**2
    return _Leaf(kind, name, g, dg, w, s, o, c, v, x, rough)


def _tree(draw: st.DrawFn, arrays: list[NDArray[Any]]) -> Any:
    """``arrays`` nested at random in dicts, lists and tuples (a bare array when one)."""
    if len(arrays) == 1 and draw(st.booleans(), label="bare array"):
        return arrays[0]
    nodes: list[Any] = list(arrays)
    while len(nodes) > 1 or not isinstance(nodes[0], dict | list | tuple):
        k = draw(st.integers(1, len(nodes)), label="group")
        group, nodes = nodes[:k], nodes[k:]
        box = draw(st.sampled_from(["dict", "list", "tuple"]), label="container")
        node: Any = (
            {f"k{i}": n for i, n in enumerate(group)}
            if box == "dict"
            else (list(group) if box == "list" else tuple(group))
        )
        nodes = [node, *nodes]
    return nodes[0]


@st.composite
def checker_zoo(
    draw: st.DrawFn,
    *,
    rough: bool = True,
    float32: bool = True,
    max_leaves: int = 3,
) -> ZooCase:
    """Strategy of `ZooCase` (see the module docstring).

    ``rough=False`` draws smooth primitives only (no kinks or poles near the point);
    ``float32=False`` keeps every case in float64 (parameters and inside f).
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    f32_inside = float32 and draw(st.booleans(), label="float32 inside f")
    kinds: tuple[str, ...] = KINDS if rough else ("smooth", "saturated", "offset")
    if f32_inside:  # a pole 1e-6 away is not resolved in float32: no poles there
        kinds = tuple(k for k in kinds if k != "pole")
    leaves = [_leaf(draw, rng, kinds) for _ in range(draw(st.integers(1, max_leaves)))]
    dtype = np.float32 if float32 and draw(st.booleans(), label="float32 params") else np.float64
    m = float(10.0 ** draw(st.sampled_from([-3, 0, 3]), label="log10 output scale"))
    kappa = draw(st.sampled_from([0.0, 0.5]), label="coupling")
    n = sum(leaf.x.size for leaf in leaves)
    base = [leaf.x.astype(dtype) for leaf in leaves]
    # float32 parameters: the primitives see the rounded point
    leaves = [replace(leaf, x=b.astype(np.float64)) for leaf, b in zip(leaves, base, strict=True)]
    template = _tree(draw, base)

    def coupled(xs: list[FloatArray]) -> float:
        return sum(float(np.sum(lf.v * lf.z(x))) for lf, x in zip(leaves, xs, strict=True))

    def f(params: Any) -> float:
        xs = [np.asarray(leaf.array, dtype=np.float64) for leaf in flatten(params)]
        with np.errstate(all="ignore"):
            terms = [lf.value(x, f32_inside) for lf, x in zip(leaves, xs, strict=True)]
            if f32_inside:  # everything after z in float32, the sums and the coupling too
                u = np.sum(
                    [
                        np.sum((lf.v * lf.z(x)).astype(np.float32))
                        for lf, x in zip(leaves, xs, strict=True)
                    ],
                    dtype=np.float32,
                )
                total = np.sum(np.array(terms, dtype=np.float32), dtype=np.float32)
                k = np.float32(kappa / (2 * n))
                return float(np.float32(m) * (total + k * u * u))
            return float(m * (sum(terms) + kappa * coupled(xs) ** 2 / (2 * n)))

    def grad(params: Any) -> Any:
        arrays = [np.asarray(leaf.array) for leaf in flatten(params)]
        xs = [a.astype(np.float64) for a in arrays]
        u = coupled(xs)
        out = [
            np.array(m * (lf.derivative(x) + kappa * u * lf.v / (lf.s * n)), dtype=a.dtype)
            for lf, x, a in zip(leaves, xs, arrays, strict=True)
        ]
        return unflatten(template, out)

    paths = [leaf.path for leaf in flatten(template)]
    rough_entries = frozenset(
        (path, tuple(int(i) for i in np.unravel_index(k, lf.x.shape)))
        for path, lf in zip(paths, leaves, strict=True)
        for k in lf.rough
    )
    parts = ", ".join(f"{lf.kind}:{lf.name}{list(lf.x.shape)}@{lf.s:g}" for lf in leaves)
    description = (
        f"m={m:g} kappa={kappa:g} {np.dtype(dtype).name}"
        f"{' f32-inside' if f32_inside else ''}: {parts}"
    )
    return ZooCase(f, grad, template, description, rough_entries)
