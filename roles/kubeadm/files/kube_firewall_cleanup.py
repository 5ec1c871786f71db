#!/usr/bin/python3
"""Delete the firewall rules kube-proxy and the pod network left on a node, only those.

Run by tasks/reset-node.yml when a node leaves the cluster: kubeadm reset leaves
iptables, nftables and IPVS alone. The host's own rules stay: from each table of
iptables-save (IPv4 and IPv6), the chains named by kube-proxy (KUBE-), flannel
(FLANNEL-), Calico (cali-), Weave (WEAVE-) and the CNI portmap plugin (CNI-) go, with
every rule that jumps to them or carries their comment; the table is restored only
when something went. nftables tables kube-proxy and Calico made go whole; IPVS virtual
services exist only for kube-proxy's ipvs mode, so they are cleared when any exist.
Prints {"changed": [what went]}. Python 3 stdlib only.
"""

import json
import re
import shutil
import subprocess

CHAINS = re.compile(r"^(KUBE-|FLANNEL-|cali-|WEAVE-|CNI-)")
COMMENTS = re.compile(r'--comment "?(kubernetes|kube-proxy|flanneld|cali:|weave|CNI|cni)')
NFT_TABLES = re.compile(r"^table (ip|ip6|inet) (kube-proxy|calico\S*)$")


def ours(rule):
    words = rule.split()
    if len(words) >= 2 and words[0] == "-A" and CHAINS.match(words[1]):
        return True
    for flag in ("-j", "-g"):
        at = words.index(flag) + 1 if flag in words else len(words)
        if at < len(words) and CHAINS.match(words[at]):
            return True
    return bool(COMMENTS.search(rule))


def filtered(dump):
    """The dump without our chains and rules, and the names of what went."""
    kept, gone, table = [], [], ""
    for line in dump.splitlines():
        if line.startswith("*"):
            table = line[1:]
        if line.startswith(":") and CHAINS.match(line[1:]):
            gone.append(f"{table} chain {line[1:].split()[0]}")
            continue
        if line.startswith("-A") and ours(line):
            gone.append(f"{table} rule {line}")
            continue
        kept.append(line)
    return "\n".join(kept) + "\n", gone


def iptables(save, restore):
    if not (shutil.which(save) and shutil.which(restore)):
        return []
    dump = subprocess.run([save], capture_output=True, text=True, check=True).stdout
    clean, gone = filtered(dump)
    if gone:
        subprocess.run([restore], input=clean, text=True, check=True)
    return gone


def nftables():
    if not shutil.which("nft"):
        return []
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True)
    gone = []
    for line in listed.stdout.splitlines():
        found = NFT_TABLES.match(line.strip())
        if found:
            subprocess.run(["nft", "delete", "table", found.group(1), found.group(2)], check=True)
            gone.append("nftables " + line.strip())
    return gone


def ipvs():
    if not shutil.which("ipvsadm"):
        return []
    listed = subprocess.run(["ipvsadm", "-Sn"], capture_output=True, text=True, check=True)
    if not listed.stdout.strip():
        return []
    subprocess.run(["ipvsadm", "--clear"], check=True)
    return ["IPVS virtual services"]


def main():
    gone = iptables("iptables-save", "iptables-restore")
    gone += iptables("ip6tables-save", "ip6tables-restore")
    gone += nftables() + ipvs()
    print(json.dumps({"changed": gone}))


if __name__ == "__main__":
    main()
