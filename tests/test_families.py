"""Task families (SPEC §7): a ``FAMILY`` file gives a validated task per seed.

What is checked: loading (every way a family can be wrong fails with one line naming the
family, the seed and the field), purity (a variant is a function of (family, seed) alone,
in every process), what the shipped families promise (at least 8, at least 3 gold tuples
each over seeds 0-19, every gold field varying somewhere, the oracle at 1.0 in every
variant and world), and that memorising an episode is worth little: the oracle's seed-0
operations replayed on seeds 1-20 average at most 0.6 on every family.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.episodes import make_job, simulate_many
from bench.families import FAULT_SETS, gold_table, gold_tuple
from sim.kernel.draws import Draws
from sim.scripted import ScriptedAgent, turns_of
from tasks.base import PERSONAS, SupportTaskSpec
from tasks.errors import TaskLoadError
from tasks.family import LOAD_CHECK_SEEDS, VARIANT_MATERIAL, TaskFamily
from tasks.registry import discover_families, get_task, load_task_source

ROOT = Path(__file__).resolve().parents[1]
FAMILIES: dict[str, TaskFamily] = {
    fid: f for fid, f in discover_families().items() if f.kind == "family"}
GOLD_FIELDS = ("queue", "priority", "issue type", "status", "resolution code", "risk flags",
               "required fields")

# A family written as a user would: the refund limit of its knowledge base decides.
USER_FAMILY = '''
from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

LIMIT = 500

def FAMILY(draw: Draws) -> SupportTaskSpec:
    amount = draw.randint(100, 900)
    small = amount <= LIMIT
    name = draw.choice(["Ana Ruiz", "Bo Lind", "Chen Wei", "Dara Okafor"])
    return SupportTaskSpec(
        task_id=TASK_ID, difficulty="easy", title="Refund request",
        objective="Refund or escalate as the refund policy says.",
        ticket=SupportTicket(
            customer_name=name, customer_tier="pro", company="Acme",
            subject="Please refund my order", body=f"I was charged ${amount} by mistake.",
            region="eu-west-1", affected_users=1, sla_minutes_remaining=240),
        knowledge_base=(KnowledgeSnippet(
            article_id="kb-refunds", title="Refund policy",
            content=f"Support refunds up to ${LIMIT} itself; larger refunds go to billing."),),
        gold_queue="billing", gold_priority="normal" if small else "high",
        gold_issue_type="refund_request",
        gold_status="resolved" if small else "escalated",
        gold_resolution_code="refund_issued" if small else "runbook_investigation",
        required_requested_fields=("invoice_id",),
        required_reply_markers=((f"${amount}",),),
        follow_up_outcome="complete", follow_up_message="Billing: refund in 5 days.",
        under_escalation_deadline_step=None if small else 3,
        sla_step_cost=10, max_steps=6)
'''


def write_family(folder: Path, family_id: str = "refund_policy", body: str = USER_FAMILY,
                 ) -> Path:
    path = folder / f"{family_id}.py"
    path.write_text(f"TASK_ID = {family_id!r}\n" + body)
    return path


# -- loading ------------------------------------------------------------------------------


def test_a_user_family_gives_a_validated_variant_per_seed(tmp_path: Path) -> None:
    family = load_task_source(write_family(tmp_path))
    assert family.kind == "family" and family.family_id == "refund_policy"
    variants = [family.variant(seed) for seed in range(20)]
    assert all(v.task_id == "refund_policy" and v.family == "refund_policy" for v in variants)
    assert len({v.content_hash for v in variants}) > 10
    # The policy decides: amounts under the limit are refunded, the rest escalated.
    for v in variants:
        amount = int(v.ticket.body.split("$")[1].split(" ")[0])
        assert v.gold_status == ("resolved" if amount <= 500 else "escalated")
    assert {v.gold_status for v in variants} == {"resolved", "escalated"}
    # The same seed gives the same variant, in this process and in a fresh load.
    again = load_task_source(write_family(tmp_path))
    assert [again.variant(s).content_hash for s in range(20)] == [v.content_hash
                                                                   for v in variants]


def test_a_fixed_task_is_a_family_of_one() -> None:
    family = discover_families()["api_incident_hard"]
    assert family.kind == "task"
    assert family.variant(0) is family.variant(12345)
    assert family.variant(0).family is None
    assert get_task("api_incident_hard", seed=7) is get_task("api_incident_hard")


def _amount(seed: int) -> int:
    """The amount USER_FAMILY draws first for ``seed``."""
    return Draws(VARIANT_MATERIAL, "refund_policy", seed).randint(100, 900)


def _breaking_threshold() -> tuple[int, int]:
    """(threshold, seed): an amount at or over the threshold first occurs, among the seeds
    a family is built for when it loads, at ``seed`` > 0 (seed 0 stays below it)."""
    amounts = [_amount(seed) for seed in LOAD_CHECK_SEEDS]
    threshold = max(a for a in amounts[1:] if a > amounts[0])
    return threshold, amounts.index(threshold)


@pytest.mark.parametrize(("original", "broken", "fragments"), [
    ('gold_queue="billing"', 'gold_queue="billing" if amount < T else "nowhere"',
     ("gold_queue", "'nowhere' is not in the catalog; allowed: general_support")),
    ("task_id=TASK_ID", 'task_id=TASK_ID if amount < T else "other_id"',
     ("task_id: 'other_id' differs from the family's id", "allowed: 'refund_policy'")),
    ('difficulty="easy"', 'difficulty="easy" if amount < T else "hard"',
     ("difficulty: 'hard' differs from seed 0's; allowed: 'easy' on every seed",)),
    ('title="Refund request"', 'title="Refund request" if amount < T else 1 // 0',
     ("FAMILY (line ", "ZeroDivisionError: integer division or modulo by zero")),
])
def test_a_broken_family_fails_to_load_naming_family_seed_and_field(
    tmp_path: Path, original: str, broken: str, fragments: tuple[str, ...]
) -> None:
    threshold, seed = _breaking_threshold()
    assert original in USER_FAMILY
    body = USER_FAMILY.replace(original, broken.replace(" T ", f" {threshold} "), 1)
    path = write_family(tmp_path, body=body)
    with pytest.raises(TaskLoadError) as caught:
        load_task_source(path)  # the seeds of LOAD_CHECK_SEEDS are built as it loads
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    assert f"family 'refund_policy', seed {seed}: " in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_a_variant_that_breaks_only_at_a_later_seed_fails_when_that_seed_is_asked_for(
    tmp_path: Path
) -> None:
    early = {_amount(seed) for seed in LOAD_CHECK_SEEDS}
    late = next(seed for seed in range(LOAD_CHECK_SEEDS.stop, 1000) if _amount(seed) not in early)
    body = USER_FAMILY.replace(
        "    small = amount <= LIMIT",
        f"    if amount == {_amount(late)}:\n        raise KeyError('no such price list')\n"
        "    small = amount <= LIMIT")
    family = load_task_source(write_family(tmp_path, body=body))  # loads: seeds 0-7 are fine
    with pytest.raises(TaskLoadError, match=f"seed {late}: FAMILY \\(line \\d+\\): KeyError"):
        family.variant(late)
    assert family.variant(0).task_id == "refund_policy"


@pytest.mark.parametrize(("source", "fragment"), [
    ("FAMILY = 3\n", "FAMILY: a int; allowed: a function"),
    ("TASK = None\ndef FAMILY(draw): pass\n", "returned a NoneType"),
    ("import itertools\n_N = itertools.count()\n"
     "def FAMILY(draw):\n    from tasks.registry import get_task\n"
     "    t = get_task('duplicate_charge_easy')\n"
     "    return t.model_copy(update={'task_id': 'impure', "
     "'sla_step_cost': 1 + next(_N) % 5})\n",
     "two builds of this seed differ; allowed: a pure function"),
])
def test_a_family_that_is_not_a_function_of_its_draw_is_refused(
    tmp_path: Path, source: str, fragment: str
) -> None:
    path = tmp_path / "impure.py"
    path.write_text(source)
    with pytest.raises(TaskLoadError, match=r"impure\.py") as caught:
        load_task_source(path)
    assert fragment in str(caught.value), str(caught.value)


def test_a_file_defining_both_task_and_family_is_refused(tmp_path: Path) -> None:
    path = write_family(tmp_path, body=USER_FAMILY + "\nTASK = FAMILY\n")
    with pytest.raises(TaskLoadError, match="TASK and FAMILY: both defined"):
        load_task_source(path)


# -- purity -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(family_id=st.sampled_from(sorted(FAMILIES)), seed=st.integers(0, 2**63))
def test_a_variant_is_a_pure_function_of_family_and_seed(family_id: str, seed: int) -> None:
    family = FAMILIES[family_id]
    fresh = load_task_source(family.path)  # type: ignore[arg-type]
    built = fresh.variant(seed)
    assert isinstance(built, SupportTaskSpec) and built.task_id == family_id
    assert built.family == family_id
    assert built.content_hash == family.variant(seed).content_hash
    assert built.difficulty == family.difficulty


def test_variants_are_the_same_in_every_process() -> None:
    # String hashing is salted per process: a family that iterated over a set of strings,
    # or read the clock, would give other variants in another process.
    code = ("import json; from tasks.registry import discover_families; print(json.dumps("
            "{i: [f.variant(s).content_hash for s in range(20)] "
            "for i, f in discover_families().items()}))")
    outputs = []
    for hash_seed in ("1", "2"):
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": hash_seed},
                              timeout=120, check=True)
        outputs.append(json.loads(proc.stdout))
    here = {i: [f.variant(s).content_hash for s in range(20)]
            for i, f in discover_families().items()}
    assert outputs[0] == outputs[1] == here


# -- the shipped families -----------------------------------------------------------------


def test_at_least_eight_families_ship_and_the_seed_stays_a_fixed_task() -> None:
    # (test_seed_task checks the seed file's bytes against the shared seed.)
    assert len(FAMILIES) >= 8, sorted(FAMILIES)
    assert discover_families()["api_incident_hard"].kind == "task"


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_each_family_gives_at_least_three_gold_tuples_over_seeds_0_to_19(
    family_id: str
) -> None:
    table = gold_table(FAMILIES[family_id])
    assert len(table) >= 3, table


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_a_family_writes_its_policy_once_so_the_ticket_decides(family_id: str) -> None:
    """The knowledge base is the same for every variant: an agent that reads only it
    cannot tell the variants' gold apart; only the ticket's facts can."""
    family = FAMILIES[family_id]
    bases = {family.variant(seed).knowledge_base for seed in range(20)}
    assert len(bases) == 1
    tickets = {gold_tuple(family.variant(seed)): family.variant(seed).ticket
               for seed in range(20)}
    assert len(set(tickets.values())) == len(tickets) >= 3


def test_every_gold_field_varies_in_some_family() -> None:
    varies = {name: False for name in GOLD_FIELDS}
    for family in FAMILIES.values():
        golds = [gold_tuple(family.variant(seed)) for seed in range(20)]
        for index, name in enumerate(GOLD_FIELDS):
            varies[name] |= len({gold[index] for gold in golds}) > 1
    assert all(varies.values()), varies


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_the_oracle_scores_one_on_every_variant_in_every_world(family_id: str) -> None:
    family = FAMILIES[family_id]
    jobs = [make_job(family.variant(seed), "oracle", seed=seed, persona=persona, faults=faults)
            for seed in range(20) for persona in PERSONAS for faults in FAULT_SETS]
    short = [(r.seed, r.persona, r.faults, r.score) for r in simulate_many(jobs)
             if r.score != 1.0]
    assert not short, short[:5]


@pytest.mark.parametrize("family_id", sorted(FAMILIES))
def test_replaying_the_oracles_seed_0_operations_on_seeds_1_to_20_scores_at_most_0_6(
    family_id: str
) -> None:
    family = FAMILIES[family_id]
    [oracle] = simulate_many([make_job(family.variant(0), "oracle", seed=0)])
    script = turns_of(oracle.trace)
    assert oracle.score == 1.0 and any(script)
    # The replay is exact where the world is the same: on seed 0 it scores what the oracle did.
    [same] = simulate_many([make_job(family.variant(0), lambda: ScriptedAgent(script),
                                     seed=0, agent_name="replay")])
    assert same.score == 1.0
    replays = simulate_many([make_job(family.variant(seed), lambda: ScriptedAgent(script),
                                      seed=seed, agent_name="replay")
                             for seed in range(1, 21)])
    mean = statistics.fmean(r.score for r in replays)
    assert mean <= 0.6, (family_id, round(mean, 3), [round(r.score, 2) for r in replays])


# -- the command line ---------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def test_tasks_json_lists_every_task_and_family_with_its_kind(tmp_path: Path) -> None:
    write_family(tmp_path)
    proc = run_cli("tasks", "--json", "--tasks-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == set(discover_families([tmp_path]))
    assert by_id["refund_policy"] == {"id": "refund_policy", "difficulty": "easy",
                                      "kind": "family", "title": "Refund request"}
    assert by_id["api_incident_hard"]["kind"] == "task"
    assert {row["kind"] for row in rows} == {"task", "family"}


def test_tasks_show_prints_the_variant_a_seed_picks_with_its_gold(tmp_path: Path) -> None:
    write_family(tmp_path)
    family = load_task_source(tmp_path / "refund_policy.py")
    shown = {}
    for seed in (0, 1, 2, 3):
        proc = run_cli("tasks", "--tasks-dir", str(tmp_path), "--show", "refund_policy",
                       "--seed", str(seed), "--json")
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == 1
        shown[seed] = SupportTaskSpec.model_validate(json.loads(proc.stdout))
        assert shown[seed] == family.variant(seed)
        assert shown[seed].content_hash == family.variant(seed).content_hash
        assert shown[seed].gold_status in {"resolved", "escalated"}
    assert len({spec.content_hash for spec in shown.values()}) == 4
    proc = run_cli("tasks", "--show", "api_incident_hard")  # without --json: indented
    assert proc.returncode == 0 and json.loads(proc.stdout)["gold_queue"] == "platform_engineering"


def test_run_grade_and_sweep_name_the_variant(tmp_path: Path) -> None:
    write_family(tmp_path)
    family = load_task_source(tmp_path / "refund_policy.py")
    trace = tmp_path / "t.jsonl"
    proc = run_cli("run", "--tasks-dir", str(tmp_path), "--task", "refund_policy", "--seed", "5",
                   "--agent", "oracle", "--json", "--trace", str(trace))
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    assert row["variant_hash"] == family.variant(5).content_hash and row["score"] == 1.0
    header = json.loads(trace.read_text().splitlines()[0])
    assert header["family"] == "refund_policy"
    assert header["variant_hash"] == header["task_hash"] == family.variant(5).content_hash
    graded = run_cli("grade", str(trace), "--tasks-dir", str(tmp_path), "--json")
    assert graded.returncode == 0, graded.stderr
    assert json.loads(graded.stdout)["score"] == 1.0
    # The seed picks the variant: a header claiming another seed names another variant.
    lines = trace.read_text().splitlines()
    other = next(s for s in range(6, 100) if family.variant(s).content_hash
                 != family.variant(5).content_hash)
    lines[0] = lines[0].replace('"seed":5', f'"seed":{other}')
    moved = tmp_path / "moved.jsonl"
    moved.write_text("\n".join(lines) + "\n")
    bad = run_cli("grade", str(moved), "--tasks-dir", str(tmp_path))
    assert bad.returncode == 2 and f"(seed {other}'s variant)" in bad.stderr, bad.stderr
    out = tmp_path / "sweep"
    swept = run_cli("sweep", "--tasks-dir", str(tmp_path), "--tasks", "refund_policy",
                    "--agent", "oracle", "--seeds", "6", "--out", str(out), "--json")
    assert swept.returncode == 0, swept.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["seed"]: r["variant_hash"] for r in rows} == {
        s: family.variant(s).content_hash for s in range(6)}
    assert all(r["score"] == 1.0 for r in rows)


def test_a_sweep_refuses_to_resume_after_a_family_changed(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    write_family(folder)
    out = tmp_path / "sweep"
    args = ("sweep", "--tasks-dir", str(folder), "--tasks", "refund_policy", "--agent",
            "oracle", "--seeds", "3", "--out", str(out))
    assert run_cli(*args).returncode == 0
    # The policy changes the limit: the variants differ, the plan no longer holds.
    write_family(folder, body=USER_FAMILY.replace("LIMIT = 500", "LIMIT = 600"))
    proc = run_cli(*args, "--resume")
    assert proc.returncode == 2, proc.stderr
    assert "task(s) refund_policy changed since" in proc.stderr, proc.stderr


def test_check_task_runs_the_invariants_on_twenty_variants_of_a_family(tmp_path: Path) -> None:
    path = write_family(tmp_path)
    proc = run_cli("check-task", str(path), "--max-examples", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first = proc.stdout.splitlines()[0]
    assert "20 variants (seeds 0-19)" in first, first
    oracle = next(line for line in proc.stdout.splitlines() if "oracle_scores_one" in line)
    assert "PASS" in oracle
    # Both branches ran: the invariant about later escalations applies to some variants only.
    assert "PASS later_escalation_never_raises_score" in proc.stdout


def test_a_family_broken_at_a_seed_is_bad_input_for_run(tmp_path: Path) -> None:
    early = {_amount(seed) for seed in LOAD_CHECK_SEEDS}
    late = next(seed for seed in range(LOAD_CHECK_SEEDS.stop, 1000) if _amount(seed) not in early)
    body = USER_FAMILY.replace(
        "    small = amount <= LIMIT",
        f"    if amount == {_amount(late)}:\n        amount = -amount\n"
        "    small = amount <= LIMIT").replace("affected_users=1", "affected_users=min(amount, 1)")
    write_family(tmp_path, body=body)
    ok = run_cli("run", "--tasks-dir", str(tmp_path), "--task", "refund_policy", "--json")
    assert ok.returncode == 0, ok.stderr
    proc = run_cli("run", "--tasks-dir", str(tmp_path), "--task", "refund_policy", "--seed",
                   str(late), "--json")
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    [line] = proc.stderr.strip().splitlines()
    assert f"family 'refund_policy', seed {late}: ticket.affected_users" in line, line
    assert "allowed: >= 0" in line, line
