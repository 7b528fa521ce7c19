"""The command line: ``python run_sim.py`` runs the seed task with the heuristic agent.

Subcommands: run, scenario, sweep, serve, grade, show, report, tasks, check-task, schema
(``--help`` on each).
This module parses arguments, sets up the process (the current folder on the import
path, the garbage collector tuned while episodes run, stray agent threads left behind
at exit) and calls :mod:`actors.commands`, where every command's work lives. Exit
status: 0 success, 1 a failed expectation or check, 2 bad input (a one-line reason on
stderr: the library's input errors, ``actors.commands.INPUT_ERRORS``); any other error
is a bug and surfaces as a traceback (status 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, NoReturn, get_args

from rich.console import Console

from actors import FAULTS, commands
from actors.agents.loading import did_you_mean
from actors.console import RedactingConsole
from actors.episodes import default_agent_timeout
from actors.sweep import BACKENDS, SweepPlan
from sim.kernel.executors import Executor
from sim.runner import tuned_collector
from sim.schemas import SCHEMAS
from sim.secrets import redact
from tasks import PERSONAS, discover_families

SEED_TASK = "api_incident_hard"
EXECUTORS = get_args(Executor)
PRIVILEGED_HELP = ("hand the agent a private copy of the whole task, gold included, in "
                   "reset (for grader authors' reference agents); results say so")
AGENT_HELP = ("oracle, heuristic, random, scripted, llm (with --model), or "
              "module.path:attribute (a class or factory, importable from the current folder "
              "or the Python path)")
FAULT_HELP = "a team fault to inject; repeat the option for several"
TIMEOUT_HELP = ("seconds a decision or reset may take before the episode ends as agent_timeout "
                "(default 60; 3600 for --agent llm, whose requests have their own timeout)")
EXECUTOR_HELP = ("how decisions run: auto (inline for async and built-in agents, a thread for "
                 "other sync ones), inline, thread, or process (stops CPU-bound and untrusted "
                 "agents; see README)")
TASKS_DIR_HELP = "a folder of your own task files, added to the shipped ones; repeatable"
TRACE_HELP = "a trace file (JSON Lines), as run --trace or sweep --trace-dir writes it"
TASK_FILE_HELP = "the trace's task file, for a task of your own (instead of --tasks-dir)"


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


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; allowed: a number >= 0") \
            from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text}: allowed: a finite number >= 0")
    return value


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


def _add_llm_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The LLM agent's options (SPEC §8) on ``command``: each one given goes into the
    agent's LLMConfig (for ``scenario``, over the files' ``[llm]`` tables); none is
    allowed without the LLM agent."""
    scenario = command == "scenario"
    group = parser.add_argument_group(
        "the LLM agent" + (" (over the files' [llm] tables)" if scenario else " (--agent llm)"),
        "any OpenAI-compatible server; the key from $OPENAI_API_KEY")
    group.add_argument("--model", help="the model's name, as the server knows it (required "
                                       "with --agent llm)")
    group.add_argument("--base-url", help="the server's URL, e.g. http://127.0.0.1:8080/v1 "
                                          "(default: $OPENAI_BASE_URL, else OpenAI's)")
    group.add_argument("--temperature", type=_non_negative, help="sampling temperature "
                                                                 "(default 0)")
    group.add_argument("--max-tokens", type=_positive(int, "tokens"),
                       help="completion tokens per request, at most (default 512)")
    group.add_argument("--llm-mode", choices=("tools", "json"), default=None,
                       help="tools: one tool per operation; json: constrained JSON, for "
                            "servers without tool calls (default tools)")
    cache = group.add_mutually_exclusive_group()
    cache.add_argument("--llm-cache", metavar="DIR",
                       help="the response cache: a rerun with the same inputs replays from it, "
                            "with no request (default .llm-cache)")
    cache.add_argument("--no-llm-cache", action="store_true",
                       help="neither read nor write the response cache")
    group.add_argument("--max-requests-in-flight", type=_positive(int, "requests"),
                       help="requests to the server at once, at most"
                            + (", across the whole sweep" if command == "sweep" else "")
                            + " (default 16)")
    group.add_argument("--request-timeout", type=_positive(float, "seconds"),
                       help="seconds per request before it is retried (default 60)")
    group.add_argument("--llm-prices", metavar="FILE",
                       help='a JSON file {"model": [USD per 1M prompt tokens, per 1M '
                            'completion tokens]}: the cost in results')


