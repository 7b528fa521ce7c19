"""The ray backend of a sweep (``sweep --backend ray``), on a local Ray instance of 2 CPUs:
the same rows, summary and trace bytes as a local sweep of the plan; a Ray worker killed
mid-batch has its batch run again and every row arrives once; an episode that kills
every worker it runs in is singled out and reported lost; ``--resume`` finishes a folder;
Ctrl-C (or SIGTERM) cancels the tasks and summarises what finished. The batch's stream
and the driver's dedupe are checked as properties. Bad options, a missing extra and an
address where no cluster answers are one line each (exit 2).

One local Ray serves the module's in-process tests (``ray_2cpus``, started after the
command-line tests, which start their own, as a user's sweep does).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ROOT, cli_env, one_line_error, start_cli
from hypothesis import given
from hypothesis import strategies as st
from sweep_helpers import (
    EASY,
    agents_fixture,  # noqa: F401  (the ``agents`` fixture)
    check_stopped_sweep,
    kill_group,
    run_cli,
    stable,
    wait_for_lines,
    wait_until_gone,
)

from actors.sweep import SweepPlan, run_sweep
from actors.sweep.ray_backend import RayPool, chunks_in_order, ray_session
from sim.results import read_results
from tasks import PERSONAS, discover_tasks

#: Agents the Ray workers import (their folder is on the local Ray's PYTHONPATH).
RAY_AGENTS = '''
import os
import signal
import time
from pathlib import Path

from actors.agents.heuristic import HeuristicAgent

HERE = Path(__file__).parent


class KillOnce(HeuristicAgent):
    """In the episode of seed 30, once the file ``release`` exists, kills its process
    (SIGKILL), the first time only: ``killed`` records the process it killed."""

    def reset(self, brief, seed):
        self.seed = seed

    def act(self, observation):
        if self.seed == 30:
            while not (HERE / "release").exists():
                time.sleep(0.02)
            try:
                fd = os.open(HERE / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return HeuristicAgent.act(self, observation)


class KillOnSeed3(HeuristicAgent):
    """Kills its process (SIGKILL) in the episode of seed 3, every time."""

    def reset(self, brief, seed):
        self.seed = seed

    def act(self, observation):
        if self.seed == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return HeuristicAgent.act(self, observation)
'''


def raw_rows(path: Path) -> list[dict[str, Any]]:
    """Every line of a results file, repeats included."""
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def ray_agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder of ``ray_agents.py``, importable here and in the Ray workers."""
    folder = tmp_path_factory.mktemp("ray_agents")
    (folder / "ray_agents.py").write_text(RAY_AGENTS)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        patch.setenv("PYTHONPATH", os.pathsep.join(
            p for p in (str(folder), os.environ.get("PYTHONPATH")) if p))
        yield folder


@pytest.fixture(scope="module")
def ray_2cpus(ray_agents: Path) -> Iterator[None]:
    """A local Ray instance of 2 CPUs for the module's in-process sweeps."""
    with ray_session(cpus=2):
        yield


# ================================================================ the command line


@pytest.mark.parametrize(("stop", "status"), [
    (lambda pid: os.killpg(pid, signal.SIGINT), 130),  # Ctrl-C: the whole foreground group
    (lambda pid: os.kill(pid, signal.SIGTERM), 143),  # a supervisor: the driver only
], ids=["ctrl-c", "sigterm"])
def test_a_stopped_ray_sweep_cancels_its_tasks_summarises_and_a_local_resume_completes(
    agents: Path, stop: Callable[[int], None], status: int,
) -> None:
    out = agents / "out"
    args = ("sweep", "--tasks", EASY, "--agent", "agents:Slow", "--seeds", "16",
            "--concurrency", "4", "--out", str(out))
    proc = start_cli(*args, "--backend", "ray", "--workers", "2", "--batch-size", "2",
                     cwd=agents)
    try:
        wait_for_lines(out / "results.jsonl", 2, proc)
        stop(proc.pid)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        kill_group(proc)
    rows = check_stopped_sweep(proc, stdout, stderr, out, status, range(2, 16))
    pids = [int(p.name) for p in (agents / "pids").iterdir()]
    assert proc.pid not in pids and wait_until_gone(pids) == []  # the Ray workers ended
    # The backend is not part of the plan: a local sweep finishes the folder.
    resumed = run_cli(*args, "--resume", "--workers", "2", cwd=agents)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{16 - len(rows)} episodes run, {len(rows)} already done" in resumed.stdout
    rows = raw_rows(out / "results.jsonl")
    assert sorted(r["seed"] for r in rows) == list(range(16))


