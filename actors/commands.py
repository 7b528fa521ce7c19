"""What each command of ``run_sim.py`` does, once its arguments are parsed.

Each ``*_command`` function takes the parsed values (no argparse here) and a console,
prints, and returns the exit status: 0 success, 1 a failed expectation or check (or
episodes lost), 128 + the signal for a sweep stopped by one. Input a command refuses is
raised, never printed: one of :data:`INPUT_ERRORS`, whose ``str`` is one line for the
user, naming what is wrong and what is allowed (the CLI prints it and exits 2).
Anything else raised is a bug and is left to surface as one.

The LLM agent's options arrive as LLMConfig keys (:func:`llm_config` checks them and
reads ``--llm-prices``); a command that runs it checks the server
(:func:`actors.agents.llm.check_server`: reachable, the key accepted, the model known)
before any episode runs.

The commands leave the process alone (the garbage collector, signals, ``sys.path``):
that is the entry point's to set.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import trio
from pydantic import ValidationError
from rich.console import Console

from actors.agents.llm import LLMConfig, LLMSetupError, check_server
from actors.agents.loading import AgentLoadError, did_you_mean, resolve_agent
from actors.console import (
    format_usage,
    print_report,
    print_summary,
    print_transcript,
    sweep_progress,
)
from actors.episodes import default_agent_timeout, simulate
from actors.scenario import ScenarioError, format_outcome, load_scenario, run_scenario_sync
from actors.sweep import (
    PLAN_FILE,
    RESULTS_FILE,
    SweepError,
    SweepPlan,
    backend_session,
    check_backend,
    check_out_dir,
    run_sweep,
)
from actors.sweep.folder import write_atomically
from sim.episode import EpisodeConfig
from sim.grading import ImpossibleTraceError, grade
from sim.kernel.executors import Executor
from sim.results import ResultsFormatError
from sim.schemas import SCHEMAS, json_schema
from sim.trace import Trace, TraceFormatError, dumps_line
from tasks import SupportTaskSpec, discover_families, get_task, list_task_ids, load_task_file
from tasks.errors import TaskLoadError, Wording, format_validation_error

__all__ = [
    "INPUT_ERRORS",
    "JSON_KEYS",
    "InputError",
    "check_task_command",
    "grade_command",
    "llm_config",
    "read_prices",
    "report_command",
    "run_command",
    "scenario_command",
    "schema_command",
    "serve_command",
    "show_command",
    "sweep_command",
    "tasks_command",
]

#: The results row's keys ``run --json`` prints, in order.
JSON_KEYS = ("task_id", "variant_hash", "seed", "agent", "persona", "faults", "privileged",
             "score", "breakdown", "termination_reason", "steps", "sim_minutes",
             "sla_breached", "invalid_operations", "error", "agent_usage")
#: Lost episodes the sweep command lists on stderr (all of them are counted).
_LOST_LISTED = 20


class InputError(ValueError):
    """Input a command refuses by its own check (a path, a flag, a trace's task);
    ``str(error)`` is one line for the user."""


#: Every error that means "the user's input is wrong", each with a one-line message:
#: what a command raises for bad input. Anything else a command raises is a bug.
INPUT_ERRORS: tuple[type[ValueError], ...] = (
    InputError, TaskLoadError, AgentLoadError, ScenarioError, SweepError, TraceFormatError,
    ResultsFormatError, LLMSetupError,
)
#: Each LLMConfig key the command line sets, and the option that sets it.
LLM_FLAGS = {"model": "--model", "base_url": "--base-url", "temperature": "--temperature",
             "max_tokens": "--max-tokens", "mode": "--llm-mode", "cache_dir": "--llm-cache",
             "max_requests_in_flight": "--max-requests-in-flight",
             "request_timeout": "--request-timeout", "prices": "--llm-prices"}
#: How messages name the command line's parts (an option's value, by Python's words).
_OPTIONS = Wording(member="option", sequence="a list", boolean="true or false",
                   table="a table", kind_of=lambda value: f"a {type(value).__name__}")
_PRICES = ('allowed: a JSON file {"model": [USD per 1M prompt tokens, USD per 1M '
           'completion tokens]}')


def _writable(path: str, what: str) -> None:
    """Fail before the work, not after it, when ``path`` cannot be written."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputError(f"{what} {path}: folder {parent} does not exist; allowed: a file in "
                         "an existing folder")
    if Path(path).is_dir():
        raise InputError(f"{what} {path}: is a folder; allowed: a file path")


