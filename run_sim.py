"""The command line: ``python run_sim.py`` runs the seed task with the heuristic agent.

Subcommands: run, scenario, sweep, grade, show, tasks, check-task, schema (``--help`` on
each).
This module only parses arguments and calls the library; every rule lives in
``sim``, ``actors`` and ``tasks``. Exit status: 0 success, 1 a failed expectation or
check, 2 bad input (with a one-line reason on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import trio
from rich.console import Console

from actors import FAULTS, AgentLoadError, simulate
from actors.agents.loading import did_you_mean
from actors.console import (
    RedactingConsole,
    print_report,
    print_summary,
    print_transcript,
    sweep_progress,
)
from actors.scenario import ScenarioError, format_outcome, load_scenario, run_scenario_sync
from actors.sweep import SweepPlan, check_out_dir, run_sweep
from sim import EpisodeConfig, Trace, TraceFormatError, grade
from sim.schemas import SCHEMAS, json_schema
from sim.secrets import redact
from sim.trace import dumps_line
from tasks import (
    PERSONAS,
    SupportTaskSpec,
    TaskLoadError,
    discover_families,
    get_task,
    list_task_ids,
    load_task_file,
)

SEED_TASK = "api_incident_hard"
EXECUTORS = ("auto", "inline", "thread", "process")
JSON_KEYS = ("task_id", "variant_hash", "seed", "agent", "persona", "faults", "privileged", "score",
             "breakdown", "termination_reason", "steps", "sim_minutes", "sla_breached",
             "invalid_operations", "error")
PRIVILEGED_HELP = ("hand the agent a private copy of the whole task, gold included, in "
                   "reset (for grader authors' reference agents); results say so")
AGENT_HELP = ("oracle, heuristic, random, scripted, or module.path:attribute (a class or "
              "factory, importable from the current folder or the Python path)")
FAULT_HELP = "a team fault to inject; repeat the option for several"
TIMEOUT_HELP = "seconds a decision or reset may take before the episode ends as agent_timeout"
EXECUTOR_HELP = ("how decisions run: auto (inline for async and built-in agents, a thread for "
                 "other sync ones), inline, thread, or process (stops CPU-bound and untrusted "
                 "agents; see README)")
TASKS_DIR_HELP = "a folder of your own task files, added to the shipped ones; repeatable"
TRACE_HELP = "a trace file (JSON Lines), as run --trace or sweep --trace-dir writes it"
TASK_FILE_HELP = "the trace's task file, for a task of your own (instead of --tasks-dir)"


class BadInput(Exception):
    """A one-line reason for exit status 2."""


class _HelpFormatter(argparse.HelpFormatter):
    """``--help`` shows each option's default after its help, where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or "(default" in text or not action.option_strings
                or default is None or default is False or default == argparse.SUPPRESS
                or default == []):
            return text
        shown = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """argparse's check, with the closest allowed name for a typo."""
        if action.choices is not None and value not in action.choices:
            names = [str(choice) for choice in action.choices]
            hint = did_you_mean(str(value), names)
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{'; ' + hint if hint else ' '}(choose from "
                        f"{', '.join(map(repr, names))})")


def _positive(kind: type[int] | type[float], name: str) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number; allowed: a {'whole ' if kind is int else ''}"
                f"number > 0") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text}: allowed: a finite number > 0")
        return value
    parse.__name__ = name
    return parse


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a whole number >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: allowed: a whole number >= 0")
    return value


