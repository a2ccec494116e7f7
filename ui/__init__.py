"""The Streamlit app's panels: ``app.py`` wires them into a page.

- ``ui.values``: the named, hashable values the panels pass and the caches key on;
- ``ui.state``: the ``st.session_state`` keys;
- ``ui.errors``: one way a panel fails (``step``);
- ``ui.compute``: the cached computations;
- ``ui.files``: the files made of them (downloads, the review pack), with provenance;
- ``ui.sidebar``: data sources, parameters, basemap;
- ``ui.uploads``: the planners' uploads on the server (private, named by content, removed when unused);
- ``ui.scenario``: the scenario panel, the map and its clicks, the comparison;
- ``ui.tabs``: the headline and the tabs (gaps and sites, levels, review pack, siting, downloads).
"""
