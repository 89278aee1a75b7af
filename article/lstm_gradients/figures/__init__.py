"""The article's figures: ``FIGURES`` (ID -> drawer), the hook the proof report draws from."""

from lstm_gradients.figures.plots import (
    FIGURES,
    FigureUnavailable,
    draw_figures,
    fig4_data,
    plot_a_rnn_data,
    spec,
)

__all__ = ["FIGURES", "FigureUnavailable", "draw_figures", "fig4_data", "plot_a_rnn_data", "spec"]
