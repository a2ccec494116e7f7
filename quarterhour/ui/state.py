"""The ``st.session_state`` keys, named once (their string values are what widgets and tests use)."""

from __future__ import annotations

__all__ = [
    "ACCOUNT_NAME",
    "ACTOR",
    "ADD_FORM",
    "BANDS",
    "BASEMAP",
    "BASEMAP_CHOICE",
    "BOX_CORNER",
    "CANDIDATES_FILE",
    "CATEGORIES",
    "CHANGES",
    "CHANGES_FOR",
    "CLEAR",
    "CLICK_DONE",
    "CLICK_MODE",
    "CLICK_NOTE",
    "DEMAND_CRS",
    "DEMAND_FILE",
    "DEMAND_TOTAL",
    "DL_FMT",
    "DL_LAYER",
    "DL_TABLE",
    "DL_TFMT",
    "DOWNLOAD_ALL",
    "DOWNLOAD_LAYER",
    "DOWNLOAD_SCENARIO",
    "DOWNLOAD_TABLE",
    "DROPPED_TOKEN",
    "FACILITIES_CRS",
    "FACILITIES_FILE",
    "LANG",
    "LAST_GOOD",
    "LEVEL",
    "LONLAT",
    "MAP",
    "MINUTES",
    "MODE",
    "MODEL",
    "NETWORK_FILE",
    "NETWORK_HOW",
    "NEW_CATEGORY",
    "OSM_BBOX",
    "OSM_BOX_LOADED",
    "OSM_DOWNLOAD",
    "OSM_DOWNLOAD_BOX",
    "OSM_LOADED",
    "OSM_PLACE",
    "PACK",
    "PACK_DOWNLOAD",
    "PACK_MAKE",
    "PASSWORD",
    "PICKED",
    "PLAN",
    "PREPARE_SCENARIO",
    "RUN_SITING",
    "SAVE_SCENARIO",
    "SCENARIO_FILE",
    "SCENARIO_FILE_FOR",
    "SCENARIO_LOADED",
    "SCENARIO_S",
    "SIGN_IN_FORM",
    "SIGN_IN_SSO",
    "SIGN_OUT",
    "SITES_TO_SCENARIO",
    "STANDARD",
    "TARGET",
    "TIANDITU_KEY",
    "TOKEN",
    "TOKEN_KEPT",
    "UNDO",
    "UNITS",
    "UNITS_FILE",
    "UPLOAD_NAMES",
    "WS_BASE",
    "WS_COMMENT",
    "WS_NAME",
    "WS_NEW",
    "WS_NEW_NAME",
    "WS_NEW_UNIT",
    "WS_NOTE",
    "WS_OPEN",
    "WS_OPEN_VERSION",
    "WS_OTHER",
    "WS_PACK",
    "WS_PACK_DOWNLOAD",
    "WS_PACK_FOR",
    "WS_PICK",
    "WS_PROJECT",
    "WS_RESUMED",
    "WS_RETURN",
    "WS_REVIEW",
    "WS_SAVED",
    "WS_SCENARIO",
    "WS_SUBMIT",
    "WS_UNIT",
    "WS_VERSION_PICK",
    "K",
    "category_minutes_key",
    "group_speed_key",
    "pack_unit_key",
    "speed_key",
    "within_key",
]

# sidebar
LANG = "lang"
NETWORK_HOW = "network_how"
NETWORK_FILE = "network_file"
NETWORK_STORE = "network_store"  #: the prepared network chosen from the store
OSM_PLACE = "osm_place"
OSM_DOWNLOAD = "osm_download"
OSM_DOWNLOAD_BOX = "osm_download_box"
OSM_LOADED = "osm_loaded"  #: the place whose network was downloaded
OSM_BOX_LOADED = "osm_box_loaded"  #: the box whose network was downloaded
OSM_BBOX = "osm_bbox"  #: the box drawn on the map (west, south, east, north)
FACILITIES_FILE = "facilities_file"
FACILITIES_CRS = "facilities_crs"
DEMAND_FILE = "demand_file"
DEMAND_CRS = "demand_crs"
DEMAND_TOTAL = "demand_total"
CANDIDATES_FILE = "candidates_file"
UNITS = "units"
UNITS_FILE = "units_file"
UPLOAD_NAMES = "upload_names"  #: stored upload path -> the planner's file name, for messages
MODE = "mode"
MINUTES = "minutes"
STANDARD = "standard"  #: the yardstick: minutes at a speed, or GB 50180's walking distances
BANDS = "bands"
CATEGORIES = "categories"
BASEMAP = "basemap"
TIANDITU_KEY = "tianditu_key"
BASEMAP_CHOICE = "basemap_choice"  #: (basemap, key) chosen in the sidebar, read by the map

