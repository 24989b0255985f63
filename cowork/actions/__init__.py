"""Use cases that change data: validate with the domain, one transaction, then tell the node."""