def _llm_options(a: argparse.Namespace) -> dict[str, Any]:
    """The LLM options given, by LLMConfig key (``--llm-prices`` apart: a file to read)."""
    given = {"model": a.model, "base_url": a.base_url, "temperature": a.temperature,
             "max_tokens": a.max_tokens, "mode": a.llm_mode, "cache_dir": a.llm_cache,
             "max_requests_in_flight": a.max_requests_in_flight,
             "request_timeout": a.request_timeout}
    options = {key: value for key, value in given.items() if value is not None}
    if a.no_llm_cache:
        options["cache_dir"] = None
    return options


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
    run.add_argument("--agent-timeout", type=_positive(float, "seconds"), default=None,
                     help=TIMEOUT_HELP)
    run.add_argument("--agent-executor", choices=EXECUTORS, default="auto", help=EXECUTOR_HELP)
    run.add_argument("--privileged", action="store_true", help=PRIVILEGED_HELP)
    run.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    run.add_argument("--trace", help="write the trace (JSON Lines) to this file")
    run.add_argument("--json", action="store_true",
                     help="print one JSON object (the results row) instead of the transcript")
    _add_llm_options(run, "run")

    scenario = sub.add_parser("scenario", help="run scripted scenarios and check expectations")
    scenario.add_argument("files", nargs="+", metavar="FILE",
                          help="a scenario file (TOML; see scenarios/ and the README)")
    _add_llm_options(scenario, "scenario")

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
    sweep.add_argument("--workers", type=_positive(int, "workers"), default=None,
                       help="processes the plan is split across (default 1); with --backend "
                            "ray, the CPUs of the local Ray instance")
    sweep.add_argument("--backend", choices=BACKENDS, default="local",
                       help="where episodes run: local worker processes, or ray: Ray tasks "
                            "on a local Ray instance or a cluster (--address), with the ray "
                            "extra")
    sweep.add_argument("--address", metavar="ADDR", default=None,
                       help="with --backend ray: a running Ray cluster's HOST:PORT, or auto "
                            "(default: start a local Ray instance)")
    sweep.add_argument("--batch-size", type=_positive(int, "episodes"), default=None,
                       help="with --backend ray: episodes per Ray task (default: about four "
                            "tasks per CPU, at most 1000)")
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
    sweep.add_argument("--agent-timeout", type=_positive(float, "seconds"), default=None,
                       help=TIMEOUT_HELP)
    sweep.add_argument("--agent-executor", choices=EXECUTORS, default="auto",
                       help=EXECUTOR_HELP)
    sweep.add_argument("--privileged", action="store_true", help=PRIVILEGED_HELP)
    sweep.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    sweep.add_argument("--json", action="store_true",
                       help="print summary.json to stdout, alone (progress goes to stderr)")
    _add_llm_options(sweep, "sweep")

    serve_cmd = sub.add_parser("serve", help="serve episodes over the OpenEnv protocol "
                                             "(HTTP and WebSocket; the openenv extra)")
    serve_cmd.add_argument("--host", default="127.0.0.1",
                           help="the address to listen on (0.0.0.0 exposes it to the network)")
    serve_cmd.add_argument("--port", type=_whole, default=8000,
                           help="the port to listen on; 0 picks a free one")
    serve_cmd.add_argument("--task", default=SEED_TASK,
                           help="the task a reset without one plays")
    serve_cmd.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    serve_cmd.add_argument("--trace-dir", default=None,
                           help="write each finished episode's trace to this folder, as "
                                "EPISODE_ID.jsonl")
    serve_cmd.add_argument("--max-sessions", type=_positive(int, "sessions"), default=256,
                           help="WebSocket sessions (episodes) open at once, at most")

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

    report = sub.add_parser("report", help="an HTML page of an episode (a trace) or of a "
                                           "sweep (its folder): self-contained, no network")
    report.add_argument("source", metavar="SOURCE",
                        help="a trace file (run --trace, sweep --trace-dir) or a sweep's "
                             "folder (sweep --out)")
    report.add_argument("-o", "--out", metavar="FILE",
                        help="the page to write (default: the trace's name with .html, next "
                             "to it; for a sweep, report.html in its folder)")
    report.add_argument("--trace-dir", metavar="DIR",
                        help="a sweep's trace folder (its sweep --trace-dir): each cell links "
                             "its episodes' traces")
    report.add_argument("--tasks-dir", action="append", default=[], help=TASKS_DIR_HELP)
    report.add_argument("--task-file", help=TASK_FILE_HELP)

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


