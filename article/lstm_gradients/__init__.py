"""The executable proof of 《漫谈LSTM系列的梯度问题》 ("On the gradient problems of the LSTM
family").

One installable package, beside the general library `gradcheck`:

* `lstm_gradients.specs`: the article's formulas as forward/backward pairs, one module per
  family, and the registry ``specs.ALL_SPECS``;
* ``catalogue.json`` (`CATALOGUE`): the 101 IDs (MLP-1 … NORM-13, ERR-1 … ERR-28, FIG-n,
  PLOT-x) with the article's words;
* `lstm_gradients.figures`: the figure drawers (``plots``, and the probed ``schematics``),
  plugged into the report through ``FIGURES``;
* ``proofs/`` (`PROOFS`): the Hypothesis property tests that name the IDs they prove, their kit
  (``proofs/kit.py``), one test over every registry record (``proofs/test_registry.py``) and
  their pytest configuration ``proofs/proof.ini``.

Installed, it is found by ``gradcheck prove`` through the entry point ``lstm-gradients =
lstm_gradients:PROOF`` (group ``gradcheck.proofs``): with lstm-gradients installed,
``gradcheck prove`` in any directory re-runs the whole proof.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CATALOGUE", "PROOF", "PROOFS", "article_path"]

#: the catalogue of the article's IDs.
CATALOGUE = Path(__file__).with_name("catalogue.json")
#: the proof tests (a directory pytest runs).
PROOFS = Path(__file__).with_name("proofs")
#: what ``gradcheck prove`` runs when this package is installed (see gradcheck._target).
PROOF = {
    "tests": PROOFS,
    "catalogue": CATALOGUE,
    "figures": "lstm_gradients.figures:FIGURES",
    "config": PROOFS / "proof.ini",
}


def article_path() -> Path | None:
    """A copy of the article's text, when one is at hand: ``$GRADCHECK_ARTICLE``, or
    ``../shared/article/lstm-gradients.zh.txt`` beside the repository (a checkout only)."""
    import os

    repo = Path(__file__).resolve().parents[2]
    for c in (
        os.environ.get("GRADCHECK_ARTICLE", ""),
        repo.parent / "shared" / "article" / "lstm-gradients.zh.txt",
    ):
        if c and Path(c).is_file():
            return Path(c)
    return None