def read_prices(path: str) -> dict[str, tuple[float, float]]:
    """``--llm-prices FILE``: model -> (USD per 1M prompt tokens, per 1M completion
    tokens); :class:`InputError` (one line) for a file that is not such a table."""
    where = f"--llm-prices {path}"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{where}: no such file; {_PRICES}") from None
    except (OSError, UnicodeDecodeError) as error:
        why = getattr(error, "strerror", None) or type(error).__name__
        raise InputError(f"{where}: cannot be read ({why}); {_PRICES}") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: not JSON ({error.msg} at line {error.lineno}, column "
                         f"{error.colno}); {_PRICES}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: a JSON {type(data).__name__}, not an object; {_PRICES}")
    prices: dict[str, tuple[float, float]] = {}
    for model, pair in data.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                and v >= 0 for v in pair)):
            raise InputError(f"{where}: {model!r}: {json.dumps(pair)[:80]} is not two prices; "
                             f"{_PRICES} (numbers >= 0)")
        prices[model] = (float(pair[0]), float(pair[1]))
    return prices


def _first_flag(options: Mapping[str, Any]) -> str:
    """The option that gave the first of ``options`` (LLMConfig keys)."""
    key = next(iter(options))
    if key == "cache_dir" and options[key] is None:
        return "--no-llm-cache"
    return LLM_FLAGS.get(key, key)


def llm_config(agent: str, options: Mapping[str, Any], prices_file: str | None
               ) -> LLMConfig | None:
    """The LLM agent's configuration from the command line's ``options`` (LLMConfig keys,
    the ones given) and ``--llm-prices``; ``None`` for another agent. The options without
    ``--agent llm``, or ``--agent llm`` without ``--model``, are bad input (one line)."""
    given = dict(options)
    if prices_file is not None:
        given["prices"] = read_prices(prices_file)
    if agent != "llm":
        if given:
            flags = ", ".join(LLM_FLAGS.values())
            raise InputError(f"{_first_flag(given)}: given without --agent llm; allowed: the "
                             f"LLM options ({flags}) with --agent llm only")
        return None
    if "model" not in given:
        resolve_agent(agent)  # its one line: the LLM agent needs --model
    try:
        return LLMConfig(**given)
    except ValidationError as error:  # "temperature: ..." -> "--temperature: ..."
        message = format_validation_error(error, _OPTIONS)
        key, sep, rest = message.partition(": ")
        raise InputError(f"{LLM_FLAGS[key]}: {rest}" if sep and key in LLM_FLAGS
                         else f"the LLM options: {message}") from None


def _check_servers(configs: Sequence[LLMConfig]) -> None:
    """Each distinct server, key and model answers: :class:`LLMSetupError` (one line) if
    not, before any episode runs."""
    checked: list[LLMConfig] = []
    for config in configs:
        if config not in checked:
            checked.append(config)
            trio.run(check_server, config)


def _task(task_id: str, tasks_dirs: Sequence[str], seed: int) -> SupportTaskSpec:
    """The task ``task_id`` gives for ``seed``; a typo gets the closest id in its error."""
    known = list_task_ids(tasks_dirs)
    if task_id not in known:
        raise InputError(f"task {task_id!r} is unknown; {did_you_mean(task_id, known)}"
                         f"allowed: {', '.join(known)}")
    return get_task(task_id, tasks_dirs, seed=seed)


def _stored_task(trace_path: str, trace: Trace, tasks_dirs: Sequence[str],
                 task_file: str | None) -> SupportTaskSpec:
    """The task ``trace`` ran (``task_file``, or its id in the task folders), checked
    against the trace's task hash."""
    seed = trace.header.seed  # a family's variant is the one this seed picks
    try:
        task = (load_task_file(task_file, seed) if task_file
                else get_task(trace.header.task_id, tasks_dirs, seed=seed))
    except TaskLoadError as error:
        raise InputError(f"{trace_path}: {error}") from None
    if task.content_hash != trace.header.task_hash:
        what = f"task {task.task_id!r}" + (f" (seed {seed}'s variant)" if task.family else "")
        raise InputError(f"{trace_path}: task_hash {trace.header.task_hash} differs from "
                         f"{what} ({task.content_hash}); allowed: a trace of this task")
    return task