def _choices_list(allowed: Sequence[str], name: str, *, in_parser: bool = False) -> Any:
    """A parser of ``all`` or a comma list of ``allowed``. Its errors name ``--name``
    unless argparse does already (``in_parser``: it was given as an option's type)."""
    flag = "" if in_parser else f"--{name}: "

    def parse(text: str) -> list[str]:
        values = list(allowed) if text == "all" else [v.strip() for v in text.split(",")
                                                        if v.strip()]
        if not values:
            raise argparse.ArgumentTypeError(
                f"{flag}{text!r} names nothing; allowed: all or a comma list of "
                f"{', '.join(allowed)}")
        for value in values:
            if value not in allowed:
                raise argparse.ArgumentTypeError(
                    f"{flag}{value!r} is unknown; {did_you_mean(value, allowed)}allowed: all "
                    f"or a comma list of {', '.join(allowed)}")
        return values
    parse.__name__ = name
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="run_sim.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run one episode: transcript and grade report")
    run.add_argument("--task", default=SEED_TASK,
                     help="the task or family to run (the tasks command lists them)")
    run.add_argument("--agent", default="heuristic", help=AGENT_HELP)
    run.add_argument("--seed", type=_whole, default=0,
                     help="the episode's seed: a family's variant and the world's draws")
    run.add_argument("--persona", choices=PERSONAS, default=None,
                     help="the customer's persona (by default the task's own, mostly "
                          "cooperative)")
    run.add_argument("--fault", action="append", choices=FAULTS, default=[], help=FAULT_HELP)
    run.add_argument("--agent-timeout", type=_positive(float, "seconds"), default=60.0,
                     help=TIMEOUT_HELP)
    run.add_argument("--agent-executor", choices=EXECUTORS, default="auto", help=EXECUTOR_HELP)
    run.add_argument("--privileged", action="store_true", help=PRIVILEGED_HELP)
    run.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    run.add_argument("--trace", help="write the trace (JSON Lines) to this file")
    run.add_argument("--json", action="store_true",
                     help="print one JSON object (the results row) instead of the transcript")

    scenario = sub.add_parser("scenario", help="run scripted scenarios and check expectations")
    scenario.add_argument("files", nargs="+", metavar="FILE",
                          help="a scenario file (TOML; see scenarios/ and the README)")

    sweep = sub.add_parser("sweep", help="an agent across tasks x seeds x personas")
    sweep.add_argument("--tasks", default="all", help="all, or a comma list of task ids")
    sweep.add_argument("--agent", default="heuristic", help=AGENT_HELP)
    sweep.add_argument("--seeds", type=_positive(int, "seeds"), default=5,
                       help="seeds per task and persona: 0 to N-1")
    sweep.add_argument("--personas", type=_choices_list(PERSONAS, "personas", in_parser=True),
                       default=["cooperative"],
                       help=f"all, or a comma list of {', '.join(PERSONAS)}")
    sweep.add_argument("--fault", action="append", choices=FAULTS, default=[], help=FAULT_HELP)
    sweep.add_argument("--concurrency", type=_positive(int, "concurrency"), default=50,
                       help="episodes in flight at once, per worker")
    sweep.add_argument("--workers", type=_positive(int, "workers"), default=1,
                       help="processes the plan is split across")
    sweep.add_argument("--out", default="runs/sweep",
                       help="the folder for results.jsonl, summary.json and plan.json")
    sweep.add_argument("--resume", action="store_true",
                       help="run only the episodes --out lacks (the same plan only)")
    sweep.add_argument("--durable", action="store_true",
                       help="fsync results.jsonl after every episode, to survive a machine "
                            "crash (default: every 0.5 s and at the end; each line is "
                            "flushed either way, which survives a killed process)")
    sweep.add_argument("--trace-dir", default=None,
                       help="also write each episode's trace to this folder")
    sweep.add_argument("--agent-timeout", type=_positive(float, "seconds"), default=60.0,
                       help=TIMEOUT_HELP)
    sweep.add_argument("--agent-executor", choices=EXECUTORS, default="auto",
                       help=EXECUTOR_HELP)
    sweep.add_argument("--privileged", action="store_true", help=PRIVILEGED_HELP)
    sweep.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    sweep.add_argument("--json", action="store_true",
                       help="print summary.json to stdout, alone (progress goes to stderr)")

    grade_cmd = sub.add_parser("grade", help="re-grade a stored trace")
    grade_cmd.add_argument("trace", help=TRACE_HELP)
    grade_cmd.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    grade_cmd.add_argument("--task-file", help=TASK_FILE_HELP)
    grade_cmd.add_argument("--json", action="store_true",
                           help="print the report as one JSON object")

    show = sub.add_parser("show", help="print the transcript of a stored trace")
    show.add_argument("trace", help=TRACE_HELP)
    show.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    show.add_argument("--task-file", help=TASK_FILE_HELP)

    tasks_cmd = sub.add_parser("tasks", help="list the tasks and families, or show one")
    tasks_cmd.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    tasks_cmd.add_argument("--json", action="store_true",
                           help="JSON: a line per task (id, difficulty, kind, title), or the "
                                "shown variant's whole spec")
    tasks_cmd.add_argument("--show", metavar="ID",
                           help="the full spec (gold included) of this task, or of the variant "
                                "--seed picks from this family")
    tasks_cmd.add_argument("--seed", type=_whole, default=0,
                           help="with --show: the seed whose variant to show (default 0)")

    check = sub.add_parser("check-task", help="validate a task file and run the invariants")
    check.add_argument("file", help="a task file (.py) defining TASK or FAMILY")
    check.add_argument("--max-examples", type=_positive(int, "examples"), default=25,
                       help="examples per invariant (per variant, for a family)")
    check.add_argument("--variants", type=_positive(int, "variants"), default=20,
                       help="a family's variants to check: seeds 0 to N-1 (default 20)")

    schema = sub.add_parser("schema", help="JSON Schemas: the observation, the operations, a "
                                           "task, a trace line, a results row")
    schema.add_argument("name", nargs="?", choices=list(SCHEMAS),
                        help="the schema to print (without: the list of names)")
    schema.add_argument("--json", action="store_true",
                        help="one line of JSON: the named schema, or all of them by name")
    return parser


