"""quarterhour (一刻钟): the 15-minute service-circle planner, as a library as well as a tool.

``import quarterhour as qh`` offers the stable entry points (issue 25 item 4), curated as osmnx
curates its namespace: read the inputs (``load_study``), say what the circle is measured by
(``CircleOptions``), run it whole (``run_circle``) or stage by stage (``snap_circle`` ...
``circle_sites``), place new centres (``plan_sites``), weigh a what-if (``evaluate``, ``compare``)
and write what planners take away (``write_layers``, ``write_pack``, ``build_map``).

Computation lives in ``analysis``; reading and preparing data in ``geo``; this package holds the
faces (the command line, the review pack, the maps). The names below are loaded when first used,
so ``quarterhour run`` starts without the machinery of the other commands (``tests/test_startup.py``).

Examples
--------
>>> import quarterhour as qh
>>> study = qh.load_study()
>>> result = qh.run_circle(study, qh.CircleOptions(minutes=15, n_sites=0))
>>> round(result.summary.pct_covered, 1) > 0, result.summary.speed_kmh
(True, 4.5)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Each public name and the module it lives in.
_PUBLIC = {
    # reading: one way in
    "StudySpec": "quarterhour.study",
    "Study": "quarterhour.study",
    "load_study": "quarterhour.study",
    "load_sample": "geo.io",
    "InputError": "geo.errors",
    # the circle's options and its run
    "CircleOptions": "analysis.options",
    "CircleResult": "analysis.pipeline",
    "run_circle": "analysis.pipeline",
    "snap_circle": "analysis.stages",
    "circle_times": "analysis.stages",
    "circle_access": "analysis.stages",
    "circle_reach": "analysis.stages",
    "circle_coverage": "analysis.stages",
    "circle_sites": "analysis.stages",
    "yardstick": "analysis.yardstick",
    "question_times": "quarterhour.question",  # issue 32: a stored network -> every resident's nearest time
    # siting and scenarios
    "plan_sites": "analysis.siting",
    "SiteResult": "analysis.siting",
    "evaluate": "analysis.scenario",
    "compare": "analysis.scenario",
    "apply_changes": "analysis.scenario",
    # what planners take away
    "write_layers": "quarterhour.gis.export",
    "write_pack": "quarterhour.pack.report",
    "PackOptions": "quarterhour.pack.report",
    "build_map": "quarterhour.render.webmap",
}

__all__ = [  # the public names: the keys of _PUBLIC (tests/test_api.py checks they agree)
    "CircleOptions",
    "CircleResult",
    "InputError",
    "PackOptions",
    "SiteResult",
    "Study",
    "StudySpec",
    "__version__",
    "apply_changes",
    "build_map",
    "circle_access",
    "circle_coverage",
    "circle_reach",
    "circle_sites",
    "circle_times",
    "compare",
    "evaluate",
    "load_sample",
    "load_study",
    "plan_sites",
    "question_times",
    "run_circle",
    "snap_circle",
    "write_layers",
    "write_pack",
    "yardstick",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module when first used (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'quarterhour' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # once
    return value


def __dir__() -> list[str]:
    """The public names, with the module's own."""
    return sorted({*globals(), *_PUBLIC})
