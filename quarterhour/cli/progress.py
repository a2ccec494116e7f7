"""The steps of a long command on stderr: a progress bar on a terminal, one plain line per step otherwise.

Library code never prints: it takes an optional ``progress`` callback and calls
it with the name of each step as the step starts (``analysis.pipeline.STEPS``).
``Steps`` is that callback for the command line (momepy's ``tqdm(disable=not
verbose)``): on a terminal a ``tqdm`` bar over the command's steps, naming the
one under way and the time spent; written to a file or a pipe, one line as each
step ends, e.g. ``[3/7] travel times … 3.1 s``; with ``quiet``, nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TextIO

from quarterhour.i18n import t

__all__ = ["Steps"]


class Steps:
    """A progress callback over a command's steps.

    Parameters
    ----------
    steps
        The step names the command will go through, in order (``analysis.pipeline.STEPS``).
    quiet
        Show nothing.
    stream
        Where to write (default stderr); a bar when it is a terminal, plain lines otherwise.
    lang
        The language of the step names (``quarterhour.i18n``).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Steps(["reading", "writing"], stream=out) as step:
    ...     step("reading")
    ...     step("reading")  # already under way: goes on
    ...     step("writing")
    >>> [line.split(" … ")[0] for line in out.getvalue().splitlines()]
    ['[1/2] reading', '[2/2] writing']
    """

    def __init__(self, steps: Sequence[str], *, quiet: bool = False, stream: TextIO | None = None, lang: str = "en"):
        self.steps = list(steps)
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.lang = lang
        self.terminal = not quiet and bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None  # issue 32: tqdm (and its multiprocessing lock) loads only for a terminal's bar
        if self.terminal:
            from tqdm import tqdm

            self.bar = tqdm(
                total=len(self.steps),
                file=self.stream,
                unit="step",
                bar_format="{desc} {bar} {n_fmt}/{total_fmt} [{elapsed}]",
                leave=False,
            )
        self.current: str | None = None
        self.started = 0.0
        self.done = 0

    def label(self, step: str) -> str:
        """The step's name as shown (``quarterhour.i18n``: ``step_<name>``)."""
        return t(f"step_{step}", self.lang)

    def _finish(self) -> None:
        if self.current is None:
            return
        self.done += 1
        if not self.quiet and not self.terminal:
            n = max(len(self.steps), self.done)
            took = time.perf_counter() - self.started
            print(f"[{self.done}/{n}] {self.label(self.current)} … {took:.1f} s", file=self.stream, flush=True)
        if self.bar is not None:
            self.bar.update(1)
        self.current = None

    def __call__(self, step: str) -> None:
        """Start ``step``: the one under way ends (``step`` itself, already under way, goes on)."""
        if step == self.current:
            return
        self._finish()
        self.current, self.started = step, time.perf_counter()
        if self.bar is not None:
            self.bar.set_description_str(self.label(step))

    def close(self, *, ok: bool = True) -> None:
        """End the last step (if ``ok``: a failed step gets no line) and the bar."""
        if ok:
            self._finish()
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Steps:
        """Use as a context manager: the last step ends with the block (not when it raises)."""
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        """End the last step and the bar."""
        self.close(ok=kind is None)
