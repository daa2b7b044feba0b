# Salt state: install the ascad agent on an Aerospike node, configure it, run it.
#
#   salt 'aero-*' state.apply ascad
#
# Layout in the file roots: ascad.sls (this file), ascad/ascad.toml.jinja, ascad/ascad.service (a
# copy of deploy/ascad.service; a test keeps them identical).
#
# Pillar (see pillar.example.sls): ascad:version, ascad:token (the fleet-wide agent token),
# ascad:settings (rendered into /etc/ascad/ascad.toml), optional ascad:aerospike_password and
# ascad:golden_token. Secrets go to files readable by the ascad user only, never into the toml.

{% set ascad = salt['pillar.get']('ascad', {}) %}
{% set version = ascad.get('version', '0.1.0') %}

ascad-user:
  group.present:
    - name: ascad
    - system: True
  user.present:
    - name: ascad
    - system: True
    - gid: ascad
    # read aerospike.conf when it is group-readable by aerospike
    - groups: [aerospike]
    - home: /var/lib/ascad
    - createhome: False
    - shell: /usr/sbin/nologin
    - require:
      - group: ascad-user

ascad-python:
  pkg.installed:
    - pkgs: [python3, python3-venv, git]

ascad-venv:
  cmd.run:
    - name: python3 -m venv /opt/ascad
    - creates: /opt/ascad/bin/python
    - require:
      - pkg: ascad-python

ascad-package:
  pip.installed:
    - name: ascad=={{ version }}
    - bin_env: /opt/ascad
    - require:
      - cmd: ascad-venv

/etc/ascad:
  file.directory:
    - user: root
    - group: ascad
    - mode: '0750'

/etc/ascad/token:
  file.managed:
    - contents_pillar: ascad:token
    - user: root
    - group: ascad
    - mode: '0640'
    - show_changes: False
    - require:
      - file: /etc/ascad

{% if ascad.get('aerospike_password') %}
/etc/ascad/aerospike-password:
  file.managed:
    - contents_pillar: ascad:aerospike_password
    - user: root
    - group: ascad
    - mode: '0640'
    - show_changes: False
    - require:
      - file: /etc/ascad
{% endif %}

{% if ascad.get('golden_token') %}
/etc/ascad/golden-token:
  file.managed:
    - contents_pillar: ascad:golden_token
    - user: root
    - group: ascad
    - mode: '0640'
    - show_changes: False
    - require:
      - file: /etc/ascad
{% endif %}

/etc/ascad/ascad.toml:
  file.managed:
    - source: salt://ascad/ascad.toml.jinja
    - template: jinja
    - context:
        settings: {{ ascad.get('settings', {}) | json }}
    - group: ascad
    - mode: '0640'
    - require:
      - file: /etc/ascad

# Refuse a bad settings file before the service sees it.
ascad-check-config:
  cmd.run:
    - name: /opt/ascad/bin/ascad agent --check-config --config /etc/ascad/ascad.toml
    - runas: ascad
    - require:
      - pip: ascad-package
    - onchanges:
      - file: /etc/ascad/ascad.toml
      - file: /etc/ascad/token

/etc/systemd/system/ascad.service:
  file.managed:
    - source: salt://ascad/ascad.service
    - user: root
    - group: root
    - mode: '0644'

# systemd reads a changed unit file only after a daemon-reload; it must run before the service
# state (a plain cmd, the same on every Salt version, unlike module.run's two syntaxes).
ascad-systemd-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: /etc/systemd/system/ascad.service

ascad-service:
  service.running:
    - name: ascad
    - enable: True
    - reload: True   # settings changes: SIGHUP through ExecReload
    - watch:
      - file: /etc/ascad/ascad.toml
      - file: /etc/ascad/token
    - require:
      - pip: ascad-package
      - cmd: ascad-check-config
      - cmd: ascad-systemd-reload
      - file: /etc/systemd/system/ascad.service
