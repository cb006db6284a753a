"""The `candor` command: ties the web app, the worker and the analysis together."""