def _sweep_plan(args: argparse.Namespace) -> SweepPlan:
    """The sweep's plan from its options; ``--tasks`` is parsed here, where the tasks
    (shipped and ``--tasks-dir``) are known."""
    try:
        tasks = _choices_list(list(discover_families(args.tasks_dir)), "tasks")(args.tasks)
    except argparse.ArgumentTypeError as error:
        raise commands.InputError(str(error)) from None
    llm = commands.llm_config(args.agent, _llm_options(args), args.llm_prices)
    return SweepPlan(tasks=tuple(tasks), agent=args.agent, seeds=args.seeds,
                     personas=tuple(args.personas), faults=tuple(args.fault),
                     tasks_dirs=tuple(args.tasks_dir),
                     agent_timeout=args.agent_timeout or default_agent_timeout(llm),
                     agent_executor=args.agent_executor, privileged=args.privileged, llm=llm)


def _run(a: argparse.Namespace, console: Console) -> int:
    return commands.run_command(
        console, task_id=a.task, agent=a.agent, seed=a.seed, persona=a.persona,
        faults=a.fault, agent_timeout=a.agent_timeout, agent_executor=a.agent_executor,
        privileged=a.privileged, tasks_dirs=a.tasks_dir, trace=a.trace, as_json=a.json,
        llm=commands.llm_config(a.agent, _llm_options(a), a.llm_prices))


def _scenario(a: argparse.Namespace, console: Console) -> int:
    return commands.scenario_command(console, a.files, llm_options=_llm_options(a),
                                     llm_prices=a.llm_prices)


def _sweep(a: argparse.Namespace, console: Console) -> int:
    return commands.sweep_command(
        console, _sweep_plan(a), out=a.out, concurrency=a.concurrency, workers=a.workers,
        resume=a.resume, durable=a.durable, trace_dir=a.trace_dir, as_json=a.json,
        backend=a.backend, address=a.address, batch_size=a.batch_size)


def _serve(a: argparse.Namespace, console: Console) -> int:
    if a.port > 65535:
        raise commands.InputError(f"--port {a.port}: allowed: 0 to 65535")
    return commands.serve_command(console, host=a.host, port=a.port, task_id=a.task,
                                  tasks_dirs=a.tasks_dir, trace_dir=a.trace_dir,
                                  max_sessions=a.max_sessions)


def _grade(a: argparse.Namespace, console: Console) -> int:
    return commands.grade_command(console, a.trace, tasks_dirs=a.tasks_dir,
                                  task_file=a.task_file, as_json=a.json)


def _show(a: argparse.Namespace, console: Console) -> int:
    return commands.show_command(console, a.trace, tasks_dirs=a.tasks_dir,
                                 task_file=a.task_file)


def _report(a: argparse.Namespace, console: Console) -> int:
    return commands.report_command(console, a.source, out=a.out, tasks_dirs=a.tasks_dir,
                                   task_file=a.task_file, trace_dir=a.trace_dir)


def _tasks(a: argparse.Namespace, console: Console) -> int:
    return commands.tasks_command(console, tasks_dirs=a.tasks_dir, show=a.show, seed=a.seed,
                                  as_json=a.json)


def _check_task(a: argparse.Namespace, console: Console) -> int:
    return commands.check_task_command(console, a.file, max_examples=a.max_examples,
                                       variants=a.variants)


def _schema(a: argparse.Namespace, console: Console) -> int:
    return commands.schema_command(console, a.name, as_json=a.json)


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "run": _run, "scenario": _scenario, "sweep": _sweep, "grade": _grade, "show": _show,
    "tasks": _tasks, "check-task": _check_task, "schema": _schema, "serve": _serve,
    "report": _report,
}
#: The commands that run episodes in this process: the entry point tunes the garbage
#: collector around them. (A sweep's worker processes tune their own.)
RUNS_EPISODES = frozenset({"run", "scenario", "check-task"})


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, and return its exit status; bad input is one
    line on stderr and status 2, and any other error surfaces as a traceback."""
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
    if args.command == "check-task":
        # Loaded before the heap is frozen: hypothesis, as it loads, checks that trio's
        # random is referenced, and gc.freeze hides the referrers it looks for.
        import actors.checks  # noqa: F401
    try:
        with tuned_collector() if args.command in RUNS_EPISODES else nullcontext():
            return COMMANDS[args.command](args, console)
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
    except commands.INPUT_ERRORS as error:
        message = str(error).splitlines()[0] if str(error) else repr(error)
        print(f"run_sim.py: error: {redact(message)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    from sim.kernel.executors import (
        exit_leaving_stray_threads,  # an agent's thread must not hang us
    )

    exit_leaving_stray_threads(main())
