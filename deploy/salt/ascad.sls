# Salt state: install the ascad agent on an Aerospike node, configure it, run it.
#
#   salt 'aero-*' state.apply ascad
#
# Layout in the file roots (`./dev dist` writes exactly this as dist/salt/): ascad.sls (this
# file), ascad/ascad.toml.jinja, ascad/ascad.service (a copy of deploy/ascad.service; a test keeps
# them identical), ascad/files/ascad-VERSION-py3-none-any.whl (the release) and
# ascad/files/wheels/ (the release and its dependencies, for nodes that cannot reach PyPI).
#
# Pillar (every key in pillar.example.sls and docs/agent.md, "Deploying with Salt"):
#   ascad:version, ascad:token (the fleet-wide agent token), ascad:settings (rendered into
#   ETC/ascad.toml), optional ascad:aerospike_password and ascad:golden_token (files readable by
#   the agent's user only, never in the toml); ascad:install (wheel or index, wheelhouse, pip
#   arguments); ascad:paths (prefix, etc, state_dir, unit_dir: the real paths by default);
#   ascad:user, ascad:group, ascad:manage_user, ascad:aerospike_group; ascad:packages,
#   ascad:python; ascad:systemd (default: whether systemd runs, /run/systemd/system).
#
# Order: packages, user, venv, the release, pip install, secrets, settings (refused by
# `ascad agent --check-config` before they replace the old file), the check again as the agent's
# user on every run, the unit, the service. The service never starts or reloads when the check
# fails; it restarts when the package or the unit changes and reloads (SIGHUP) when the settings
# or a secret does. Tested for real with salt-call --local (tests/e2e/test_salt.py; the Salt
# version in deploy/salt/test-requirements.txt).

