"""What one LLM agent's requests cost: requests, cache hits, tokens, latency, dollars.

Counted per episode (one agent per episode). ``llm_requests`` counts every HTTP request
sent, retries included; ``llm_latency_seconds`` sums their wall time (not the waits
between retries, nor the wait for a free request slot). Tokens come from the ``usage``
of real answers only: an answer replayed from the cache counts as a cache hit, with no
request, no tokens, no latency and no cost. The cost is the tokens at the config's
price for the model (0 when no price is given).
"""

from __future__ import annotations

import attrs

__all__ = ["USAGE_KEYS", "Usage"]

#: The keys of :meth:`Usage.as_dict`, in order.
USAGE_KEYS = ("llm_requests", "llm_cache_hits", "llm_prompt_tokens", "llm_completion_tokens",
              "llm_latency_seconds", "llm_cost_usd")


@attrs.define
class Usage:
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_seconds: float = 0.0

    def as_dict(self, price: tuple[float, float] | None) -> dict[str, float]:
        """The figures under :data:`USAGE_KEYS`; ``price`` is (USD per million prompt
        tokens, USD per million completion tokens)."""
        prompt_price, completion_price = price or (0.0, 0.0)
        cost = (self.prompt_tokens * prompt_price
                + self.completion_tokens * completion_price) / 1_000_000
        return {
            "llm_requests": float(self.requests),
            "llm_cache_hits": float(self.cache_hits),
            "llm_prompt_tokens": float(self.prompt_tokens),
            "llm_completion_tokens": float(self.completion_tokens),
            "llm_latency_seconds": self.latency_seconds,
            "llm_cost_usd": cost,
        }
