"""Sample inventories the cluster templates are rendered against.

Each one exercises a different path through the templates: a single control plane
with flannel on a cgroup v1 host; three control planes behind a VIP with external
etcd, calico VXLAN, extra API server flags and per-host kubelet settings; weave; the
single one as the lab writes it, its nodes being containers; and the HA one without
its extra API server flags, for what kubeprimer's defaults give with external etcd.
"""

from __future__ import annotations

from typing import Any

Scenario = dict[str, Any]

SINGLE: Scenario = {
    "hosts": {
        "all": {
            "children": {
                "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "10.0.0.11"}}},
                "kube_node": {"hosts": {"w1": {"ansible_host": "10.0.0.21"}}},
                "etcd": {"hosts": {"cp1": None}},
            }
        }
    },
    "all": {"kube_cni": "flannel", "kubelet_fail_cgroup_v1": False},
    "host_vars": {},
}

HA: Scenario = {
    "hosts": {
        "all": {
            "children": {
                "kube_control_plane": {
                    "hosts": {
                        "cp1": {"ansible_host": "10.0.0.11"},
                        "cp2": {"ansible_host": "10.0.0.12"},
                        "cp3": {"ansible_host": "10.0.0.13"},
                    }
                },
                "kube_node": {
                    "hosts": {
                        "w1": {"ansible_host": "10.0.0.21"},
                        "w2": {"ansible_host": "10.0.0.22"},
                        "cp3": None,
                    }
                },
                "etcd": {
                    "hosts": {
                        "e1": {"ansible_host": "10.0.0.31"},
                        "e2": {"ansible_host": "10.0.0.32"},
                        "e3": {"ansible_host": "10.0.0.33"},
                    }
                },
            }
        }
    },
    "all": {
        "kube_version": "1.36.4",
        "kube_cni": "calico",
        "cni_calico_encapsulation": "VXLAN",
        "kube_pod_cidr": "10.200.0.0/16",
        "kube_service_cidr": "10.100.0.0/16",
        "kube_api_endpoint": "10.0.0.10:8443",
        "etcd_mode": "external",
        "kubeadm_encryption_provider": "aescbc",
        "kubeadm_image_repository": "mirror.example.internal/k8s",
        "kube_apiserver_extra_args": {
            "audit-log-maxage": "7",
            "oidc-issuer-url": "https://id.example",
        },
        "kubelet_extra_config": {"maxPods": 150, "evictionHard": {"memory.available": "200Mi"}},
    },
    "host_vars": {"w1": {"kubelet_extra_config": {"maxPods": 50}}},
}

WEAVE: Scenario = {
    "hosts": {
        "all": {
            "children": {
                "kube_control_plane": {"hosts": {"cp1": {"ansible_host": "192.168.5.2"}}},
                "etcd": {"hosts": {"cp1": None}},
            }
        }
    },
    "all": {"kube_cni": "weave", "kube_pod_cidr": "10.32.0.0/12"},
    "host_vars": {},
}

# The single-control-plane inventory as the lab writes it: its nodes are containers.
LAB: Scenario = {**SINGLE, "all": {**SINGLE["all"], "kube_node_in_container": True}}

# The HA inventory with external etcd and kubeprimer's own API server flags only.
EXTERNAL: Scenario = {
    **HA,
    "all": {k: v for k, v in HA["all"].items() if k != "kube_apiserver_extra_args"},
}

SCENARIOS: dict[str, Scenario] = {
    "single": SINGLE,
    "ha": HA,
    "weave": WEAVE,
    "lab": LAB,
    "external": EXTERNAL,
}
