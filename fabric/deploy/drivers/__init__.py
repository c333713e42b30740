"""Built-in deploy drivers, found by name through :mod:`fabric.deploy.registry`: ``napalm``
(junos via PyEZ, nxos via NX-API), ``netconf`` (junos over ncclient), ``frr`` (the lab)."""
