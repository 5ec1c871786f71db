"""The fields of KubeletConfiguration (kubelet.config.k8s.io/v1beta1) and of kube-proxy's
conntrack settings (kubeproxy.config.k8s.io/v1alpha1), with the JSON types kubelet's
strict decoder accepts.

kubernetes-validate has no schema for either kind, so this list comes from the upstream
Go types (staging/src/k8s.io/kubelet/config/v1beta1/types.go and
staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go). kubelet refuses unknown fields
in its configuration file, so a misspelt field here would only fail on a real node.
"""

from __future__ import annotations

import re
from typing import Any

from tests.unit.cluster.kubeadm_schema import known_fields

BOOL, INT, FLOAT, STR, LIST, MAP, OBJ = bool, int, float, str, list, dict, dict

# Only what the type is; nested objects that kubeprimer writes are listed below.
KUBELET: dict[str, type] = {
    "apiVersion": STR,
    "kind": STR,
    "enableServer": BOOL,
    "staticPodPath": STR,
    "podLogsDir": STR,
    "syncFrequency": STR,
    "fileCheckFrequency": STR,
    "httpCheckFrequency": STR,
    "staticPodURL": STR,
    "staticPodURLHeader": MAP,
    "address": STR,
    "port": INT,
    "readOnlyPort": INT,
    "tlsCertFile": STR,
    "tlsPrivateKeyFile": STR,
    "tlsCipherSuites": LIST,
    "tlsCurvePreferences": LIST,
    "tlsMinVersion": STR,
    "rotateCertificates": BOOL,
    "serverTLSBootstrap": BOOL,
    "authentication": OBJ,
    "authorization": OBJ,
    "registryPullQPS": INT,
    "registryBurst": INT,
    "imagePullCredentialsVerificationPolicy": STR,
    "preloadedImagesVerificationAllowlist": LIST,
    "eventRecordQPS": INT,
    "eventBurst": INT,
    "enableDebuggingHandlers": BOOL,
    "enableContentionProfiling": BOOL,
    "healthzPort": INT,
    "healthzBindAddress": STR,
    "oomScoreAdj": INT,
    "clusterDomain": STR,
    "clusterDNS": LIST,
    "streamingConnectionIdleTimeout": STR,
    "nodeStatusUpdateFrequency": STR,
    "nodeStatusReportFrequency": STR,
    "nodeLeaseDurationSeconds": INT,
    "imageMinimumGCAge": STR,
    "imageMaximumGCAge": STR,
    "imageGCHighThresholdPercent": INT,
    "imageGCLowThresholdPercent": INT,
    "volumeStatsAggPeriod": STR,
    "kubeletCgroups": STR,
    "systemCgroups": STR,
    "cgroupRoot": STR,
    "cgroupsPerQOS": BOOL,
    "cgroupDriver": STR,
    "cpuManagerPolicy": STR,
    "singleProcessOOMKill": BOOL,
    "cpuManagerPolicyOptions": MAP,
    "cpuManagerReconcilePeriod": STR,
    "draManagerReconcilePeriod": STR,
    "memoryManagerPolicy": STR,
    "topologyManagerPolicy": STR,
    "topologyManagerScope": STR,
    "topologyManagerPolicyOptions": MAP,
    "qosReserved": MAP,
    "runtimeRequestTimeout": STR,
    "hairpinMode": STR,
    "maxPods": INT,
    "podCIDR": STR,
    "podPidsLimit": INT,
    "resolvConf": STR,
    "runOnce": BOOL,
    "cpuCFSQuota": BOOL,
    "cpuCFSQuotaPeriod": STR,
    "nodeStatusMaxImages": INT,
    "maxOpenFiles": INT,
    "contentType": STR,
    "kubeAPIQPS": INT,
    "kubeAPIBurst": INT,
    "serializeImagePulls": BOOL,
    "maxParallelImagePulls": INT,
    "evictionHard": MAP,
    "evictionSoft": MAP,
    "evictionSoftGracePeriod": MAP,
    "evictionPressureTransitionPeriod": STR,
    "evictionMaxPodGracePeriod": INT,
    "evictionMinimumReclaim": MAP,
    "mergeDefaultEvictionSettings": BOOL,
    "podsPerCore": INT,
    "enableControllerAttachDetach": BOOL,
    "protectKernelDefaults": BOOL,
    "makeIPTablesUtilChains": BOOL,
    "iptablesMasqueradeBit": INT,
    "iptablesDropBit": INT,
    "featureGates": MAP,
    "failSwapOn": BOOL,
    "memorySwap": OBJ,
    "containerLogMaxSize": STR,
    "containerLogMaxFiles": INT,
    "containerLogMaxWorkers": INT,
    "containerLogMonitorInterval": STR,
    "configMapAndSecretChangeDetectionStrategy": STR,
    "systemReserved": MAP,
    "kubeReserved": MAP,
    "reservedSystemCPUs": STR,
    "showHiddenMetricsForVersion": STR,
    "systemReservedCgroup": STR,
    "kubeReservedCgroup": STR,
    "enforceNodeAllocatable": LIST,
    "allowedUnsafeSysctls": LIST,
    "volumePluginDir": STR,
    "providerID": STR,
    "kernelMemcgNotification": BOOL,
    "logging": OBJ,
    "enableSystemLogHandler": BOOL,
    "enableSystemLogQuery": BOOL,
    "shutdownGracePeriod": STR,
    "shutdownGracePeriodCriticalPods": STR,
    "shutdownGracePeriodByPodPriority": LIST,
    "crashLoopBackOff": OBJ,
    "reservedMemory": LIST,
    "enableProfilingHandler": BOOL,
    "enableDebugFlagsHandler": BOOL,
    "seccompDefault": BOOL,
    "memoryThrottlingFactor": FLOAT,
    "memoryReservationPolicy": STR,
    "registerWithTaints": LIST,
    "registerNode": BOOL,
    "tracing": OBJ,
    "localStorageCapacityIsolation": BOOL,
    "containerRuntimeEndpoint": STR,
    "imageServiceEndpoint": STR,
    "failCgroupV1": BOOL,
    "userNamespaces": OBJ,
}
NESTED: dict[str, dict[str, type]] = {
    "authentication": {"x509": OBJ, "webhook": OBJ, "anonymous": OBJ},
    "authorization": {"mode": STR, "webhook": OBJ},
    "memorySwap": {"swapBehavior": STR},
}
# pkg/kubelet/eviction/api: the signals a threshold may name.
EVICTION_SIGNALS = {
    "memory.available",
    "allocatableMemory.available",
    "nodefs.available",
    "nodefs.inodesFree",
    "imagefs.available",
    "imagefs.inodesFree",
    "containerfs.available",
    "containerfs.inodesFree",
    "pid.available",
}
_THRESHOLD = re.compile(r"^(\d+(\.\d+)?%|\d+(\.\d+)?([KMGTPE]i?)?)$")
CONNTRACK: dict[str, type] = {
    "maxPerCore": INT,
    "min": INT,
    "tcpEstablishedTimeout": STR,
    "tcpCloseWaitTimeout": STR,
    "tcpBeLiberal": BOOL,
    "udpTimeout": STR,
    "udpStreamTimeout": STR,
}


