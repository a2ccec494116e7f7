"""What a planner is shown of the server's shared things: the prepared networks of their units only.

The network store (``geo.store``) is one folder for the whole server. A planner sees the networks whose
extent meets their units (the units' polygons the workspace recorded, ``workspace.Store.area``); a reviewer,
an admin and the local user see every one. A planner whose units have no recorded polygons sees none.
"""

from __future__ import annotations

from shapely.geometry import box

from quarterhour.workspace import Actor, WorkspaceError, open_store

__all__ = ["visible_networks"]


def visible_networks(entries: list[dict], who: Actor | None) -> list[dict]:
    """The store's entries (``geo.store.list_networks``) this account may see."""
    if who is None or who.role != "planner":
        return entries
    try:
        area = open_store().area(who)
    except WorkspaceError:
        return []
    if area is None:
        return []
    return [e for e in entries if len(e.get("extent_lonlat") or ()) == 4 and area.intersects(box(*e["extent_lonlat"]))]
