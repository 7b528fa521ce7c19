"""The LLM agent (the optional ``llm`` extra): any OpenAI-compatible model as the agent
under test.

- :class:`LLMConfig`: the model, the server and the request parameters.
- :class:`LLMAgent` / :func:`llm_agent`: the agent, and its picklable factory.
- :func:`check_server`: the check before any episode (server reachable, key taken, model
  known), raising :class:`LLMSetupError` with one line.

``import actors.agents.llm`` works without the extra; making an agent or checking a
server without it raises :class:`LLMSetupError` naming the extra to install.
"""

from actors.agents.llm.agent import LLMAgent, llm_agent
from actors.agents.llm.client import LLMRequestError, check_server
from actors.agents.llm.config import LLMConfig, LLMSetupError

__all__ = ["LLMAgent", "LLMConfig", "LLMRequestError", "LLMSetupError", "check_server",
           "llm_agent"]
