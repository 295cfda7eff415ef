"""Everything the agent can call, and the engines behind it. Never imports agent or serving."""
