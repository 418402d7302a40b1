"""ASGI middlewares of the application (see ``app.main.create_app``)."""