def run_command(console: Console, *, task_id: str, agent: str, seed: int,
                persona: str | None, faults: Sequence[str], agent_timeout: float | None,
                agent_executor: Executor, privileged: bool, tasks_dirs: Sequence[str],
                trace: str | None, as_json: bool, llm: LLMConfig | None = None) -> int:
    """One episode: its transcript and grade report, or (``as_json``) its results row.
    ``llm`` configures the agent ``llm`` (see :func:`llm_config`)."""
    task = _task(task_id, tasks_dirs, seed)
    if trace:
        _writable(trace, "--trace")
    if llm is not None:
        _check_servers([llm])
    config = EpisodeConfig(agent_timeout=agent_timeout or default_agent_timeout(llm),
                           agent_executor=agent_executor)
    result = trio.run(lambda: simulate(task, agent, seed=seed, persona=persona, faults=faults,
                                       config=config, privileged=privileged, llm=llm))
    if trace:
        result.trace.write(trace)
    if as_json:
        summary = result.summary()
        print(dumps_line({k: summary[k] for k in JSON_KEYS}))
        return 0
    print_transcript(console, result.trace, task)
    print_report(console, grade(task, result.trace))
    console.print(f"termination: {result.termination_reason}"
                  + (f" ({result.error})" if result.error else ""), markup=False)
    if result.agent_usage is not None:
        console.print(format_usage(result.agent_usage), markup=False)
    return 0


def scenario_command(console: Console, files: Sequence[str], *,
                     llm_options: Mapping[str, Any] | None = None,
                     llm_prices: str | None = None) -> int:
    """Every scenario file, each loaded before any runs; 1 if one failed a check.
    ``llm_options`` and ``llm_prices`` (as for :func:`llm_config`) override the ``[llm]``
    tables of the scenarios whose agent is ``llm``."""
    options = dict(llm_options or {})
    if llm_prices is not None:
        options["prices"] = read_prices(llm_prices)
    if options:  # an option's own error names the option, not a file it lands in
        llm_config("llm", {"model": "any", **options}, None)
    scenarios = [load_scenario(path, options) for path in files]  # all bad input first
    configs = [scenario.llm for scenario in scenarios if scenario.llm is not None]
    if options and not configs:
        raise InputError(f'{_first_flag(options)}: given, but no scenario has agent = "llm"; '
                         'allowed: the LLM options with a scenario of agent = "llm"')
    _check_servers(configs)
    failed = 0
    for scenario in scenarios:
        outcome = run_scenario_sync(scenario)
        failed += not outcome.passed
        console.print(format_outcome(outcome), markup=False)
    console.print(f"{len(scenarios) - failed} passed, {failed} failed")
    return 1 if failed else 0


def sweep_command(console: Console, plan: SweepPlan, *, out: str, concurrency: int,
                  workers: int | None, resume: bool, durable: bool, trace_dir: str | None,
                  as_json: bool, backend: str = "local", address: str | None = None,
                  batch_size: int | None = None) -> int:
    """A sweep with a progress bar, then its summary (or ``as_json``, summary.json alone
    on stdout); 1 if episodes were lost, 128 + the signal that stopped it. The ray
    backend connects (or starts its local instance) before the progress bar shows."""
    check_backend(backend, address=address, batch_size=batch_size, workers=workers)
    plan.validate()
    for flag, folder in (("--out", out), ("--trace-dir", trace_dir)):
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            raise InputError(f"{flag} {folder}: is a file; allowed: a folder (made if missing)")
    check_out_dir(plan, out, resume=resume)  # before the progress bar shows
    if plan.llm is not None:
        _check_servers([plan.llm])
    with (backend_session(backend, address=address, workers=workers),
          sweep_progress(console) as progress):
        bar = progress.add_task("sweep", total=plan.size())
        outcome = run_sweep(plan, out, concurrency=concurrency, workers=workers,
                            resume=resume, trace_dir=trace_dir, durable=durable,
                            on_row=lambda _: progress.advance(bar), backend=backend,
                            address=address, batch_size=batch_size)
        progress.update(bar, completed=outcome.recorded)
    if as_json:
        print(dumps_line(outcome.summary))
    else:
        print_summary(console, outcome.summary)
        console.print(f"{outcome.ran} episodes run, {outcome.skipped} already done"
                      + (f", {outcome.dropped_lines} torn line(s) dropped"
                         if outcome.dropped_lines else "")
                      + (f", {outcome.duplicates} repeated row(s) counted once"
                         if outcome.duplicates else "")
                      + f"; results in {out}", markup=False)
    if outcome.lost:
        print(f"{len(outcome.lost)} episode(s) lost to worker processes that died; the "
              "summary leaves them out and --resume runs them again:", file=sys.stderr)
        for lost in outcome.lost[:_LOST_LISTED]:
            print(f"  {lost['task_id']} persona {lost['persona']} seed {lost['seed']}: "
                  f"{lost['why']}", file=sys.stderr)
        if len(outcome.lost) > _LOST_LISTED:
            print(f"  and {len(outcome.lost) - _LOST_LISTED} more", file=sys.stderr)
    if outcome.stop_signal is not None:
        console.print("interrupted: the summary covers the episodes that finished; "
                      "--resume runs the rest", markup=False)
        return 128 + outcome.stop_signal  # 130 for Ctrl-C, 143 for SIGTERM
    return 1 if outcome.lost else 0


