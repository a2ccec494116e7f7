"""Sphinx configuration: the API reference (from the numpydoc docstrings) and the user guide (issue 25 item 4).

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors; ``tests/test_docs.py``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages, before any installed

import quarterhour

project = "quarterhour 一刻钟"
author = "quarterhour"
copyright = "quarterhour authors"
version = release = quarterhour.__version__
language = "en"

extensions = ["sphinx.ext.autodoc", "numpydoc"]
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # the numpydoc sections say the types; the signatures stay short
numpydoc_show_class_members = False  # each class's attributes are in its own Attributes section
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