def _typed(value: Any, wanted: type, path: str) -> list[str]:
    # YAML's true is an int to Python; kubelet's decoder tells them apart.
    ok = isinstance(value, wanted) and not (wanted is INT and isinstance(value, bool))
    if wanted is FLOAT:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    return [] if ok else [f"{path} is {type(value).__name__}, not {wanted.__name__}"]


def _fields(doc: dict[str, Any], fields: dict[str, type], path: str) -> list[str]:
    return known_fields(doc, fields, path, _typed)


def kubelet_problems(doc: dict[str, Any]) -> list[str]:
    """Fields of a KubeletConfiguration (or a patch of one) kubelet would refuse."""
    found = _fields(doc, KUBELET, "KubeletConfiguration")
    for key, fields in NESTED.items():
        if isinstance(doc.get(key), dict):
            found += _fields(doc[key], fields, f"KubeletConfiguration.{key}")
    for signal, threshold in (doc.get("evictionHard") or {}).items():
        if signal not in EVICTION_SIGNALS:
            found.append(f"evictionHard.{signal} is not an eviction signal")
        if not isinstance(threshold, str) or not _THRESHOLD.match(threshold):
            found.append(f"evictionHard.{signal}={threshold!r} is not a quantity or percentage")
    high = doc.get("imageGCHighThresholdPercent", 85)
    if not 0 <= high <= 100 or high <= doc.get("imageGCLowThresholdPercent", 80):
        found.append(f"imageGCHighThresholdPercent={high} must be 0-100 and above the low mark")
    return found


def conntrack_problems(doc: dict[str, Any]) -> list[str]:
    """Fields of a KubeProxyConfiguration's conntrack settings kube-proxy would refuse."""
    conntrack = doc.get("conntrack")
    if conntrack is None:
        return []
    if not isinstance(conntrack, dict):
        return ["KubeProxyConfiguration.conntrack should be a mapping"]
    return _fields(conntrack, CONNTRACK, "KubeProxyConfiguration.conntrack")
