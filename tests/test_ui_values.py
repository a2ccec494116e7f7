"""The app's named values as cache keys: an equal value hits the cache, a changed field computes afresh."""

from __future__ import annotations

import dataclasses

import pytest
import streamlit as st

from geo.scenario import CHANGE_COLUMNS, changes_frame
from quarterhour.ui.values import Change, Inputs, Params, Plan

PARAMS = Params(15.0, 4.5, ("service_centre", "study_room"), (("service_centre", 15.0), ("study_room", 15.0)), (5.0,))


@pytest.mark.parametrize("cache", [st.cache_resource, st.cache_data], ids=["cache_resource", "cache_data"])
def test_equal_values_hit_the_cache_and_a_changed_field_recomputes(cache):
    calls = []

    @cache(show_spinner=False)
    def run(inputs: Inputs, params: Params, plan: Plan, changes: tuple[Change, ...]) -> int:
        calls.append(1)
        return len(calls)

    run.clear()
    inputs, plan = Inputs(), Plan("mclp", 3, 0.95)
    changes = (Change("add", None, "新中心 1", "study_room", 7.42, 43.73),)
    first = run(inputs, PARAMS, plan, changes)
    # equal values, built afresh: the cache answers
    same = Params(15.0, 4.5, ("service_centre", "study_room"), PARAMS.category_minutes, (5.0,))
    assert run(Inputs(), same, Plan("mclp", 3, 0.95), tuple(changes)) == first and len(calls) == 1
    # one field changed, in each value: computed afresh
    assert run(inputs, dataclasses.replace(PARAMS, minutes=10.0), plan, changes) == 2
    assert run(inputs, dataclasses.replace(PARAMS, categories=("study_room",)), plan, changes) == 3
    assert run(dataclasses.replace(inputs, facilities_crs="gcj02"), PARAMS, plan, changes) == 4
    assert run(inputs, PARAMS, dataclasses.replace(plan, k=4), changes) == 5
    assert run(inputs, PARAMS, plan, (changes[0]._replace(lon=7.43),)) == 6
    assert run(inputs, PARAMS, plan, changes) == first  # and the first is still there
    run.clear()


def test_values_are_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PARAMS.minutes = 10.0  # type: ignore[misc]
    assert len({PARAMS, dataclasses.replace(PARAMS), Inputs(), Inputs()}) == 2


def test_a_change_row_is_the_scenario_files_row():
    assert Change._fields == (*CHANGE_COLUMNS, "lon", "lat")
    frame = changes_frame([Change("close", "F001", "a", "study_room", 7.42, 43.73)])
    assert frame.loc[0, "facility_id"] == "F001" and frame.geometry.iloc[0].x == 7.42


@pytest.mark.parametrize(
    "name",
    ["load_network", "load_points", "load_boundaries", "compute", "scenario_base", "scenario", "siting", "base_map"],
)
def test_the_apps_slow_steps_are_cached(name):
    """Each step a click reruns is computed once per value (a lost decorator made every click re-read the residents)."""
    from quarterhour.ui import compute

    assert callable(getattr(getattr(compute, name), "clear", None)), f"quarterhour.ui.compute.{name} is not st.cache_*"
