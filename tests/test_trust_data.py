"""Issue 26, the figures' side: the datum judged on the points on the network, facility counts of what was used,
provenance by the planner's file names, whole persons.

The prefecture-wide list is the bundled Monaco network and centres moved, shape kept, into Luoyang's old town
(``test_residents.luoyang``), listed in GCJ-02 by the real forward transform, with county-town points 25-60 km
away (as a prefecture's AMap list against one city's streets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import test_residents
from pyproj import Geod
from test_residents import LUOYANG, _loaded, _metres

from geo import prepare_network, read_facilities, read_network
from geo.chinacrs import settle_coordinate_system, wgs84_to_gcj02
from quarterhour.readnotes import coordinate_note

luoyang = test_residents.luoyang  # the fixture: the sample moved to Luoyang, with its WGS-84 truth
N_FAR = 60  # county towns: three in four points of the list lie beyond the city's streets


@pytest.fixture(scope="module")
def prefecture(luoyang, tmp_path_factory):
    """A prefecture's list in GCJ-02: the city's 20 centres (on its streets) and 60 county-town rooms 25-60 km off."""
    folder, truth = luoyang
    rng = np.random.default_rng(26)
    bearing, metres = rng.uniform(0, 360, N_FAR), rng.uniform(25e3, 60e3, N_FAR)
    far_lon, far_lat, _ = Geod(ellps="WGS84").fwd(
        np.full(N_FAR, LUOYANG[0]), np.full(N_FAR, LUOYANG[1]), bearing, metres
    )
    lon = np.concatenate([truth.geometry.x.to_numpy(), far_lon])
    lat = np.concatenate([truth.geometry.y.to_numpy(), far_lat])
    glon, glat = wgs84_to_gcj02(lon, lat)
    names = [*truth["name"], *(f"县城书房{i:02d}" for i in range(N_FAR))]
    rng.shuffle(order := np.arange(len(names)))  # the county towns mixed in, as a published list has them
    table = pd.DataFrame({"名称": np.array(names)[order], "经度": glon[order], "纬度": glat[order]})
    path = tmp_path_factory.mktemp("prefecture") / "城市书房.xlsx"
    table.to_excel(path, index=False)
    return folder, truth, path, [n for n in table["名称"] if n.startswith("县城书房")]


def test_a_prefecture_list_is_judged_on_its_points_on_the_network(prefecture):
    folder, truth, path, far_names = prefecture
    network = prepare_network(read_network(folder / "streets.graphml"))
    read = read_facilities(path, crs="wgs84")
    moved, choice = settle_coordinate_system(read, network, "auto", declared=False, file=path.name, role="facilities")
    assert choice.system == "gcj02" and choice.how == "judged", choice
    assert (choice.decided, choice.beyond) == (len(truth), N_FAR)
    assert list(choice.beyond_names) == far_names[: len(choice.beyond_names)] and len(choice.beyond_names) == 10
    # The points on the network land within 2 m of the truth, by name (an independent check: the WGS-84 truth).
    on = moved[~moved["name"].str.startswith("县城书房")].set_index("name").loc[truth["name"]]
    assert _metres(on.reset_index(), truth).max() < 2.0
    en, zh = coordinate_note(path.name, choice, "en"), coordinate_note(path.name, choice, "zh")
    assert f"judged on the {len(truth)} points within 3 km of the streets" in en
    assert f"{N_FAR} points lie beyond the network's area" in en and far_names[0] in en and "…" in en
    assert f"判定依据为距街道 3 千米以内的 {len(truth)} 个点位" in zh and f"另有 {N_FAR} 个点位在路网范围之外" in zh


def test_the_cli_says_how_many_points_decided_and_how_many_lie_beyond(prefecture, capsys):
    folder, truth, path, _ = prefecture
    facilities, _, args = _loaded(folder, "--facilities", str(path))
    err = capsys.readouterr().err
    assert args.facilities_crs == "gcj02"
    line = next(x for x in err.splitlines() if x.startswith(f"note: {path.name}: coordinates judged GCJ-02"))
    assert f"judged on the {len(truth)} points within 3 km" in line and f"{N_FAR} points lie beyond" in line
    on = facilities[~facilities["name"].str.startswith("县城书房")].set_index("name").loc[truth["name"]]
    assert _metres(on.reset_index(), truth).max() < 2.0
