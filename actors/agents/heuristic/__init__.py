"""The heuristic agent: a runbook-reading baseline that sees only what an agent sees.

It never reads a task's gold fields: everything it does comes from the brief ``reset``
hands it (the knowledge base, the ticket, the title and objective, the turn length;
handed the whole task in a privileged run, it reads those fields alone), the catalog,
knowledge-base search results and the messages in each observation. It reads the
articles it finds as runbooks, follows the first that instructs, falls back on the
ticket's own signals where they are silent, and keeps the customer informed without
leaking internal ids or writing what the knowledge base forbids.

The agent is deterministic (no randomness, no global state). It does not guard itself:
an exception inside a turn ends the episode as an ``agent_error``, as it would for any
agent under test.

The package, one idea a module, each importing only those above it:

* :mod:`~actors.agents.heuristic.prose` -- finding words, clauses and catalog values in
  text, and writing ids back as words;
* :mod:`~actors.agents.heuristic.ticket` -- the ticket's own facts, runbook conditions,
  and the fallbacks its words suggest;
* :mod:`~actors.agents.heuristic.reading` -- one article read as a runbook;
* :mod:`~actors.agents.heuristic.plan` -- the plan, from every article read so far;
* :mod:`~actors.agents.heuristic.memory` -- what the agent has learnt this episode;
* :mod:`~actors.agents.heuristic.writing` -- replies and notes;
* :mod:`~actors.agents.heuristic.policy` -- each turn's operations;
* :mod:`~actors.agents.heuristic.agent` -- :class:`HeuristicAgent`, the wiring.
"""

from actors.agents.heuristic.agent import HeuristicAgent
from actors.agents.heuristic.plan import Plan, derive_plan

__all__ = ["HeuristicAgent", "Plan", "derive_plan"]
