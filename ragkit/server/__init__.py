"""ragkit's REST server (``ragkit serve``, extra ``[server]``): FastAPI over the same Kit and config as
the SDK and the CLI. Build the app with :func:`ragkit.server.app.create_app`."""
