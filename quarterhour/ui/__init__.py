"""The Streamlit app's panels: ``app.py`` wires them into a page.

- ``quarterhour.ui.values``: the named, hashable values the panels pass and the caches key on;
- ``quarterhour.ui.state``: the ``st.session_state`` keys;
- ``quarterhour.ui.errors``: one way a panel fails (``step``);
- ``quarterhour.ui.compute``: the cached computations;
- ``quarterhour.ui.files``: the files made of them (downloads, the review pack), with provenance;
- ``quarterhour.ui.sidebar``: data sources, parameters, basemap;
- ``quarterhour.ui.uploads``: the planners' uploads on the server (private, named by content, removed when unused);
- ``quarterhour.ui.scenario``: the scenario panel, the map and its clicks, the comparison;
- ``quarterhour.ui.tabs``: the headline and the tabs (gaps and sites, levels, review pack, siting, downloads).
"""
