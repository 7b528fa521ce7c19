"""placeholder"""
class HeuristicAgent:
    inline_safe = True
    def act(self, observation):
        return []