@pytest.mark.parametrize(("options", "fragments"), [
    (["--address", "127.0.0.1:1"], ["--address 127.0.0.1:1: the ray backend's option",
                                     "--backend ray --address"]),
    (["--batch-size", "4"], ["--batch-size 4: the ray backend's option"]),
    (["--backend", "ray", "--address", "127.0.0.1:1", "--workers", "2"],
     ["--workers 2: sizes a local Ray instance", "not both"]),
    (["--backend", "ray", "--address", "nowhere"], ["--address nowhere: not an address",
                                                    "allowed: HOST:PORT"]),
    (["--backend", "ray", "--address", "127.0.0.1:1"],
     ["--address 127.0.0.1:1: no Ray cluster answers there (Connection refused)",
      "or no --address for a local Ray instance"]),
], ids=["address without ray", "batch size without ray", "workers with an address",
        "not an address", "nothing answers"])
def test_bad_ray_options_are_one_line_and_write_nothing(
    tmp_path: Path, options: list[str], fragments: list[str],
) -> None:
    out = tmp_path / "out"
    proc = run_cli("sweep", "--tasks", EASY, "--seeds", "2", "--out", str(out), *options,
                   cwd=tmp_path)
    line = one_line_error(proc)
    for fragment in fragments:
        assert fragment in line
    assert not out.exists()


def test_without_the_extra_a_local_sweep_runs_and_ray_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "import run_sim\n"
        f"assert run_sim.main(['sweep', '--tasks', '{EASY}', '--seeds', '2', '--out', "
        "'local', '--json']) == 0\n"
        "assert 'ray' not in sys.modules or sys.modules['ray'] is None\n"
        f"sys.exit(run_sim.main(['sweep', '--tasks', '{EASY}', '--seeds', '2', '--out', "
        "'ray', '--backend', 'ray']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env=cli_env({"PYTHONPATH": str(ROOT)}))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["overall"]["episodes"] == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "run_sim.py: error: the ray extra is not installed; pip install -e '.[ray]'")
    assert not (tmp_path / "ray").exists()


def test_the_local_backend_never_imports_ray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from actors.sweep import SweepPlan, run_sweep\n"
        f"run_sweep(SweepPlan(tasks=('{EASY}',), agent='oracle', seeds=2, "
        "personas=('cooperative',)), 'out')\n"
        "print('ray' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=cli_env({"PYTHONPATH": str(ROOT)}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "False"


# ===================================================== the same results as a local sweep


