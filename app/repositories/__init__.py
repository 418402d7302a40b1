"""Every database query lives in a repository module of this package."""
