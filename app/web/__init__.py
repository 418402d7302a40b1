"""The web pages: server-rendered shells (Jinja2) whose scripts call the JSON API."""
