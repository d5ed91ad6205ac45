"""``carbon-wizard export ansible``: the plan as an Ansible project whose steps run
through the wizard's own step handlers (an action plugin on the controller).

- :mod:`.project` writes the project (inventory, vars, site.yml, plugin, README);
- :mod:`.plays` turns the plan into plays and tasks;
- :mod:`.runtime` is what the plugin does (load, run a step, verify the plan);
- :mod:`.transport` is the Transport over one shell command runner (Ansible's connection);
- :mod:`.action` is the Ansible action plugin (imports ansible).
"""
