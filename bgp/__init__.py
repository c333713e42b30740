"""bgp-agent: announce healthy Kubernetes service addresses to the leaves through ExaBGP."""
