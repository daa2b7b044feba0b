"""checks: the one pipeline every command and the agent use, its typed results, fleet and validate."""