{% set ascad = salt['pillar.get']('ascad', {}) %}
{% set version = ascad.get('version', '0.1.0') %}
{% set paths = ascad.get('paths', {}) %}
{% set prefix = paths.get('prefix', '/opt/ascad') %}
{% set etc = paths.get('etc', '/etc/ascad') %}
{% set unit_dir = paths.get('unit_dir', '/etc/systemd/system') %}
{% set user = ascad.get('user', 'ascad') %}
{% set group = ascad.get('group', user) %}
{% set manage_user = ascad.get('manage_user', True) %}
{% set aerospike_group = ascad.get('aerospike_group', 'aerospike') %}
{% set packages = ascad.get('packages', ['python3', 'python3-venv', 'git']) %}
{% set python = ascad.get('python', 'python3') %}
{% set systemd = ascad.get('systemd', salt['file.directory_exists']('/run/systemd/system')) %}
{% set install = ascad.get('install', {}) %}
{% set source = install.get('source', 'wheel') %}
{% set wheel_name = 'ascad-' ~ version ~ '-py3-none-any.whl' %}
{% set wheelhouse = install.get('wheelhouse', '') %}
{% set pip_args = install.get('pip_args', []) + (['--index-url', install['index_url']] if install.get('index_url') else []) + (['--no-index', '--find-links', prefix ~ '/wheels'] if wheelhouse else []) %}
{% set target = prefix ~ '/dist/' ~ wheel_name if source == 'wheel' else 'ascad==' ~ version %}
{# The settings: the pillar's, over the paths this state writes the secrets and the state to. #}
{% set defaults = {'agent': {'state_dir': paths.get('state_dir', '/var/lib/ascad')}, 'server': {'token_file': etc ~ '/token'}} %}
{% set secrets = [('token', 'token', 'ascad:token')] %}
{% if ascad.get('aerospike_password') %}
{% do defaults.update({'aerospike': {'password_file': etc ~ '/aerospike-password'}}) %}
{% do secrets.append(('aerospike-password', 'aerospike-password', 'ascad:aerospike_password')) %}
{% endif %}
{% if ascad.get('golden_token') %}
{% do defaults.update({'golden': {'token_file': etc ~ '/golden-token'}}) %}
{% do secrets.append(('golden-token', 'golden-token', 'ascad:golden_token')) %}
{% endif %}
{% set settings = salt['slsutil.merge'](defaults, ascad.get('settings', {})) %}
{% set state_dir = settings['agent']['state_dir'] %}
{% set user_req = [{'user': 'ascad-user'}] if manage_user else [] %}
{% set pkg_req = [{'pkg': 'ascad-packages'}] if packages else [] %}

{% if packages %}
ascad-packages:
  pkg.installed:
    - pkgs: {{ packages | json }}
{% endif %}

{% if manage_user %}
{% if aerospike_group %}
# Members of this group may read /etc/aerospike/aerospike.conf. The Aerospike package creates it;
# this only makes sure it exists before the user joins it (a system group, which the package
# reuses). Set ascad:aerospike_group to '' where the conf is readable otherwise.
ascad-aerospike-group:
  group.present:
    - name: {{ aerospike_group }}
    - system: True
{% endif %}

ascad-group:
  group.present:
    - name: {{ group }}
    - system: True

ascad-user:
  user.present:
    - name: {{ user }}
    - system: True
    - gid: {{ group }}
{% if aerospike_group %}
    # read aerospike.conf when it is group-readable by aerospike
    - groups: [{{ aerospike_group }}]
{% endif %}
    - remove_groups: False
    - home: {{ state_dir }}
    - createhome: False
    - shell: /usr/sbin/nologin
    - require:
      - group: ascad-group
{% if aerospike_group %}
      - group: ascad-aerospike-group
{% endif %}
{% endif %}

# The venv first: pip runs from it (pip.installed would need it to exist even under test=True).
ascad-venv:
  cmd.run:
    - name: {{ (python ~ ' -m venv ' ~ prefix) | json }}
    - creates: {{ prefix }}/bin/python
    - require: {{ pkg_req | json }}

{% if source == 'wheel' %}
# The release, shipped with the state (./dev dist puts it in ascad/files/) or named by the pillar.
ascad-wheel:
  file.managed:
    - name: {{ prefix }}/dist/{{ wheel_name }}
    - source: {{ install.get('wheel', 'salt://ascad/files/' ~ wheel_name) | json }}
    - makedirs: True
    - mode: '0644'
    - require:
      - cmd: ascad-venv
{% endif %}

{% if wheelhouse %}
# The release's dependencies as wheels, for nodes without PyPI: pip installs with --no-index.
ascad-wheelhouse:
  file.recurse:
    - name: {{ prefix }}/wheels
    - source: {{ wheelhouse | json }}
    - clean: True
    - file_mode: '0644'
    - require:
      - cmd: ascad-venv
{% endif %}

# Installs (or upgrades to) ascad VERSION unless the venv already has exactly that version.
ascad-package:
  cmd.run:
    - name: {{ ([prefix ~ '/bin/pip', 'install', '--disable-pip-version-check', '--no-input'] + pip_args + [target]) | join(' ') | json }}
    - unless: {{ (prefix ~ '/bin/python -c "import importlib.metadata as m, sys; sys.exit(m.version(\'ascad\') != \'' ~ version ~ '\')"') | json }}
    - require:
      - cmd: ascad-venv
{% if source == 'wheel' %}
      - file: ascad-wheel
{% endif %}
{% if wheelhouse %}
      - file: ascad-wheelhouse
{% endif %}

ascad-etc:
  file.directory:
    - name: {{ etc }}
    - user: root
    - group: {{ group }}
    - mode: '0750'
    - makedirs: True
    - require: {{ user_req | json }}

# systemd's StateDirectory= creates it too; made here so that the check below can see it.
ascad-state-dir:
  file.directory:
    - name: {{ state_dir }}
    - user: {{ user }}
    - group: {{ group }}
    - mode: '0750'
    - makedirs: True
    - require: {{ user_req | json }}

{% for sid, name, key in secrets %}
ascad-{{ sid }}:
  file.managed:
    - name: {{ etc }}/{{ name }}
    - contents_pillar: {{ key }}
    - user: root
    - group: {{ group }}
    - mode: '0640'
    - show_changes: False
    - require:
      - file: ascad-etc
{% endfor %}

# The settings. check_cmd runs `ascad agent --check-config` on the new text before it replaces
# the file: settings that fail it never reach ETC/ascad.toml.
ascad-settings:
  file.managed:
    - name: {{ etc }}/ascad.toml
    - source: salt://ascad/ascad.toml.jinja
    - template: jinja
    - context:
        settings: {{ settings | json }}
    - user: root
    - group: {{ group }}
    - mode: '0640'
    - check_cmd: {{ (prefix ~ '/bin/ascad agent --check-config --config') | json }}
    - tmp_ext: .toml
    - require:
      - cmd: ascad-package
      - file: ascad-state-dir
{% for sid, name, key in secrets %}
      - file: ascad-{{ sid }}
{% endfor %}

# The guard, on every run, as the agent's user: the settings and everything they name (the conf,
# the secret and TLS files, the golden, the state directory). It reports no change when they
# pass; when they fail, the state fails and the service is neither started nor reloaded.
ascad-check-config:
  cmd.run:
    - name: {{ (prefix ~ '/bin/ascad agent --check-config --config ' ~ etc ~ '/ascad.toml && echo \'changed=no comment="ascad agent --check-config: ok"\'') | json }}
    - runas: {{ user }}
    - cwd: /
    - stateful: True
    - require:
      - file: ascad-settings

ascad-unit:
  file.managed:
    - name: {{ unit_dir }}/ascad.service
    - source: salt://ascad/ascad.service
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: True

{# The unit names the default paths and user; other ones go in a drop-in. #}
{% set exec_start = prefix ~ '/bin/ascad agent --config ' ~ etc ~ '/ascad.toml' %}
{% set dropin = [] %}
{% if prefix != '/opt/ascad' %}
{% do dropin.extend(['[Unit]', 'Documentation=file://' ~ prefix ~ '/share/doc/ascad/docs/agent.md']) %}
{% endif %}
{% if exec_start != '/opt/ascad/bin/ascad agent --config /etc/ascad/ascad.toml' or user != 'ascad' or group != 'ascad' or state_dir != '/var/lib/ascad' %}
{% do dropin.append('[Service]') %}
{% if exec_start != '/opt/ascad/bin/ascad agent --config /etc/ascad/ascad.toml' %}
{% do dropin.extend(['ExecStart=', 'ExecStart=' ~ exec_start]) %}
{% endif %}
{% if user != 'ascad' %}{% do dropin.append('User=' ~ user) %}{% endif %}
{% if group != 'ascad' %}{% do dropin.append('Group=' ~ group) %}{% endif %}
{% if state_dir != '/var/lib/ascad' %}{% do dropin.append('ReadWritePaths=' ~ state_dir) %}{% endif %}
{% endif %}
ascad-unit-dropin:
{% if dropin %}
  file.managed:
    - name: {{ unit_dir }}/ascad.service.d/salt.conf
    - contents: {{ (['# Written by the Salt state ascad: the paths and user of its pillar.'] + dropin) | join('\n') | json }}
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: True
{% else %}
  file.absent:
    - name: {{ unit_dir }}/ascad.service.d/salt.conf
{% endif %}

{% if systemd %}
# systemd reads a changed unit file only after a daemon-reload; it must run before the service
# state (a plain cmd, the same on every Salt version, unlike module.run's two syntaxes).
ascad-systemd-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: ascad-unit
      - file: ascad-unit-dropin

# Restarted when the package (an upgrade) or the unit changes; Type=notify, so this returns once
# the agent listens. Never started when the check above fails.
ascad-service:
  service.running:
    - name: ascad
    - enable: True
    - require:
      - cmd: ascad-check-config
      - cmd: ascad-systemd-reload
    - watch:
      - cmd: ascad-package
      - file: ascad-unit
      - file: ascad-unit-dropin

# Settings and secrets: a reload (SIGHUP through ExecReload), not a restart.
ascad-service-reload:
  cmd.run:
    - name: systemctl reload ascad
    - onchanges:
      - file: ascad-settings
{% for sid, name, key in secrets %}
      - file: ascad-{{ sid }}
{% endfor %}
    - require:
      - service: ascad-service
{% endif %}
