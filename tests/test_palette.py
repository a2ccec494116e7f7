"""One palette: the web map and the review pack's static map give the same thing the same colour (the palette's)."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.pipeline import run_circle
from analysis.units import split_by_unit
from geo import read_boundaries, sample_paths
from geo.vocab import CATEGORIES
from quarterhour.i18n import category_name, t
from quarterhour.render import palette
from quarterhour.render.staticmap import unit_map
from quarterhour.render.webmap import build_map, map_data, map_html


@pytest.fixture(scope="module")
def run(sample):
    network, facilities, demand = sample
    units = {k: v.to_crs(network.crs) for k, v in read_boundaries(sample_paths()["boundaries"]).items()}
    return run_circle(network, facilities, demand, boundaries=units, isochrones=("facility",))


def test_every_category_the_sample_holds_is_drawn():
    assert set(gpd.read_file(sample_paths()["facilities"])["category"]) == set(CATEGORIES)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_web_map_draws_each_category_in_its_palette_colour(sample, run, lang):
    network = sample[0]
    data = map_data(run, network, lang=lang)
    for code in CATEGORIES:
        name = category_name(code, lang)
        layer = next(la for la in data.layers if la.name == f"{t('facilities', lang)}: {name}")
        assert {f["properties"]["category_label"] for f in layer.data["features"]} == {name}
        assert layer.marker is not None and layer.marker["fill_color"] == palette.CATEGORY_COLORS[code]
    page = map_html(build_map(run, network, lang=lang))
    for code in CATEGORIES:  # the markers as drawn, and the legend's swatch beside the category's name
        colour = palette.CATEGORY_COLORS[code]
        assert f'"fillColor": "{colour}"' in page, code
        assert re.search(f"background:{colour};[^>]*></span>{re.escape(category_name(code, lang))}<", page), code
    legend = {label: colour for colour, label in re.findall(r"background:(#[0-9a-f]{6});[^>]*></span>([^<]+)<", page)}
    assert legend[t("gaps", lang, cell=100)] == palette.GAP_COLOR
    assert legend[t("sites", lang)] == palette.SITE_COLOR
    assert legend[t("residents_uncovered", lang)] == palette.UNCOVERED_COLOR


def legend_colours(fig) -> dict[str, str]:
    """The static map's legend: label -> colour of its marker, line or patch."""
    out = {}
    for handle in fig.axes[0].get_legend().legend_handles:
        if isinstance(handle, Patch):
            out[handle.get_label()] = to_hex(handle.get_facecolor(), keep_alpha=False)
        elif isinstance(handle, Line2D):
            marker = handle.get_marker() not in (None, "None", "")
            out[handle.get_label()] = to_hex(handle.get_markerfacecolor() if marker else handle.get_color())
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_static_map_legend_uses_the_palette(sample, run, lang):
    network = sample[0]
    seen: dict[str, str] = {}
    for unit in split_by_unit(run, "district").values():
        site = gpd.GeoDataFrame({"site_id": ["S01"]}, geometry=[unit.geometry.representative_point()], crs=network.crs)
        fig = unit_map(network, unit, minutes=15, sites=site, lang=lang)
        seen |= legend_colours(fig)
    for code in CATEGORIES:  # the same colours as the web map's markers
        assert seen[category_name(code, lang)] == palette.CATEGORY_COLORS[code], code
    assert seen[t("streets", lang)] == palette.STREET_COLOR
    assert seen[t("reach", lang, minutes=15)] == palette.REACH_COLOR
    assert seen[t("map_gap_zone", lang)] == palette.GAP_COLOR
    assert seen[t("residents_uncovered", lang)] == palette.UNCOVERED_COLOR
    assert seen[t("map_unit_boundary", lang)] == palette.BOUNDARY_COLOR
    assert seen[t("sites", lang)] == palette.SITE_COLOR


def test_every_thing_on_the_map_has_its_own_colour():
    """Categories, sites, scenario centres, gaps and residents left out: no two share a colour."""
    things = [
        *palette.CATEGORY_COLORS.values(),
        palette.SITE_COLOR,
        palette.SCENARIO_COLOR,
        palette.GAP_COLOR,
        palette.UNCOVERED_COLOR,
        palette.REACH_COLOR,
    ]
    assert len(set(things)) == len(things)
