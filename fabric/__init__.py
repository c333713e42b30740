"""leafspine fabric: inventory -> allocations -> intent -> configs -> devices."""
