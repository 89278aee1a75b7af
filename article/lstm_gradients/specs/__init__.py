"""Executable specs of the article 《漫谈LSTM系列的梯度问题》, one module per family.

Conventions (``../shared/docs/spec-conventions.md``):

* **Batch-first rows, CS231n weight orientation.** A batch of inputs is ``x`` of shape
  ``(N, D)``; a linear map is ``x @ W`` with ``W`` of shape ``(D_in, D_out)``. The article
  writes column vectors (``W_x x_t``); its ``W_x`` is the transpose of ours. Every spec
  docstring gives both forms where the article uses the column form.
* The LSTM packs its four blocks in the order ``i, f, o, g`` (CS231n).
* ``*_forward(*args) -> (out, cache)``; ``*_backward(dout, cache) -> (one gradient per arg)``.
  A cache of several values is a `typing.NamedTuple` (``LSTMStepCache``, ``NormCache``, ...):
  it still unpacks, and its fields are read by name (``cache.f``), never by position.
* Gradients are named ``d`` + the argument (``dW_x``, ``ds_prev``).
* Each module exports ``SPECS``, a tuple of `Spec` records; ``ALL_SPECS`` is the registry and
  `spec` looks a record up by its name (``spec("lstm.step")``).
"""

from __future__ import annotations

from lstm_gradients.specs import activations, clipping, gru, lstm, mlp, normalization, rnn
from lstm_gradients.specs._spec import Layout, Spec

ALL_SPECS: tuple[Spec, ...] = (
    *activations.SPECS,
    *mlp.SPECS,
    *clipping.SPECS,
    *rnn.SPECS,
    *lstm.SPECS,
    *gru.SPECS,
    *normalization.SPECS,
)

_BY_NAME: dict[str, Spec] = {record.name: record for record in ALL_SPECS}


def spec(name: str) -> Spec:
    """The registry record called ``name`` (``"lstm.step"``, ``"gru.sequence[cho,reset_after]"``).

    Raises KeyError naming the records there are, for an unknown name."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"no spec record named {name!r}; the registry has: {', '.join(_BY_NAME)}"
        ) from None


__all__ = ["ALL_SPECS", "Layout", "Spec", "spec"]
