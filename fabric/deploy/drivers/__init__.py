"""Built-in deploy drivers (found by name through :mod:`fabric.deploy.registry`)."""
