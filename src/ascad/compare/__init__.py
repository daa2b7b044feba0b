"""compare: two flat configs -> their real differences (diff, drift rules, annotations, expected per-node paths)."""
