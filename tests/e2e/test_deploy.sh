#!/usr/bin/env bash
# The deployment examples of deploy/ are right as written: the systemd unit passes systemd-analyze
# and its ExecStart runs; every manifest of the Kubernetes ConfigMaps is valid; every container's
# command is one nilus takes (its flags exist, its files are the ConfigMaps'), and nilus serve runs
# with the Deployment's arguments and scheduler folder, then stops on SIGTERM as a pod stops.
source "$(dirname "$0")/lib.sh"
DEPLOY=$ROOT/deploy
export PG_PASSWORD=pw WAREHOUSE_PASSWORD=pw

# serve_as WHAT ARGS...: nilus ARGS (a serve command) answers /health, lists the scheduler's
# manifests in $WORK/listed, and exits 0 on SIGTERM.
serve_as() {
  local what=$1 pid rc
  shift
  "$NILUS_BIN" "$@" >"$WORK/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
  curl -s -H "Authorization: Bearer ${NILUS_API_TOKEN:-}" "http://127.0.0.1:$PORT/api/v1/scheduler" |
    python3 -c "import json, sys; print(' '.join(f\"{i['id']}:{i['state']}\" for i in json.load(sys.stdin)['items']))" >"$WORK/listed"
  kill -TERM "$pid"
  set +e
  wait "$pid"
  rc=$?
  set -e
  [ "$rc" = 0 ] || { cat "$WORK/serve.log" >&2; fail "$what: nilus serve exited $rc after SIGTERM"; }
  CHECKS=$((CHECKS + 1))
}

# --- systemd ------------------------------------------------------------------------------------------
unit=$DEPLOY/systemd/nilus-serve.service
mkdir -p pipelines unit
PORT=$(free_port)
sed "s|^User=nilus|User=root|; s|/usr/local/bin/nilus|$NILUS_BIN|; s|/etc/nilus/pipelines|$WORK/pipelines|; s|127.0.0.1:9010|127.0.0.1:$PORT|" \
  "$unit" >unit/nilus-serve.service
expect_output "systemd-analyze verify" "" systemd-analyze verify unit/nilus-serve.service
exec_start=$(sed -n 's/^ExecStart=//p' unit/nilus-serve.service)
# shellcheck disable=SC2086
NILUS_HOME=$WORK/home serve_as "the unit's ExecStart" ${exec_start#"$NILUS_BIN" }

# --- Kubernetes ---------------------------------------------------------------------------------------
# Each ConfigMap's files into configmaps/NAME/, each container's args into containers.txt
# (DOC-FILE<TAB>arg<TAB>arg…), with python3's YAML parser.
python3 - "$DEPLOY/kubernetes" "$WORK" <<'PY'
import os, sys, yaml
folder, work = sys.argv[1], sys.argv[2]
out = open(os.path.join(work, "containers.txt"), "w")
for name in sorted(os.listdir(folder)):
    for doc in yaml.safe_load_all(open(os.path.join(folder, name))):
        if doc["kind"] == "ConfigMap":
            d = os.path.join(work, "configmaps", doc["metadata"]["name"])
            os.makedirs(d)
            for f, text in doc["data"].items():
                open(os.path.join(d, f), "w").write(text)
        spec = doc.get("spec", {})
        pod = spec.get("template", spec.get("jobTemplate", {}).get("spec", {}).get("template", {})).get("spec", {})
        for c in pod.get("containers", []):
            mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
            maps = {v["name"]: v["configMap"]["name"] for v in pod.get("volumes", []) if "configMap" in v}
            where = ",".join(f"{mounts[v]}={maps[v]}" for v in maps)
            out.write("\t".join([name, where] + c["args"]) + "\n")
PY
for manifest in configmaps/*/*.yaml; do
  expect_ok validate "$manifest"
done
[ "$(wc -l <containers.txt)" = 3 ] || fail "expected three containers in deploy/kubernetes"
while IFS=$'\t' read -r -a line; do
  file=${line[0]} mounts=${line[1]} args=("${line[@]:2}")
  # The mounted ConfigMaps, where the container sees them.
  for m in ${mounts//,/ }; do
    for i in "${!args[@]}"; do args[i]=${args[i]//${m%%=*}/$WORK/configmaps/${m#*=}}; done
  done
  command=${args[0]}
  nilus "$command" --help
  for a in "${args[@]:1}"; do
    case $a in --*) grep -qF -- "$a" "$WORK/out" || fail "$file: nilus $command has no flag $a" ;; esac
  done
  CHECKS=$((CHECKS + 1))
  case $command in
    run) expect_ok validate "${args[1]}" ;;
    serve)
      PORT=$(free_port)
      for i in "${!args[@]}"; do args[i]=${args[i]/0.0.0.0:9010/127.0.0.1:$PORT}; done
      NILUS_HOME=$WORK/home-k8s NILUS_API_TOKEN=k8s-token serve_as "$file" "${args[@]}"
      expect_output "the Deployment's scheduled manifests" "orders:scheduled" cat "$WORK/listed"
      ;;
    *) fail "$file: unexpected command $command" ;;
  esac
done <containers.txt
done_ok
