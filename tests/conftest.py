"""Shared fixtures: the bundled sample (loaded once) and hand-made toy networks."""

from __future__ import annotations

import os
import uuid

import geopandas as gpd
import networkx as nx
import pytest
import shapely

from geo import StreetNetwork, load_sample, prepare_network

TOY_CRS = "EPSG:32632"


def toy_network(nodes: dict[int, tuple[float, float]], edges: list[tuple[int, int]]) -> StreetNetwork:
    """A metric street network from node coordinates and straight two-way edges."""
    g = nx.MultiDiGraph(crs=TOY_CRS)
    for n, (x, y) in nodes.items():
        g.add_node(n, x=x, y=y)
    for u, v in edges:
        (x1, y1), (x2, y2) = nodes[u], nodes[v]
        length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
        g.add_edge(u, v, length=length, geometry=shapely.LineString([nodes[u], nodes[v]]))
        g.add_edge(v, u, length=length, geometry=shapely.LineString([nodes[v], nodes[u]]))
    return prepare_network(g)


def points(xy: list[tuple[float, float]], **columns: list) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(columns, geometry=[shapely.Point(p) for p in xy], crs=TOY_CRS)
    return gdf.set_index(gdf.index.map(lambda i: f"P{i}"))


@pytest.fixture(scope="session", autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The network store in a temporary folder, never the user's (the app and subprocesses inherit it)."""
    before = os.environ.get("QUARTERHOUR_CACHE")
    os.environ["QUARTERHOUR_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("QUARTERHOUR_CACHE", None)
    else:
        os.environ["QUARTERHOUR_CACHE"] = before


@pytest.fixture(scope="session", autouse=True)
def _own_store_key() -> None:
    """The network store's key from the environment, never the user's key file (subprocesses inherit it)."""
    before = os.environ.get("QUARTERHOUR_STORE_KEY")
    os.environ["QUARTERHOUR_STORE_KEY"] = uuid.uuid4().hex
    yield
    if before is None:
        os.environ.pop("QUARTERHOUR_STORE_KEY", None)
    else:
        os.environ["QUARTERHOUR_STORE_KEY"] = before


@pytest.fixture(scope="session")
def sample():
    """(network, facilities, demand) of the bundled Monaco sample, projected."""
    return load_sample()


@pytest.fixture
def diamond() -> StreetNetwork:
    r"""A(0,0) -100- B(100,0) -100- C(200,0), and B -100- D(100,100) -141.4- C.

    At 3.6 km/h (1 m/s) seconds equal metres, so every time is checked by hand.
    """
    return toy_network({0: (0, 0), 1: (100, 0), 2: (200, 0), 3: (100, 100)}, [(0, 1), (1, 2), (1, 3), (3, 2)])


@pytest.fixture(scope="session", autouse=True)
def _own_workspace(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The planning workspace in a temporary SQLite file, never the user's (the app and subprocesses inherit it)."""
    before = os.environ.get("QUARTERHOUR_DATABASE_URL")
    os.environ["QUARTERHOUR_DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('workspace') / 'workspace.sqlite'}"
    yield
    if before is None:
        os.environ.pop("QUARTERHOUR_DATABASE_URL", None)
    else:
        os.environ["QUARTERHOUR_DATABASE_URL"] = before


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A throwaway PostgreSQL + PostGIS server on 127.0.0.1 (tests/pgserver.py); skipped only without its binaries.

    In CI (``CI`` set) a missing server is a failure, never a skip: .ci/run installs Debian's postgresql and postgis.
    """
    from tests.pgserver import pg_bin, postgres_cluster

    if pg_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's initdb is missing: .ci/run installs Debian's postgresql and postgis")
        pytest.skip(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql postgis"
        )
    with postgres_cluster() as url:
        yield url


def new_postgres_database(server: str) -> str:
    """A fresh database (with PostGIS, from the server's template) on the test server: its URL."""
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE quarterhour")
    return server.rsplit("/", 1)[0] + f"/{name}"


_SHARED: dict = {}  # the shared app server and chromium while they run (by fixture name); "last": each one's last user
SHARED_FIXTURES = ("app_url", "browser")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The real app (``streamlit run``, tests/test_browser.py's ``_serve``) on a fresh SQLite workspace and cache,
    started once for every browser test that needs no workspace of its own (a test that does starts its own).

    It is stopped right after the last test that asks for it (``pytest_runtest_teardown``), not at the session's end.
    """
    from tests.test_browser import _serve

    server = _serve(tmp_path_factory.mktemp("browser-workspace") / "workspace.sqlite")
    _SHARED["app_url"] = server
    yield next(server)
    server.close()  # a no-op once stopped


def _chromium():
    from tests.test_browser import CHROMIUM, _launch

    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")

    with sync_api.sync_playwright() as p:
        launched = _launch(p)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium (tests/test_browser.py's ``_launch``) for every browser test, each on its own
    context (``browser.new_page()`` or ``browser.new_context()``: no shared cookies or storage, as another machine).

    Playwright's sync API keeps its asyncio loop running in this thread while it is open, so the tests that use it run
    as one block (``pytest_collection_modifyitems``) and it is closed right after the last of them.
    """
    chromium = _chromium()
    _SHARED["browser"] = chromium
    yield next(chromium)
    chromium.close()  # a no-op once closed


@pytest.hookimpl(tryfirst=True)  # before xdist names each test's group (loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def uses(item: pytest.Item) -> bool:
        return bool(set(getattr(item, "fixturenames", ())) & set(SHARED_FIXTURES))

    users = [item for item in items if uses(item)]
    for item in users:  # with pytest-xdist (--dist loadgroup): the block runs on one worker, in order
        item.add_marker(pytest.mark.xdist_group("browser"))
    if users:  # one block where the first of them was: the server and chromium run only while their tests do
        first = items.index(users[0])
        rest = [item for item in items if not uses(item)]
        items[:] = [*rest[:first], *users, *rest[first:]]
    _SHARED["last"] = {
        name: next((item.nodeid for item in reversed(items) if name in getattr(item, "fixturenames", ())), None)
        for name in SHARED_FIXTURES
    }


def pytest_runtest_teardown(item: pytest.Item) -> None:
    for name, last in _SHARED.get("last", {}).items():
        if item.nodeid == last and name in _SHARED:
            _SHARED.pop(name).close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """Each workspace test runs on both databases: a fresh SQLite file, and a fresh database on the PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workspace.sqlite'}"
    return new_postgres_database(request.getfixturevalue("postgres_url"))


# --- issue 28: i28-accounts ---
@pytest.fixture(autouse=True)
def _own_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """``quarterhour login`` keeps its tokens in a temporary config folder, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
