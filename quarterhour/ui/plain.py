r"""Names planners typed or uploaded, shown as text: never Markdown, never HTML (issue 27).

``st.caption``, ``st.success``, ``st.error``, ``st.markdown``, button and expander labels all read their text
as Markdown: a scenario named ``![x](http://host/leak.png)`` would make the browser fetch that address, and
``[sign in](http://…)`` would be a link. Every such name goes through ``plain`` (or ``said``, for a message
with names in it) before it reaches one of them.

Examples
--------
>>> plain("![x](http://127.0.0.1:9/leak.png)")
'\\!\\[x\\](http\\://127.0.0.1:9/leak.png)'
>>> plain("东城区 *A*")
'东城区 \\*A\\*'
"""

from __future__ import annotations

import re

from quarterhour.i18n import t

__all__ = ["plain", "said"]

# The characters that make Markdown anywhere in a line: emphasis, code, links and images, HTML and entities,
# headings, tables, strikethrough, Streamlit's :color[...] and $maths$ (each may be escaped in CommonMark).
# Other punctuation (. , - ( ) / ' ") is left as it is, so that "38,367" and "a.csv" read as they did.
_MARKUP = re.compile(r"([\\`*_\[\]<>!#|~$&])")
# ... and what makes Markdown only where it stands: an address (GFM makes it a link), a list at the start.
_ADDRESS = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<![\w.]www)(?<=www)(\.)")
_LIST_START = re.compile(r"^(\d{1,9})([.)])|^([-+=])")
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def plain(text: object) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it as it is: each character that would make Markdown.

    Line breaks and other control characters become one space (a name is one line); outer spaces go.

    Parameters
    ----------
    text
        A name or any text a planner typed or uploaded (anything else is made text first).

    Returns
    -------
    str
        The text, safe to put into ``st.caption``, ``st.success``, ``st.markdown`` and widget labels.
    """
    text = _MARKUP.sub(r"\\\1", _BREAKS.sub(" ", str(text)).strip())
    text = _ADDRESS.sub(lambda m: "\\" + (m.group(1) or m.group(2)), text)
    return _LIST_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", text)


def said(key: str, lang: str, **values: object) -> str:
    """``t(key, lang, **values)`` with every text value ``plain``: a message naming a planner's names.

    Numbers are passed as they are (the message's format may need them: ``{n:,}``).

    Parameters
    ----------
    key, lang
        As for ``quarterhour.i18n.t``.
    **values
        The message's values.

    Returns
    -------
    str
        The message, its names shown as text.
    """
    return t(key, lang, **{k: plain(v) if isinstance(v, str) else v for k, v in values.items()})
