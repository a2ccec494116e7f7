"""The server's answers to the browser's own requests outlive a new run of the page (issue 29: a lost upload).

An upload in Streamlit takes three steps: the browser asks the server where to send the file (a
``file_urls_request``), the server answers with the upload's address (a ``file_urls_response`` put on the
session's outgoing queue), then the browser sends the file and tells the page it is there. When a new run
of the page starts, Streamlit empties the session's outgoing queue of everything that is not about a run's
life (``AppSession._clear_queue`` → ``ForwardMsgQueue.clear(retain_lifecycle_msgs=True)``: it keeps only
``new_session``, ``script_finished``, ``session_status_changed``, ``parent_message``,
``page_info_changed`` and toasts). An answer still waiting in the queue when a run starts is thrown
away: the browser never learns where to send the file, sends nothing and says nothing, and the uploader
shows no file. The window is the time between the answer's queuing and the next flush to the browser:
milliseconds on an idle server, far longer when several sessions' runs hold the interpreter (several
planners loading a city into one process), and a new run starts whenever the planner's previous action
(a network picked, another file) reaches the server just before the upload's request, which is exactly
what a planner does while the page is still running. Reproduced in Debian chromium against the app
(``tests/test_lost_input.py``) and seen in the load benchmark (benchmarks/README.md, issue 29).

``keep_replies`` makes that clearing keep the answers to the browser's own requests
(``REPLIES``): they carry no page content, the browser matches them by their request's id, and a
browser waiting for one waits forever without it. Everything else is cleared exactly as before.
"""

from __future__ import annotations

import functools
import threading

from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

__all__ = ["REPLIES", "keep_replies"]

#: The messages that answer a request of the browser (it waits for them, by their request's id).
REPLIES = frozenset({"file_urls_response", "backend_operation_response", "heartbeat_ack"})

_LOCK = threading.Lock()


def keep_replies() -> None:
    """Make a new run's clearing of a session's outgoing queue keep the answers in ``REPLIES`` (once per process).

    Cheap to call on every run: after the first call it only reads a flag.
    """
    if getattr(ForwardMsgQueue.clear, "_keeps_replies", False):
        return
    with _LOCK:
        if getattr(ForwardMsgQueue.clear, "_keeps_replies", False):
            return
        ForwardMsgQueue.clear = _keeping(ForwardMsgQueue.clear)


def _keeping(clear):
    @functools.wraps(clear)
    def clear_keeping_replies(self, retain_lifecycle_msgs: bool = False, fragment_ids_this_run=None) -> None:
        waiting = [m for m in self._queue if m.WhichOneof("type") in REPLIES] if retain_lifecycle_msgs else []
        clear(self, retain_lifecycle_msgs=retain_lifecycle_msgs, fragment_ids_this_run=fragment_ids_this_run)
        if waiting:
            kept = {id(m) for m in self._queue}
            # first: they answer requests sent before the run that starts now; no delta is indexed after a clear
            self._queue[:0] = [m for m in waiting if id(m) not in kept]

    clear_keeping_replies._keeps_replies = True
    return clear_keeping_replies