def test_a_ray_sweep_gives_a_local_sweeps_rows_summary_and_trace_bytes(
    tmp_path: Path, ray_2cpus: None,
) -> None:
    plan = SweepPlan(tasks=tuple(discover_tasks()), agent="heuristic", seeds=1,
                     personas=tuple(PERSONAS), faults=("eta_slips",))
    run_sweep(plan, tmp_path / "local", workers=2, trace_dir=tmp_path / "t_local")
    # Batches of 7: many batches, none a multiple of the stream's chunk.
    ray = run_sweep(plan, tmp_path / "ray", backend="ray", batch_size=7,
                    trace_dir=tmp_path / "t_ray")
    assert (ray.recorded, ray.ran, ray.lost) == (plan.size(), plan.size(), [])
    local_rows, _ = read_results(tmp_path / "local" / "results.jsonl")
    rows = raw_rows(tmp_path / "ray" / "results.jsonl")
    assert len(rows) == plan.size()  # each episode once, in the file itself
    assert stable(rows) == stable(local_rows)
    for name in ("summary.json", "plan.json"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    traces = sorted(p.name for p in (tmp_path / "t_local").iterdir())
    assert len(traces) == plan.size()
    assert sorted(p.name for p in (tmp_path / "t_ray").iterdir()) == traces
    for name in traces:
        assert (tmp_path / "t_ray" / name).read_bytes() == \
            (tmp_path / "t_local" / name).read_bytes(), name


# ============================================ a killed worker: its batch runs again


def test_a_killed_ray_worker_reruns_its_batch_and_every_row_arrives_once(
    tmp_path: Path, ray_agents: Path, ray_2cpus: None, capfd: pytest.CaptureFixture[str],
) -> None:
    # One batch of 40, five episodes at a time; the agent decides in a thread, so that
    # seed 30 can wait, without stopping the others, until the driver holds the batch's
    # first rows, then kills its Ray worker: the retry's stream repeats those rows.
    plan = SweepPlan(tasks=(EASY,), agent="ray_agents:KillOnce", seeds=40,
                     personas=("cooperative",), agent_executor="thread")
    release, killed = ray_agents / "release", ray_agents / "killed"
    release.touch()
    killed.write_text("not here")  # the local sweep runs without the kill
    local = run_sweep(plan, tmp_path / "local", workers=1, concurrency=5)
    assert local.recorded == 40 and local.lost == []
    release.unlink()
    killed.unlink()
    arrived: list[int] = []

    def on_row(row: dict[str, Any]) -> None:
        arrived.append(row["seed"])
        if len(arrived) == 25:
            release.touch()

    capfd.readouterr()
    try:
        ray = run_sweep(plan, tmp_path / "ray", backend="ray", batch_size=40, concurrency=5,
                        on_row=on_row)
    finally:
        release.touch()
    # Ray's word of the dead worker and the retry stays in its logs: stdout stays the
    # sweep's (sweep --json prints JSON alone).
    assert capfd.readouterr() == ("", "")
    pid = int(killed.read_text())  # the kill happened, in a Ray worker
    assert pid != os.getpid() and wait_until_gone([pid]) == []
    assert (ray.recorded, ray.lost, ray.summary["complete"]) == (40, [], True)
    assert sorted(arrived) == list(range(40))  # each row once, first rows included
    rows = raw_rows(tmp_path / "ray" / "results.jsonl")
    assert sorted(r["seed"] for r in rows) == list(range(40))
    assert stable(rows) == stable(read_results(tmp_path / "local" / "results.jsonl")[0])
    assert (tmp_path / "ray" / "summary.json").read_bytes() == \
        (tmp_path / "local" / "summary.json").read_bytes()


def test_an_episode_that_kills_every_worker_is_singled_out_and_lost(
    tmp_path: Path, ray_2cpus: None,
) -> None:
    # No retries: each failure splits the batch, 8 -> 4 -> 2 -> 1 episodes.
    plan = SweepPlan(tasks=(EASY,), agent="ray_agents:KillOnSeed3", seeds=8,
                     personas=("cooperative",))
    seen: list[dict[str, Any]] = []
    lost = RayPool(plan, 8, None, seen.append, lambda: None, batch_size=8,
                   retries=0).run(iter(range(8)), 8)
    assert sorted(r["seed"] for r in seen) == [0, 1, 2, 4, 5, 6, 7]
    assert lost == {3: "the Ray worker process died (0 retries spent)"}


# ======================================================================== resume


def test_resume_on_ray_runs_only_what_a_folder_lacks(tmp_path: Path, ray_2cpus: None) -> None:
    plan = SweepPlan(tasks=(EASY, "password_reset_easy"), agent="heuristic", seeds=10,
                     personas=("cooperative", "silent"))
    whole = run_sweep(plan, tmp_path / "whole", backend="ray")
    out = tmp_path / "cut"
    out.mkdir()
    lines = (tmp_path / "whole" / "results.jsonl").read_text().splitlines(keepends=True)
    (out / "results.jsonl").write_text("".join(lines[:13]) + lines[13][:40])  # + a torn line
    (out / "plan.json").write_bytes((tmp_path / "whole" / "plan.json").read_bytes())
    resumed = run_sweep(plan, out, backend="ray", resume=True, batch_size=4)
    assert (resumed.skipped, resumed.ran, resumed.dropped_lines) == (13, 27, 1)
    rows = raw_rows(out / "results.jsonl")
    assert len(rows) == plan.size() == whole.recorded
    assert stable(rows) == stable(raw_rows(tmp_path / "whole" / "results.jsonl"))
    assert (out / "summary.json").read_bytes() == (tmp_path / "whole" / "summary.json").read_bytes()


# ==================================================== the stream and the driver's dedupe


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(1, 12), st.permutations(range(n)))))
def test_a_batch_streams_the_same_chunks_whatever_order_its_episodes_end(
    case: tuple[int, int, list[int]],
) -> None:
    count, size, order = case
    chunks = list(chunks_in_order(count, size, ((p, f"row {p}") for p in order)))
    assert chunks == [[f"row {p}" for p in range(start, min(start + size, count))]
                      for start in range(0, count, size)]


def test_a_batch_whose_episodes_do_not_all_end_says_so() -> None:
    with pytest.raises(RuntimeError, match="1 of 3 episodes unfinished"):
        list(chunks_in_order(3, 2, [(0, "a"), (1, "b")]))


@given(st.lists(st.lists(st.integers(0, 29), max_size=8), max_size=12))
def test_the_driver_writes_each_episodes_row_once_whatever_arrives_twice(
    chunks: list[list[int]],
) -> None:
    plan = SweepPlan(tasks=(EASY,), agent="heuristic", seeds=30, personas=("cooperative",))
    written: list[dict[str, Any]] = []
    pool = RayPool(plan, 1, None, written.append, lambda: None)
    for chunk in chunks:
        pool._accept([(i, {"seed": i}, None) for i in chunk])
    firsts = list(dict.fromkeys(i for chunk in chunks for i in chunk))
    assert written == [{"seed": i} for i in firsts]