# the map and the scenario
MAP = "map"
CLICK_MODE = "click_mode"
CLICK_DONE = "click_done"  #: the last click already turned into a change
CLICK_NOTE = "click_note"  #: what the last click did, shown once
BOX_CORNER = "box_corner"
PICKED = "picked"  #: the facility picked to be moved
NEW_CATEGORY = "new_category"
ADD_FORM = "add_by_coordinates"
LONLAT = "lonlat"
CHANGES = "changes"  #: the scenario: a list of ``quarterhour.ui.values.Change``
CHANGES_FOR = "changes_for"  #: the inputs the scenario was made on
UNDO = "undo"
CLEAR = "clear"
SCENARIO_FILE = "scenario_file"
SCENARIO_LOADED = "scenario_loaded"  #: SHA-256 of the scenario file last loaded
SCENARIO_S = "scenario_s"  #: seconds the scenario took
SAVE_SCENARIO = "save_scenario"
PREPARE_SCENARIO = "prepare_scenario"
SCENARIO_FILE_FOR = "scenario_file_for"  #: the changes the result file was asked for
DOWNLOAD_SCENARIO = "download_scenario"
LAST_GOOD = "last_good"  #: (inputs, units) of the last analysis that worked

# signing in (quarterhour/ui/signin.py)
TOKEN = "token"  #: the signed-in session's token (never the password)
SIGN_IN_FORM = "sign_in_form"
ACCOUNT_NAME = "account_name"
PASSWORD = "password"
SIGN_OUT = "sign_out"
ACTOR = "actor"  #: the session's ``workspace.Actor``
TOKEN_KEPT = "token_kept"  #: the token this session has asked the browser to keep (quarterhour/ui/session_cookie.py)
DROPPED_TOKEN = "dropped_token"  #: a token this session signed out or saw refused: its cookie is not used again
SIGN_IN_SSO = "sign_in_sso"

# the workspace (quarterhour/ui/workspace.py)
WS_PROJECT = "ws_project"  #: the workspace project of (inputs, units): (inputs, units, project id)
WS_SCENARIO = "ws_scenario"  #: the id of the scenario the session's changes are saved into
WS_BASE = "ws_base"  #: the version the session's changes are made on
WS_SAVED = "ws_saved"  #: (changes, parameters) as last saved or opened
WS_RESUMED = "ws_resumed"  #: the session went on with the planner's last scenario (once)
WS_NOTE = "ws_note"  #: (kind, text) the workspace says once on the next run
WS_NEW_UNIT = "ws_new_unit"  #: the unit the next new scenario takes (None: the account's first)
WS_NEW_NAME = "ws_new_name"  #: the name the next new scenario takes (a loaded file's)
WS_PICK = "ws_pick"
WS_OPEN = "ws_open"
WS_VERSION_PICK = "ws_version_pick"
WS_OPEN_VERSION = "ws_open_version"
WS_NAME = "ws_name"
WS_UNIT = "ws_unit"
WS_NEW = "ws_new"
WS_SUBMIT = "ws_submit"
WS_REVIEW = "ws_review"
WS_RETURN = "ws_return"
WS_COMMENT = "ws_comment"
WS_OTHER = "ws_other"
WS_PACK = "ws_pack"
WS_PACK_FOR = "ws_pack_for"  #: (scenario id, version) whose review pack was asked for
WS_PACK_DOWNLOAD = "ws_pack_download"

# the tabs
LEVEL = "level"
PACK = "pack"  #: (level, code) of the review pack asked for
PACK_MAKE = "pack_make"
PACK_DOWNLOAD = "pack_download"
MODEL = "model"
K = "k"
TARGET = "target"
SPACING = "spacing_m"  #: siting: the candidate grid's spacing (task-siting)
RUN_SITING = "run_siting"
PLAN = "plan"  #: the ``quarterhour.ui.values.Plan`` last asked for
SITES_TO_SCENARIO = "sites_to_scenario"
DOWNLOAD_ALL = "download_all"
DL_LAYER = "dl_layer"
DL_FMT = "dl_fmt"
DOWNLOAD_LAYER = "download_layer"
DL_TABLE = "dl_table"
DL_TFMT = "dl_tfmt"
DOWNLOAD_TABLE = "download_table"


def group_speed_key(group: str) -> str:
    """The key of a population group's walking speed in the sidebar."""
    return f"group_speed_{group}"


def speed_key(mode: str) -> str:
    """The speed slider's key for a travel mode (each mode keeps its own speed)."""
    return f"speed_{mode}"


def category_minutes_key(category: str) -> str:
    """The key of a category's own walking threshold."""
    return f"min_{category}"


