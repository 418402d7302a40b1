"""Services: orchestrate the domain packages and repositories inside the caller's transaction."""
