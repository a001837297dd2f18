# -*- coding: utf-8 -*-
# Copyright: underlay.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as a bench peer: the engine alone (the runner in-process) and one
ansible-playbook run with one batched container_endpoint task, on namespaces or on real Docker
containers."""

from __future__ import annotations

import json
import os
import re
import sys

from lab import COLLECTIONS, sh
from peer import Peer


class Collection(Peer):
    """The collection's container_endpoint (batched), on a network made by macvlan_network (with
    an IPv6 subnet too on a dual-stack network), ipvlan_network (L2 mode, flag bridge) or
    bridge_network (untimed)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.state_dir = os.path.join(self.workdir, "state")
        self.bridge = f"ulb{self.name[:3]}"

    def network_params(self):
        base = {"name": f"ulb{self.name}", "subnet": self.subnet, "gateway": self.gateway,
                "netns": self.world.host, "state_dir": self.state_dir}
        if self.driver == "macvlan":
            return "macvlan_network", dict(base, parent="veth0", mode="bridge")
        if self.driver == "dualstack":
            return "macvlan_network", dict(base, parent="veth0", mode="bridge", ipv6_subnet=self.subnet6,
                                           ipv6_gateway=self.gateway6)
        if self.driver == "ipvlan":
            return "ipvlan_network", dict(base, parent="veth0", mode="l2")
        return "bridge_network", dict(base, bridge_name=self.bridge, masquerade=False)

    def prepare(self):
        from ansible_collections.underlay.network.plugins.module_utils import _runner
        module, params = self.network_params()
        from ansible_collections.underlay.network.plugins.module_utils import _resources
        resource = _resources.NETWORK_BY_DRIVER[module[:-len("_network")]]
        _runner.run(resource, params)

    def endpoint_params(self, state="present"):
        items = [{"container_netns": ns} for ns in self.targets()]
        return {"network": f"ulb{self.name}", "endpoints": items, "state": state, "netns": self.world.host,
                "state_dir": self.state_dir}

    def _run(self, state="present", changed=True):
        """One run of the batched task; raises unless it reports ``changed``."""
        raise NotImplementedError

    def attach(self):
        self._run()

    def noop(self):
        self._run(changed=False)

    def detach(self):
        self._run("absent")


class Engine(Collection):
    name = "engine"

    def _run(self, state="present", changed=True):
        from ansible_collections.underlay.network.plugins.module_utils import _runner
        from ansible_collections.underlay.network.plugins.module_utils._resources import CONTAINER_ENDPOINT
        result = _runner.run(CONTAINER_ENDPOINT, self.endpoint_params(state))
        if result["changed"] is not changed:
            raise RuntimeError(f"engine: changed={result['changed']}, expected {changed}")


class Playbook(Collection):
    name = "e2e"

    def prepare(self):
        super().prepare()
        with open(os.path.join(self.workdir, "ansible.cfg"), "w", encoding="utf-8") as handle:
            handle.write("[defaults]\ngathering = explicit\n"
                         "[connection]\npipelining = True\n")
        for state in ("present", "absent"):
            params = self.endpoint_params(state)
            play = [{"name": "Attach the containers", "hosts": "localhost", "gather_facts": False,
                     "tasks": [{"name": "Endpoints", "underlay.network.container_endpoint": params}]}]
            with open(os.path.join(self.workdir, f"{state}.yml"), "w", encoding="utf-8") as handle:
                json.dump(play, handle)

    def _run(self, state="present", changed=True):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(self.workdir, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
        out = sh("ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
                 f"ansible_python_interpreter={sys.executable}", os.path.join(self.workdir, f"{state}.yml"),
                 env=env).stdout
        recap = re.search(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)", out, re.M)
        if not recap or recap.group(2) != ("1" if changed else "0"):
            raise RuntimeError(f"ansible-playbook: expected changed={changed}:\n{out[-2000:]}")


class DockerCollection(Playbook):
    """The collection attaching the same Docker containers by name (container: NAME)."""

    name = "e2e"

    def __init__(self, world, driver, workdir, dockerd):
        super().__init__(world, driver, workdir)
        self.dockerd = dockerd
        self.net = "10.206"
        self.subnet, self.gateway = f"{self.net}.0.0/16", f"{self.net}.0.1"

    def targets(self):
        return self.dockerd.names

    def endpoint_params(self, state="present"):
        params = super().endpoint_params(state)
        params["endpoints"] = [{"container": name, "runtime": "docker"} for name in self.targets()]
        return params

    def _run(self, state="present", changed=True):
        saved = os.environ.get("DOCKER_HOST")
        os.environ["DOCKER_HOST"] = self.dockerd.env["DOCKER_HOST"]
        try:
            super()._run(state, changed)
        finally:
            if saved is None:
                os.environ.pop("DOCKER_HOST", None)
            else:
                os.environ["DOCKER_HOST"] = saved


class Names:
    """Mixin for the names bench (issue 17): the bridge network with names on (``dns``) and each
    endpoint publishing one port (``HOST_PORT:80``, a host port of its own); with ``publish`` and
    ``dns`` False, names off and nothing published: the same attach without what issue 17 adds
    (and with one of the two on, what each costs alone)."""

    publish = True
    dns = True
    first_port = 30000

    def __init__(self, *args):
        super().__init__(*args)
        self.bridge = "ulb" + self.name.replace("-", "")[:10]

    def network_params(self):
        module, params = super().network_params()
        return module, dict(params, dns=self.dns)

    def ports(self):
        """{namespace: host port}"""
        return {ns: self.first_port + i for i, ns in enumerate(self.targets())} if self.publish else {}

    def endpoint_params(self, state="present"):
        params = super().endpoint_params(state)
        ports = self.ports()
        for item in params["endpoints"]:
            if ports:
                item["publish"] = [f"{ports[item['container_netns']]}:80"]
        return params


class EnginePublish(Names, Engine):
    name = "engine-publish"


class EngineNoNames(Names, Engine):
    name = "engine-nodns"
    publish = dns = False


class EngineDnsOnly(Names, Engine):
    name = "engine-dns"
    publish = False


class EnginePublishOnly(Names, Engine):
    name = "engine-publish-only"
    dns = False
    first_port = 34000


class PlaybookPublish(Names, Playbook):
    name = "e2e-publish"
    first_port = 31000


class PlaybookNoNames(Names, Playbook):
    name = "e2e-nodns"
    publish = dns = False
