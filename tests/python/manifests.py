"""Reads `helm template` output (a file) and prints, as JSON, what the test needs to run it as
local processes: the ConfigMaps' data, each StatefulSet's replicas, command, args and env, the
PrometheusRule's spec and the dashboard's queries."""
import json
import sys

import yaml

out = {"configmaps": {}, "workloads": [], "rules": None, "dashboard": None, "kinds": []}
with open(sys.argv[1]) as f:
    for doc in yaml.safe_load_all(f):
        if not doc:
            continue
        kind, meta = doc["kind"], doc["metadata"]
        out["kinds"].append(kind)
        if kind == "ConfigMap":
            out["configmaps"][meta["name"]] = doc["data"]
            for text in doc["data"].values():
                if text.lstrip().startswith("{") and '"panels"' in text:
                    dash = json.loads(text)
                    out["dashboard"] = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        elif kind == "StatefulSet":
            c = doc["spec"]["template"]["spec"]["containers"][0]
            out["workloads"].append({
                "name": meta["name"],
                "replicas": doc["spec"].get("replicas", 1),
                "command": c["command"],
                "args": c["args"],
                "env": c.get("env", []),
                "security": c.get("securityContext", {}),
                "pod_security": doc["spec"]["template"]["spec"].get("securityContext", {}),
                "probes": [c[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")],
            })
        elif kind == "PrometheusRule":
            out["rules"] = doc["spec"]
print(json.dumps(out))
