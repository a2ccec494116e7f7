"""Scripts run by QGIS's own Python (``/usr/bin/python3`` with ``python3-qgis``), not by pytest."""

collect_ignore = ["open_project.py", "hours_style.py"]
