"""The schematic figures FIG-1, FIG-3, FIG-6, FIG-7, probed from the specs' forwards."""

from lstm_gradients.figures.schematics.models import *  # noqa: F403
from lstm_gradients.figures.schematics.models import SATURATE, __all__, drawn_edges  # noqa: F401
