r"""Part III (从Batch Normalization到Group Normalization): BN, LN, IN, GN as one kernel.

Equation IDs (``formula-inventory.md`` §3): NORM-1 … NORM-13; errata ERR-20 … ERR-28;
figures FIG-8 (`reduction_set`, `group_ids`), PLOT-C (`plot_c_data`), PLOT-D
(`plot_d_data`, from `bn_deep_gradient_norms`), PLOT-F (`plot_f_data`, from
`jacobian_eigenvalues` and `standardize_jacobian`).

The kernel
----------
For a group S of m values (NORM-1, the article's ``x_i'=\frac{x_i-\mu}{\sqrt{\sigma^{2}+
\varepsilon}}`` and ``y_i = \gamma x_i'+\beta``):

.. math::  \mu=\tfrac1m\sum_{k\in S}x_k,\quad \sigma^2=\tfrac1m\sum_{k\in S}(x_k-\mu)^2,\quad
           s=\sqrt{\sigma^2+\varepsilon},\quad \hat x_i=(x_i-\mu)/s,\quad
           y_i=\gamma_c\hat x_i+\beta_c .

σ² is the **biased variance**, not the standard deviation the article names (ERR-22). The
article's :math:`x_i'` is our ``xhat``. `standardize_forward`/`standardize_backward` are the
kernel; `normalize_forward`/`normalize_backward` add the per-channel affine and choose S.

Reduction sets (NORM-4, the article's "归一化维度"), for ``x`` of shape (N, C, H, W):

======  =========================  ==================  ============
method  article                    axes of the view    m
======  =========================  ==================  ============
BN      ``[N,H,W]``                (0, 2, 3)           N·H·W
LN      ``[C,H,W]``                (1, 2, 3)           C·H·W
IN      ``[H,W]``                  (2, 3)              H·W
GN      ``[C//G , H, W]``          view (N, G, C/G, H, W), axes (2, 3, 4)   (C/G)·H·W
======  =========================  ==================  ============

GN's groups are **contiguous** blocks of C/G channels and need G | C; the article's C//G is
channels per group, not the number of groups (ERR-27). For (N, D) inputs BN normalises each
feature over the batch (axis 0, m = N) and LN each sample over its features (axis 1, m = D).
The affine γ, β is **per channel** ((C,) for 4-D, (D,) for 2-D) for all four methods (Wu &
He 2018, eq. 4); the original LN (Ba et al. 2016) has a per-element gain, which for 2-D
inputs is the same thing.

Orientation: ``u @ W`` with ``W`` (d_in, d_out) (CS231n); the article's and I&S's column-vector
``Wu`` is our ``u @ W`` with their W the transpose of ours (NORM-10).

Running statistics are **state**; the functions here never mutate anything: training-mode BN
(`batchnorm_train_forward`) returns the new running mean and variance as outputs (and has a
backward for them), so a gradient checker that calls it many times sees a pure function.

Modules
-------
`layers` holds the layers, their backwards and the registry records (``SPECS``);
`statistics` the experiments on batch statistics and deep BN networks, and the plot data.
Every public name of both is re-exported here.

References
----------
.. [A] 《漫谈LSTM系列的梯度问题》, NLP Weekly (Zhihu), 2018, Part III.
.. [1] S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by
   Reducing Internal Covariate Shift", ICML 2015, arXiv:1502.03167 (Algorithms 1-2, §3, §3.2,
   §3.3).
.. [2] Y. Wu, K. He, "Group Normalization", ECCV 2018, arXiv:1803.08494 (eqs. 1-4, 7; Fig. 2).
.. [3] J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
.. [4] D. Ulyanov, A. Vedaldi, V. Lempitsky, "Instance Normalization", arXiv:1607.08022, 2016.
.. [5] G. Yang, J. Pennington, V. Rao, J. Sohl-Dickstein, S. S. Schoenholz, "A Mean Field
   Theory of Batch Normalization", ICLR 2019, arXiv:1902.08129.
.. [6] P. A. Samuelson, "How deviant can you be?", JASA 63(324), 1968.
"""

from lstm_gradients.specs.normalization.layers import (
    METHODS,
    SPECS,
    BNInferCache,
    BNLinearCache,
    BNTrainCache,
    NormCache,
    StandardizeCache,
    batchnorm_backward,
    batchnorm_forward,
    batchnorm_infer_backward,
    batchnorm_infer_forward,
    batchnorm_train_backward,
    batchnorm_train_forward,
    bn_linear_backward,
    bn_linear_forward,
    bn_restoring_affine,
    group_ids,
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    jacobian_eigenvalues,
    layernorm_backward,
    layernorm_forward,
    normalize_backward,
    normalize_backward_staged,
    normalize_forward,
    normalize_loop,
    reduction_set,
    reduction_size,
    samuelson_bound,
    standardize_backward,
    standardize_forward,
    standardize_jacobian,
    standardize_std_literal,
    well_conditioned,
)
from lstm_gradients.specs.normalization.statistics import (
    BatchStatistics,
    BNDeepNet,
    batch_statistics_monte_carlo,
    batch_statistics_theory,
    bn_deep_forward,
    bn_deep_gradient_norms,
    bn_deep_gradients,
    bn_deep_net,
    per_sample_xhat_std,
    plot_c_data,
    plot_d_data,
    plot_f_data,
)

__all__ = [
    "METHODS",
    "SPECS",
    "BNDeepNet",
    "BNInferCache",
    "BNLinearCache",
    "BNTrainCache",
    "BatchStatistics",
    "NormCache",
    "StandardizeCache",
    "batch_statistics_monte_carlo",
    "batch_statistics_theory",
    "batchnorm_backward",
    "batchnorm_forward",
    "batchnorm_infer_backward",
    "batchnorm_infer_forward",
    "batchnorm_train_backward",
    "batchnorm_train_forward",
    "bn_deep_forward",
    "bn_deep_gradient_norms",
    "bn_deep_gradients",
    "bn_deep_net",
    "bn_linear_backward",
    "bn_linear_forward",
    "bn_restoring_affine",
    "group_ids",
    "groupnorm_backward",
    "groupnorm_forward",
    "instancenorm_backward",
    "instancenorm_forward",
    "jacobian_eigenvalues",
    "layernorm_backward",
    "layernorm_forward",
    "normalize_backward",
    "normalize_backward_staged",
    "normalize_forward",
    "normalize_loop",
    "per_sample_xhat_std",
    "plot_c_data",
    "plot_d_data",
    "plot_f_data",
    "reduction_set",
    "reduction_size",
    "samuelson_bound",
    "standardize_backward",
    "standardize_forward",
    "standardize_jacobian",
    "standardize_std_literal",
    "well_conditioned",
]