def _writable(path: str, what: str) -> None:
    """Fail before the work, not after it, when ``path`` cannot be written."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise BadInput(f"{what} {path}: folder {parent} does not exist; allowed: a file in an "
                       "existing folder")
    if Path(path).is_dir():
        raise BadInput(f"{what} {path}: is a folder; allowed: a file path")


def _task(task_id: str, tasks_dirs: Sequence[str], seed: int) -> SupportTaskSpec:
    """The task ``task_id`` gives for ``seed``; a typo gets the closest id in its error."""
    known = list_task_ids(tasks_dirs)
    if task_id not in known:
        raise BadInput(f"task {task_id!r} is unknown; {did_you_mean(task_id, known)}allowed: "
                       f"{', '.join(known)}")
    return get_task(task_id, tasks_dirs, seed=seed)


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    task = _task(args.task, args.tasks_dir, args.seed)
    if args.trace:
        _writable(args.trace, "--trace")
    config = EpisodeConfig(agent_timeout=args.agent_timeout, agent_executor=args.agent_executor)
    result = trio.run(lambda: simulate(task, args.agent, seed=args.seed, persona=args.persona,
                                       faults=args.fault, config=config,
                                       privileged=args.privileged))
    if args.trace:
        result.trace.write(args.trace)
    if args.json:
        summary = result.summary()
        print(dumps_line({k: summary[k] for k in JSON_KEYS}))
        return 0
    print_transcript(console, result.trace, task)
    print_report(console, grade(task, result.trace))
    console.print(f"termination: {result.termination_reason}"
                  + (f" ({result.error})" if result.error else ""), markup=False)
    return 0


def _cmd_scenario(args: argparse.Namespace, console: Console) -> int:
    scenarios = [load_scenario(path) for path in args.files]  # all bad input first
    failed = 0
    for scenario in scenarios:
        outcome = run_scenario_sync(scenario)
        failed += not outcome.passed
        console.print(format_outcome(outcome), markup=False)
    console.print(f"{len(scenarios) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _cmd_sweep(args: argparse.Namespace, console: Console) -> int:
    known = list(discover_families(args.tasks_dir))
    tasks = _choices_list(known, "tasks")(args.tasks)
    plan = SweepPlan(tasks=tuple(tasks), agent=args.agent, seeds=args.seeds,
                     personas=tuple(args.personas), faults=tuple(args.fault),
                     tasks_dirs=tuple(args.tasks_dir), agent_timeout=args.agent_timeout,
                     agent_executor=args.agent_executor, privileged=args.privileged)
    plan.validate()
    for flag, folder in (("--out", args.out), ("--trace-dir", args.trace_dir)):
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            raise BadInput(f"{flag} {folder}: is a file; allowed: a folder (made if missing)")
    check_out_dir(plan, args.out, resume=args.resume)  # before the progress bar shows
    with sweep_progress(console) as progress:
        bar = progress.add_task("sweep", total=plan.size())
        outcome = run_sweep(plan, args.out, concurrency=args.concurrency, workers=args.workers,
                            resume=args.resume, trace_dir=args.trace_dir,
                            durable=args.durable, on_row=lambda _: progress.advance(bar))
        progress.update(bar, completed=outcome.recorded)
    if args.json:
        print(dumps_line(outcome.summary))
    else:
        print_summary(console, outcome.summary)
        console.print(f"{outcome.ran} episodes run, {outcome.skipped} already done"
                      + (f", {outcome.dropped_lines} torn line(s) dropped"
                         if outcome.dropped_lines else "")
                      + (f", {outcome.duplicates} repeated row(s) counted once"
                         if outcome.duplicates else "")
                      + f"; results in {args.out}", markup=False)
    if outcome.lost:
        print(f"{len(outcome.lost)} episode(s) lost to worker processes that died; the "
              "summary leaves them out and --resume runs them again:", file=sys.stderr)
        for lost in outcome.lost[:20]:
            print(f"  {lost['task_id']} persona {lost['persona']} seed {lost['seed']}: "
                  f"{lost['why']}", file=sys.stderr)
        if len(outcome.lost) > 20:
            print(f"  and {len(outcome.lost) - 20} more", file=sys.stderr)
    if outcome.stop_signal is not None:
        console.print("interrupted: the summary covers the episodes that finished; "
                      "--resume runs the rest", markup=False)
        return 128 + outcome.stop_signal  # 130 for Ctrl-C, 143 for SIGTERM
    return 1 if outcome.lost else 0


def _cmd_grade(args: argparse.Namespace, console: Console) -> int:
    from sim.grading import ImpossibleTraceError

    trace = Trace.read(args.trace)
    if trace.result is None:
        raise BadInput(f"{args.trace}: no result line, so the trace is incomplete (cut short?); "
                       "allowed: a whole trace as run_sim.py writes it")
    task = _stored_task(args, trace)
    try:
        report = grade(task, trace)
    except ImpossibleTraceError as error:
        raise BadInput(f"{args.trace}: {error}") from None
    if args.json:
        print(dumps_line(report.model_dump(mode="json")))
    else:
        print_report(console, report)
    return 0


def _stored_task(args: argparse.Namespace, trace: Trace) -> SupportTaskSpec:
    """The task ``trace`` ran (``--task-file``, or its id in the task folders), checked
    against the trace's task hash."""
    seed = trace.header.seed  # a family's variant is the one this seed picks
    try:
        task = (load_task_file(args.task_file, seed) if args.task_file
                else get_task(trace.header.task_id, args.tasks_dir, seed=seed))
    except TaskLoadError as error:
        raise BadInput(f"{args.trace}: {error}") from None
    if task.content_hash != trace.header.task_hash:
        what = f"task {task.task_id!r}" + (f" (seed {seed}'s variant)" if task.family else "")
        raise BadInput(f"{args.trace}: task_hash {trace.header.task_hash} differs from {what} "
                       f"({task.content_hash}); allowed: a trace of this task")
    return task


