"""A tiny authoritative DNS responder for the anycast e2e test (run as a script in a node).

``python dns_responder.py ADDRESS NAME ANSWER``: answers A queries for NAME with ANSWER
(the node's own address, so a client sees which node served it), NXDOMAIN otherwise.
Stands in for the unbound resolver each ShowNet node runs on the anycast address.
"""

from __future__ import annotations

import socket
import sys

import dns.flags
import dns.message
import dns.rcode
import dns.rrset


def serve(address: str, name: str, answer: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            query = dns.message.from_wire(data)
        except Exception:
            continue  # not DNS: a resolver drops it too
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        qname = query.question[0].name.to_text() if query.question else ""
        if qname == name:
            response.answer.append(dns.rrset.from_text(qname, 30, "IN", "A", answer))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        sock.sendto(response.to_wire(), peer)


if __name__ == "__main__":
    serve(*sys.argv[1:4])
