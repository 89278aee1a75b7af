"""The schematic figures FIG-1, FIG-3, FIG-6, FIG-7, drawn from dependency graphs probed from the
specs' forward functions (never typed by hand).

Three modules, each importing only the ones before it: `probe` (the engine: exact change
detection, direct edges, carriers, `Graph`), `models` (one model per figure around a spec
forward) and `draw` (matplotlib drawing and captions).
"""

from lstm_gradients.figures.schematics.draw import (
    draw_fig1,
    draw_fig3,
    draw_fig6,
    draw_fig7,
    drawn_edges,
)
from lstm_gradients.figures.schematics.models import (
    GRU_LAYERS,
    LSTM_LAYERS,
    fig1_data,
    fig3_data,
    fig6_data,
    fig7_data,
)
from lstm_gradients.figures.schematics.probe import (
    SATURATE,
    TAU,
    Graph,
    ProbeAmbiguous,
    carriers,
    changed_nodes,
    direct_edges,
    probe,
)

__all__ = [
    "GRU_LAYERS",
    "LSTM_LAYERS",
    "SATURATE",
    "TAU",
    "Graph",
    "ProbeAmbiguous",
    "carriers",
    "changed_nodes",
    "direct_edges",
    "draw_fig1",
    "draw_fig3",
    "draw_fig6",
    "draw_fig7",
    "drawn_edges",
    "fig1_data",
    "fig3_data",
    "fig6_data",
    "fig7_data",
    "probe",
]