def serve_command(console: Console, *, host: str, port: int, task_id: str,
                  tasks_dirs: Sequence[str], trace_dir: str | None, max_sessions: int) -> int:
    """The OpenEnv server (the ``openenv`` extra) until Ctrl-C (then 0) or SIGTERM; its
    URL is printed once it accepts connections."""
    _task(task_id, tasks_dirs, 0)
    try:
        from actors.openenv_env import serve
    except ImportError as error:
        raise InputError(f"serve needs the openenv extra ({error}); allowed: after "
                         "pip install -e \".[openenv]\"") from None
    if trace_dir is not None:  # made now: a folder that cannot be is an error before serving
        Path(trace_dir).mkdir(parents=True, exist_ok=True)

    def ready(url: str) -> None:
        console.print(f"serving {task_id} over OpenEnv on {url} (WebSocket sessions at "
                      f"{url.replace('http', 'ws', 1)}/ws); Ctrl-C stops", markup=False)
        sys.stdout.flush()

    try:
        serve(host=host, port=port, task=task_id, tasks_dirs=tasks_dirs,
              trace_dir=trace_dir, max_sessions=max_sessions, on_ready=ready)
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then raises it again: a server's
        # ordinary end, not an error.
        console.print("stopped", markup=False)
    except OSError as error:
        if error.filename is not None:
            raise
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}; "
                         "allowed: a local address and a free port (0 picks one)") from None
    return 0


def grade_command(console: Console, trace_path: str, *, tasks_dirs: Sequence[str],
                  task_file: str | None, as_json: bool) -> int:
    """Re-grade a stored trace against its task: the report, or one JSON object."""
    trace = Trace.read(trace_path)
    if trace.result is None:
        raise InputError(f"{trace_path}: no result line, so the trace is incomplete (cut "
                         "short?); allowed: a whole trace as run_sim.py writes it")
    task = _stored_task(trace_path, trace, tasks_dirs, task_file)
    try:
        report = grade(task, trace)
    except ImpossibleTraceError as error:
        raise InputError(f"{trace_path}: {error}") from None
    if as_json:
        print(dumps_line(report.model_dump(mode="json")))
    else:
        print_report(console, report)
    return 0


def show_command(console: Console, trace_path: str, *, tasks_dirs: Sequence[str],
                 task_file: str | None) -> int:
    """The transcript of a stored trace, and how it ended as stored."""
    trace = Trace.read(trace_path)
    task = _stored_task(trace_path, trace, tasks_dirs, task_file)
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


_REPORT_SOURCES = ("allowed: a trace file (run --trace, sweep --trace-dir) or a sweep's folder "
                   "(sweep --out)")


def _report_module() -> ModuleType:
    """:mod:`actors.report`, or :class:`InputError` naming the extra it needs (jinja2)."""
    try:
        import actors.report as report
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != "jinja2":
            raise
        raise InputError("report needs the report extra (jinja2 is not installed); allowed: "
                         "after pip install -e \".[report]\"") from None
    return report


def _report_trace(source: str) -> Trace:
    """The trace in ``source``; a sweep's results file given instead is named as such."""
    try:
        return Trace.read(source)
    except TraceFormatError:
        path = Path(source)
        if path.name == RESULTS_FILE or (path.parent / PLAN_FILE).is_file():
            raise InputError(f"{source}: a sweep's results file, not a trace; allowed: its "
                             f"folder {path.parent} (the sweep's page) or a trace file") from None
        raise


