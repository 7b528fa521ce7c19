"""Sweeps: one agent across tasks × personas × seeds, concurrently and on every core.

:func:`run_sweep` runs a :class:`SweepPlan` into an output folder: the episodes the
folder's results file does not hold yet (all of them without ``resume``), in worker
processes or Ray tasks (``backend="ray"``, the ``ray`` extra), one flushed results line
per episode, then ``summary.json``, a fold over that file (:func:`summarize_results`)
whose memory does not grow with the episodes.
:func:`check_out_dir` says beforehand whether a plan may write to a folder. A plan or
folder that cannot be used is a :class:`SweepError`, one line.

The parts: :mod:`~actors.sweep.plan` (the plan, and which row is which episode),
:mod:`~actors.sweep.folder` (the lock, the resume check, atomic writes),
:mod:`~actors.sweep.worker` (a batch of episodes, what every backend runs) and
:mod:`~actors.sweep.pool` (the local worker processes and the parent that copes with
their deaths), :mod:`~actors.sweep.ray_backend` (batches as Ray tasks, and the driver that
copes with theirs), :mod:`~actors.sweep.summary`, and :mod:`~actors.sweep.run`.
"""

from actors.sweep.folder import PLAN_FILE, RESULTS_FILE, SUMMARY_FILE, check_out_dir
from actors.sweep.plan import SweepError, SweepPlan
from actors.sweep.run import (
    BACKENDS,
    SweepOutcome,
    SweepTerminated,
    backend_session,
    check_backend,
    run_sweep,
)
from actors.sweep.summary import summarize_results

__all__ = [
    "BACKENDS",
    "PLAN_FILE",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "SweepError",
    "SweepOutcome",
    "SweepPlan",
    "SweepTerminated",
    "backend_session",
    "check_backend",
    "check_out_dir",
    "run_sweep",
    "summarize_results",
]
