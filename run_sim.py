"""The command line: ``python run_sim.py`` runs the seed task with the heuristic agent.

This module only parses arguments and calls the library; every rule lives in
``sim``, ``actors`` and ``tasks``. Exit status: 0 success, 1 a failed expectation,
2 bad input (with a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

import trio

from actors import FAULTS, AgentLoadError, simulate
from sim import EpisodeConfig, Trace, TraceFormatError, grade
from sim.transcript import render_report, render_transcript
from tasks import PERSONAS, TaskLoadError, discover_tasks, get_task, load_task_file

SEED_TASK = "api_incident_hard"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="run_sim.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run one episode and print its transcript and grade")
    run.add_argument("--task", default=SEED_TASK)
    run.add_argument("--agent", default="heuristic")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--persona", choices=PERSONAS, default=None)
    run.add_argument("--fault", action="append", choices=FAULTS, default=[])
    run.add_argument("--agent-timeout", type=float, default=60.0)
    run.add_argument("--tasks-dir", action="append", default=[])
    run.add_argument("--trace", help="write the trace (JSON Lines) to this file")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_parser("tasks", help="list the tasks").add_argument(
        "--tasks-dir", action="append", default=[])
    grade_cmd = sub.add_parser("grade", help="re-grade a stored trace")
    grade_cmd.add_argument("trace")
    grade_cmd.add_argument("--tasks-dir", action="append", default=[])
    grade_cmd.add_argument("--task-file", help="the task file, for a user's own task")
    return parser


def _fail(message: str) -> int:
    print(f"run_sim.py: error: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    task = get_task(args.task, args.tasks_dir)
    if not args.agent_timeout > 0:
        return _fail(f"--agent-timeout {args.agent_timeout}: allowed: a number of seconds > 0")
    config = EpisodeConfig(agent_timeout=args.agent_timeout)
    result = trio.run(lambda: simulate(task, args.agent, seed=args.seed, persona=args.persona,
                                       faults=args.fault, config=config))
    if args.trace:
        result.trace.write(args.trace)
    if args.json:
        keys = ("task_id", "seed", "agent", "persona", "faults", "score", "breakdown",
                "termination_reason", "steps", "sim_minutes", "sla_breached",
                "invalid_operations", "error")
        summary = result.summary()
        print(json.dumps({k: summary[k] for k in keys}))
        return 0
    print(render_transcript(result.trace, task.sla_deadline_seconds))
    print()
    print(render_report(grade(task, result.trace)))
    print(f"termination: {result.termination_reason}"
          + (f" ({result.error})" if result.error else ""))
    return 0


def _grade(args: argparse.Namespace) -> int:
    trace = Trace.read(args.trace)
    task = (load_task_file(args.task_file) if args.task_file
            else get_task(trace.header.task_id, args.tasks_dir))
    if task.content_hash != trace.header.task_hash:
        return _fail(f"{args.trace}: task_hash {trace.header.task_hash} differs from task "
                     f"{task.task_id!r} ({task.content_hash}); allowed: a trace of this task")
    print(render_report(grade(task, trace)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command is None:
            args = _parser().parse_args(["run"])
        if args.command == "run":
            return _run(args)
        if args.command == "tasks":
            for task_id, task in discover_tasks(args.tasks_dir).items():
                print(f"{task_id:<36} {task.difficulty:<7} {task.title}")
            return 0
        return _grade(args)
    except (TaskLoadError, AgentLoadError, TraceFormatError, ValueError) as error:
        return _fail(str(error))


if __name__ == "__main__":
    sys.exit(main())
