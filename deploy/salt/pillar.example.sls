# Pillar for the ascad state (deploy/salt/ascad.sls). Keep the secrets in an encrypted pillar (gpg
# renderer) or Vault; they are written to files mode 0640 root:ascad, never into ascad.toml.
# The settings agree with deploy/ascad.toml.example (a test keeps them in step): change the
# addresses, paths and secrets, keep the rest.
ascad:
  version: 0.1.0                     # the release: ascad/files/ascad-0.1.0-py3-none-any.whl
  token: "CHANGE-ME-same-on-every-node"
  # aerospike_password: "…"          # when security is on (with settings.aerospike.user)
  # golden_token: "glpat-…"         # GitLab token for the golden repository

  # How ascad is installed into the venv (ascad:paths:prefix):
  # install:
  #   source: wheel                  # wheel (default): the wheel shipped with the state;
  #                                  # index: `pip install ascad==VERSION` from an index
  #   wheel: salt://ascad/files/ascad-0.1.0-py3-none-any.whl   # the default for source: wheel
  #   wheelhouse: salt://ascad/files/wheels   # the dependencies as wheels: pip --no-index
  #   index_url: https://pypi.example/simple  # pip --index-url (source: index, or the deps)
  #   pip_args: []                   # more pip install arguments
  # Where things go (these are the defaults; the unit gets a drop-in when they differ):
  # paths:
  #   prefix: /opt/ascad             # the venv; the unit runs PREFIX/bin/ascad
  #   etc: /etc/ascad                # ascad.toml and the secrets
  #   state_dir: /var/lib/ascad      # the default of settings.agent.state_dir
  #   unit_dir: /etc/systemd/system
  # user: ascad                      # the agent's user and group
  # group: ascad
  # manage_user: true                # create them (a system user without a shell or home)
  # aerospike_group: aerospike       # the user joins it to read aerospike.conf; '' for none
  # packages: [python3, python3-venv, git]   # installed first; [] to skip
  # python: python3                  # creates the venv
  # systemd: true                    # install and run the service (default: systemd is running)

  settings:
    agent:
      node_name: {{ grains['id'] | tojson }}
      role: auto
      conf: /etc/aerospike/aerospike.conf
      interval: 6h
      jitter: 10m
      tags: [ascad, aerospike]
      # state_dir: ascad:paths:state_dir (/var/lib/ascad), made by the state
      log_level: info
    aerospike:
      address: aerospike://127.0.0.1:3000
      timeout: 10s
    golden:
      source: "git+https://gitlab.example/ops/salt.git#aerospike/aerospike.conf@main"
      # token_file: ETC/golden-token, written by the state when ascad:golden_token is set
      timeout: 60s
    peers:
      discovery: aerospike
      # http, as [server] serves without tls_cert; with TLS: https, and tls_cert/tls_key below
      url_template: "http://{host}:9145"
      timeout: 10s
    server:
      listen: 0.0.0.0
      port: 9145
      # token_file: ETC/token, written by the state from ascad:token (ETC: ascad:paths:etc)
      # tls_cert: /etc/ascad/agent.pem
      # tls_key: /etc/ascad/agent.key
    riemann:
      host: ""                          # riemann.example: no events while empty
      port: 5555
      transport: tcp
