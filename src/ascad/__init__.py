"""ascad: the Aerospike config anomaly detector."""

__version__ = "0.1.0"
