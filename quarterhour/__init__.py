"""quarterhour (一刻钟): the faces of the service-circle planner — the CLI, the map, the app's helpers.

Computation lives in ``analysis/``; reading and preparing data in ``geo/``.
"""

__version__ = "0.1.0"