def within_key(level: str) -> str:
    """The key of the "within which unit above" choice on a level's table."""
    return f"within_{level}"


def pack_unit_key(level: str) -> str:
    """The key of the review pack's unit choice on a level."""
    return f"pack_{level}"


# --- issue 26: i26-app ---
NETWORK_AUTO_FOR = "network_auto_for"  #: the uploads the prepared network was last chosen for
NETWORK_AUTO_NOTE = "network_auto_note"  #: (i18n key, values, store source) of that choice, said while it stands
__all__ += ["NETWORK_AUTO_FOR", "NETWORK_AUTO_NOTE"]

# --- issue 28: i28-projects: the page comes back whole (quarterhour/ui/project.py) ---
WS_SHOWN = "ws_shown"  #: the version whose changes the page shows (an older one opened, or the newest)
WS_PAGE_OPEN = "ws_page_open"  #: the restored page's (project, scenario, version, base), for ``resume``
WS_KEPT = "ws_kept"  #: the kept files put back on this page: the uploader's key -> the stored path
WS_PAGE_RESTORED = "ws_page_restored"  #: the session has looked for the account's last page (once)
WS_PAGE = "ws_page"  #: the page as last remembered in the workspace
WS_CANDIDATES = "ws_candidates"  #: the page's candidates file (a stored upload), or None
WS_KEPT_FOR = "ws_kept_for"  #: the project whose inputs this session has kept in the workspace

# --- issue 31: i31-hours ---
HOURS_AT = "hours_at"  #: the time-of-week control (None: any time)
HOURS_WEEK = "hours_week"  #: the week's table under the headline
__all__ += ["HOURS_AT", "HOURS_WEEK"]

# --- issue 30: i30-roads ---
NETWORK_CRS = "network_crs"  #: an uploaded road layer's coordinate system (file, gcj02, bd09, epsg)
NETWORK_CRS_EPSG = "network_crs_epsg"  #: its EPSG code, when it is one the file does not say
__all__ += ["NETWORK_CRS", "NETWORK_CRS_EPSG"]
# --- issue 29: i29-click: the parts that rerun alone (quarterhour/ui/fragments.py) ---
PART_MAP = "qh_map"  #: the map and the scenario panel (a fragment's key: ``st.rerun(PART_MAP)`` from a callback)
PART_SITING = "qh_siting"  #: the siting panel
PART_LEVELS = "qh_levels"  #: the levels tab
PAGE_STARTED = "qh_page_started"  #: when the whole page's run began (the map's caption times it)
LONLAT_BAD = "qh_lonlat_bad"  #: the coordinates '新增' could not read (its callback notes them, the form says so)
__all__ += ["LONLAT_BAD", "PAGE_STARTED", "PART_LEVELS", "PART_MAP", "PART_SITING"]

# --- issue 30: keep-walls: the gated compounds' uploaders, kept with the project (quarterhour/ui/project.py) ---
COMPOUNDS_FILE = "compounds_file"  #: the gated compounds (polygons, or an OSM file)
GATES_FILE = "gates_file"  #: their gates (points, or an OSM file)
__all__ += ["COMPOUNDS_FILE", "GATES_FILE"]

# --- lead: the gated compounds' coordinate system (quarterhour/ui/walls.py) ---
COMPOUNDS_CRS = "compounds_crs"  #: auto (as the file says, checked), gcj02 or bd09
__all__ += ["COMPOUNDS_CRS"]
# --- issue 29: click-speed ---
MAP_DRAWN = "qh_map_drawn"  #: the data and settings of the map this session last drew: new ones void earlier clicks
__all__ += ["MAP_DRAWN"]

# --- issue 29: lost-input: places on the page that stay put, so a press sent during a page run finds its part ---
HEAD_BOX = "qh_head_box"  #: the headline, its notes and messages: whatever they hold, what follows keeps its place
MAP_BOX = "qh_map_box"  #: the map's part (``PART_MAP``) under the headline: its fragment id no longer moves
DATA_BOX = "qh_data_box"  #: the sidebar's data panel (its uploaders): never remade when a note appears above it
__all__ += ["DATA_BOX", "HEAD_BOX", "MAP_BOX"]
MAP_KEYS = "qh_map_keys"  #: the component keys of the maps this session drew, newest last (a click on an old one)
__all__ += ["MAP_KEYS"]
MAP_CLICK_KEPT = "qh_map_click_kept"  #: this run took a click made on the map a page run was replacing
__all__ += ["MAP_CLICK_KEPT"]
# --- issue 29: city-upload ---
STAGES_TOLD = "qh_stages_told"  #: the stages the last long page run showed (``quarterhour.ui.progress``)
__all__ += ["STAGES_TOLD"]
