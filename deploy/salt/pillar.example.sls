# Pillar for the ascad state (deploy/salt/ascad). Keep the secrets in an encrypted pillar (gpg
# renderer) or Vault; they are written to files mode 0640 root:ascad, never into ascad.toml.
ascad:
  version: 0.1.0
  token: "CHANGE-ME-same-on-every-node"
  # aerospike_password: "…"          # when security is on (with settings.aerospike.user)
  # golden_token: "glpat-…"         # GitLab token for the golden repository
  settings:
    agent:
      node_name: {{ grains['id'] | tojson }}
      role: auto
      conf: /etc/aerospike/aerospike.conf
      interval: 6h
      jitter: 10m
      tags: [ascad, aerospike]
    aerospike:
      address: aerospike://127.0.0.1:3000
    golden:
      source: "git+https://gitlab.example/ops/salt.git#aerospike/aerospike.conf@main"
      # token_file: /etc/ascad/golden-token
    peers:
      discovery: aerospike
      url_template: "http://{host}:9145"
    server:
      listen: 0.0.0.0
      port: 9145
      token_file: /etc/ascad/token
    riemann:
      host: riemann.example
      port: 5555
      transport: tcp
