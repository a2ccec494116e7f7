"""Labels of the app's choices: one label in both languages, from ``quarterhour.i18n``.

Streamlit keys a choice by its label, so a label that changed with the
language would lose the planner's choice.

Examples
--------
>>> pair("mode_walk"), pair("basemap_none"), pair("basemap_osm")
('步行 walk', '路网（离线）streets (offline)', 'OpenStreetMap')
>>> category_label("study_room"), level_label("subdistrict")
('城市书房 city study room', '街道 sub-district')
"""

from __future__ import annotations

from quarterhour.i18n import category_name, level_name, t

__all__ = ["category_label", "level_label", "pair"]


def _join(zh: str, en: str) -> str:
    if zh == en:
        return zh
    return f"{zh}{'' if zh.endswith('）') else ' '}{en}"  # a full-width bracket brings its own space


def pair(key: str) -> str:
    """The i18n entry ``key`` in Chinese and English, as one label (``步行 walk``)."""
    return _join(t(key, "zh"), t(key, "en"))


def category_label(code: str) -> str:
    """A facility category's label in both languages (``城市书房 city study room``)."""
    return _join(category_name(code, "zh"), category_name(code, "en"))


def level_label(code: str) -> str:
    """An administrative level's label in both languages (``市 city``)."""
    return _join(level_name(code, "zh"), level_name(code, "en"))
