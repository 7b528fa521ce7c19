#!/usr/bin/env bash
# Mutation testing of the grader: does the grader's test suite kill broken graders?
#
# Runs mutmut 3 over sim/grading.py ONLY, against the grader's tests:
#   * tests/test_grading_*.py, test_outlook.py, test_text_checks.py, test_oracle_worlds.py
#     (all of them), and
#   * tests/test_grader_properties.py: the tests of the suite itself, plus the per-task
#     invariant tests for a subset of tasks ($MUTATION_TASKS) to keep each mutant short.
# Hypothesis runs derandomized (CI=true loads the 'ci' profile from tests/conftest.py), with
# $SUPPORT_SIM_PROPERTY_EXAMPLES examples per task and invariant, so a re-run gives the same
# verdicts.
#
# Nothing is written into the repository: the working tree (sim, actors, tasks, tests,
# scenarios, pyproject.toml, run_sim.py) is copied to a scratch directory, the mutmut config
# is written there as setup.cfg ([mutmut] section; the repo's pyproject.toml has none), and
# mutmut builds its mutants/ folder there. The scratch directory is kept so survivors can be
# inspected (`cd DIR && mutmut show NAME`, or `mutmut browse`); delete it when done.
#
# Usage:   bench/mutation.sh [MUTANT_NAME_OR_GLOB ...]   (no argument: every mutant)
#          e.g. bench/mutation.sh 'sim.grading.x__f1*'   runs only those mutants (the rest
#          then count as "not checked" in the summary)
# Env:     MUTATION_WORKDIR   scratch directory (default: a new mktemp -d)
#          MUTATION_TASKS     tasks whose invariant tests run (default: four, see below)
#          MUTATION_JOBS      parallel mutant runs (default: 2)
#          SUPPORT_SIM_PROPERTY_EXAMPLES   hypothesis examples per test (default: 20)
#          MUTATION_PROPERTIES 0 to run the example tests only (default: 1)
#          VENV               virtualenv with mutmut and the project (default: ./.venv)
# Needs:   mutmut >= 3 in the venv (pip install 'mutmut>=3'; not a project dependency).
# Time:    530 mutants; 9-21 minutes on this 2-core machine depending on other load (the
#          selection is 110 tests, ~23 s of CPU; a killed mutant stops at its first failure).
# Output:  the kill count and share, then the diff of every mutant that was not killed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-$repo/.venv}
work=${MUTATION_WORKDIR:-$(mktemp -d -t support-sim-mutation.XXXXXX)}
jobs=${MUTATION_JOBS:-2}
# Between them: escalation with a deadline, follow-up and kept-informed (api_incident_hard);
# forbidden markers and over-escalation queues (cross_tenant_exposure_hard); a resolved
# status, premature status, no escalation (duplicate_charge_easy); empty gold sets and a
# closed status (feature_request_easy).
tasks=${MUTATION_TASKS:-"api_incident_hard cross_tenant_exposure_hard duplicate_charge_easy \
feature_request_easy"}
export CI=true
export SUPPORT_SIM_PROPERTY_EXAMPLES=${SUPPORT_SIM_PROPERTY_EXAMPLES:-20}

selection="not test_invariant_holds_on_shipped_task"
for task in $tasks; do
    selection+=" or $task"
done

# MUTATION_PROPERTIES=0 leaves the property suite out: ten times faster, a lower bound.
if [[ ${MUTATION_PROPERTIES:-1} == 0 ]]; then
    properties=""
else
    properties="    tests/test_grader_properties.py
    -k
    $selection"
fi

mkdir -p "$work"
echo "scratch directory: $work"
for item in sim actors tasks tests scenarios pyproject.toml run_sim.py; do
    cp -a "$repo/$item" "$work/"
done
find "$work" -name __pycache__ -prune -exec rm -rf {} +
rm -rf "$work/.hypothesis" "$work/tests/.hypothesis"

cat >"$work/setup.cfg" <<EOF
[mutmut]
source_paths = sim
only_mutate = sim/grading.py
also_copy =
    actors
    tasks
    scenarios
    run_sim.py
pytest_add_cli_args_test_selection =
    tests/test_grading_escalation.py
    tests/test_grading_field_collection.py
    tests/test_grading_markers.py
    tests/test_grading_penalties.py
    tests/test_grading_scores.py
    tests/test_grading_tampering.py
    tests/test_grading_ticket_criteria.py
    tests/test_grading_traces.py
    tests/test_outlook.py
    tests/test_text_checks.py
    tests/test_oracle_worlds.py
$properties
EOF

cd "$work"
start=$SECONDS
"$venv/bin/mutmut" run --max-children "$jobs" "$@"
echo "wall time: $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"

results=$("$venv/bin/mutmut" results --all true)
total=$(grep -c ': ' <<<"$results" || true)
killed=$(grep -c ': killed$' <<<"$results" || true)
echo
echo "mutants: $total  killed: $killed  not killed: $((total - killed))" \
     "($(awk -v k="$killed" -v t="$total" 'BEGIN { printf "%.1f", t ? 100 * k / t : 0 }')% killed)"
grep -v ': killed$' <<<"$results" | while read -r line; do
    name=${line%%:*}
    echo
    "$venv/bin/mutmut" show "$name"
done
echo
echo "inspect: cd $work && $venv/bin/mutmut browse"
