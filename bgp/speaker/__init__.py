"""ExaBGP adapter: config generation, the process, the text-API command builder and its JSON events."""