def report_command(console: Console, source: str, *, out: str | None,
                   tasks_dirs: Sequence[str], task_file: str | None,
                   trace_dir: str | None) -> int:
    """One self-contained HTML page (the ``report`` extra): an episode's, from a trace
    file (its task found as ``grade`` finds it), or a sweep's, from its folder (its cells
    linked to the traces in ``trace_dir``). Written to ``out``; by default the trace's
    name with ``.html``, next to it, or ``report.html`` in the sweep's folder."""
    path = Path(source)
    is_sweep = path.is_dir()
    if not path.exists():
        raise InputError(f"{source}: no such file or folder; {_REPORT_SOURCES}")
    if is_sweep and not (path / RESULTS_FILE).is_file():
        raise InputError(f"{source}: a folder without {RESULTS_FILE}, so not a sweep's; "
                         f"{_REPORT_SOURCES}")
    if not is_sweep and not path.is_file():
        raise InputError(f"{source}: not a regular file; {_REPORT_SOURCES}")
    if is_sweep and (task_file or tasks_dirs):
        flag = "--task-file" if task_file else "--tasks-dir"
        raise InputError(f"{flag}: given with a sweep's folder; allowed: {flag} with a trace "
                         "file (a sweep's page needs no task)")
    if trace_dir is not None and not is_sweep:
        raise InputError("--trace-dir: given with a trace file; allowed: --trace-dir with a "
                         "sweep's folder")
    if trace_dir is not None and not Path(trace_dir).is_dir():
        raise InputError(f"--trace-dir {trace_dir}: no such folder; allowed: the sweep's "
                         "trace folder (sweep --trace-dir)")
    target = Path(out) if out else (path / "report.html" if is_sweep
                                    else path.with_suffix(".html"))
    _writable(str(target), "--out")
    if not is_sweep and target.resolve() == path.resolve():
        raise InputError(f"--out {target}: is the trace itself; allowed: another file")
    report = _report_module()
    if is_sweep:
        page = report.sweep_page(path, page_dir=target.parent, trace_dir=trace_dir)
        what = "sweep report"
    else:
        trace = _report_trace(source)
        task = _stored_task(source, trace, tasks_dirs, task_file)
        try:
            page = report.episode_page(trace, task, source=path.name)
        except ImpossibleTraceError as error:
            raise InputError(f"{source}: {error}") from None
        what = "episode report"
    write_atomically(target, page)
    console.print(f"{what}: {target} ({len(page.encode()):,} bytes)", markup=False)
    return 0


def tasks_command(console: Console, *, tasks_dirs: Sequence[str], show: str | None, seed: int,
                  as_json: bool) -> int:
    """The tasks and families, a line each; or (``show``) one task's whole spec."""
    if show is not None:
        spec = _task(show, tasks_dirs, seed).model_dump(mode="json")
        print(dumps_line(spec) if as_json else json.dumps(spec, indent=2, ensure_ascii=False))
        return 0
    if seed:
        raise InputError(f"--seed {seed}: given without --show; allowed: --seed with --show ID")
    for task_id, family in discover_families(tasks_dirs).items():
        if as_json:
            print(dumps_line({"id": task_id, "difficulty": family.difficulty,
                              "kind": family.kind, "title": family.title}))
        else:
            print(f"{task_id:<36} {family.difficulty:<7} {family.kind:<7} {family.title}")
    return 0


def check_task_command(console: Console, path: str, *, max_examples: int,
                       variants: int) -> int:
    """Validate a task file and run the invariants; 1 if one fails."""
    from actors.checks import check_task  # hypothesis loads only for this command

    report = check_task(path, max_examples=max_examples, variants=variants)
    console.print(report.render(), markup=False)
    return report.exit_code


def schema_command(console: Console, name: str | None, *, as_json: bool) -> int:
    """A JSON Schema by name, all of them (``as_json``), or the list of names."""
    if name is not None:
        schema = json_schema(name)
        print(dumps_line(schema) if as_json else json.dumps(schema, indent=2))
    elif as_json:
        print(dumps_line({key: json_schema(key) for key in SCHEMAS}))
    else:
        for key, (what, _) in SCHEMAS.items():
            print(f"{key:<12} {what}")
        print("schema NAME prints one as JSON Schema; schema --json prints all of them")
    return 0
