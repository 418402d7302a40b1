"""HTTP routers; each stays thin and calls a service."""