def _cmd_show(args: argparse.Namespace, console: Console) -> int:
    trace = Trace.read(args.trace)
    task = _stored_task(args, trace)
    print_transcript(console, trace, task)
    result = trace.result
    if result is None:
        console.print("no result line: the trace was cut short", markup=False)
    else:
        score = "none" if result.score is None else f"{result.score:.3f}"
        console.print(f"termination: {result.termination_reason} after {result.steps} step(s), "
                      f"{result.sim_minutes} simulated min; score {score} as stored (grade "
                      "re-grades it)" + (f"; error: {result.error}" if result.error else ""),
                      markup=False)
    return 0


def _cmd_schema(args: argparse.Namespace, console: Console) -> int:
    if args.name is not None:
        schema = json_schema(args.name)
        print(dumps_line(schema) if args.json else json.dumps(schema, indent=2))
    elif args.json:
        print(dumps_line({name: json_schema(name) for name in SCHEMAS}))
    else:
        for name, (what, _) in SCHEMAS.items():
            print(f"{name:<12} {what}")
        print("schema NAME prints one as JSON Schema; schema --json prints all of them")
    return 0


def _cmd_tasks(args: argparse.Namespace, console: Console) -> int:
    if args.show is not None:
        spec = _task(args.show, args.tasks_dir, args.seed).model_dump(mode="json")
        print(dumps_line(spec) if args.json else json.dumps(spec, indent=2, ensure_ascii=False))
        return 0
    if args.seed:
        raise BadInput(f"--seed {args.seed}: given without --show; allowed: --seed with --show ID")
    for task_id, family in discover_families(args.tasks_dir).items():
        if args.json:
            print(dumps_line({"id": task_id, "difficulty": family.difficulty,
                              "kind": family.kind, "title": family.title}))
        else:
            print(f"{task_id:<36} {family.difficulty:<7} {family.kind:<7} {family.title}")
    return 0


def _cmd_check_task(args: argparse.Namespace, console: Console) -> int:
    from actors.checks import check_task  # hypothesis loads only for this command

    report = check_task(args.file, max_examples=args.max_examples, variants=args.variants)
    console.print(report.render(), markup=False)
    return report.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run"])
    # An agent named module.path:attribute resolves from the current folder too (SPEC §3),
    # after everything else on the path.
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.append(str(Path.cwd()))
    # Piped output gets room for the tables rather than rich's 80 columns.
    # It redacts secrets (sim.secrets) from all it prints, as files are.
    console = RedactingConsole(highlight=False, width=None if sys.stdout.isatty() else 160)
    commands = {"run": _cmd_run, "scenario": _cmd_scenario, "sweep": _cmd_sweep,
                "grade": _cmd_grade, "show": _cmd_show, "tasks": _cmd_tasks,
                "check-task": _cmd_check_task, "schema": _cmd_schema}
    try:
        return commands[args.command](args, console)
    except BrokenPipeError:
        # The reader went away (`| head`): not an error, and nothing more to say. Point
        # stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        where = error.filename or "a file"
        print(f"run_sim.py: error: {where}: {error.strerror or error}; allowed: a path that "
              "exists and can be read or written", file=sys.stderr)
        return 2
    except (BadInput, TaskLoadError, AgentLoadError, TraceFormatError, ScenarioError,
            ValueError, argparse.ArgumentTypeError) as error:
        message = str(error).splitlines()[0] if str(error) else repr(error)
        print(f"run_sim.py: error: {redact(message)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from sim.kernel.executors import (
        exit_leaving_stray_threads,  # an agent's thread must not hang us
    )

    exit_leaving_stray_threads(main())
