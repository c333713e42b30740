"""Built-in deploy drivers: ``napalm`` (junos via PyEZ, nxos via NX-API) and ``netconf``
(junos over ncclient). Each is registered by name in :mod:`fabric.deploy.registry`."""
