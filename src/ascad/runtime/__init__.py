"""Reading a running node: the info-protocol client, admin (login) messages, node addresses."""
