#!/usr/bin/env bash
# Smoke test of the lkeobs stack on one cluster: namespaces present, every
# workload rolled out, one ready agent per node. `lkeobs verify` goes further
# (data from every cluster at the hub); this needs only kubectl.
set -euo pipefail

PROG=$(basename "$0")
TIMEOUT=180s
ROLE=auto

usage() {
  cat <<EOF
Usage: $PROG [--timeout DURATION] [--role hub|edge|auto] KUBE_CONTEXT

Check the lkeobs stack on the cluster behind KUBE_CONTEXT (e.g. lkeobs-prod-hub):
  1. namespace observability exists; on a hub also monitoring and observability-hub;
  2. every Deployment, StatefulSet and DaemonSet in those namespaces is rolled
     out (kubectl rollout status --timeout DURATION);
  3. the otel-agent DaemonSet has one ready pod per Linux node.
Prints a summary and exits 0 only if every check passed.

Options:
  --timeout DURATION   per-workload rollout timeout (default: $TIMEOUT)
  --role ROLE          hub, edge, or auto (default): auto treats the cluster as
                       a hub when the observability-hub namespace exists
  -h, --help           show this help
EOF
}

die() {
  echo "$PROG: error: $*" >&2
  exit 2
}

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --role) [[ $# -ge 2 ]] || die "--role needs a value"; ROLE=$2; shift 2 ;;
    --role=*) ROLE=${1#*=}; shift ;;
    --) shift; args+=("$@"); break ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ ${#args[@]} -eq 1 ]] || { usage >&2; exit 2; }
CONTEXT=${args[0]}
case "$ROLE" in hub|edge|auto) ;; *) die "--role must be hub, edge or auto (got '$ROLE')" ;; esac
[[ "$TIMEOUT" =~ ^[0-9]+(s|m|h)$ ]] || die "--timeout must look like 90s, 5m or 1h (got '$TIMEOUT')"
command -v kubectl >/dev/null 2>&1 || die "kubectl not found in PATH"

kc() {
  kubectl --context "$CONTEXT" "$@"
}

PASSED=0
FAILED=0
RESULTS=()

record() { # record ok|fail CHECK DETAIL
  local status=$1 check=$2 detail=$3
  if [[ "$status" == ok ]]; then
    PASSED=$((PASSED + 1))
    RESULTS+=("PASS  $check  $detail")
  else
    FAILED=$((FAILED + 1))
    RESULTS+=("FAIL  $check  $detail")
  fi
  printf '%s\n' "${RESULTS[${#RESULTS[@]}-1]}" >&2
}

kc version --request-timeout=20s >/dev/null 2>&1 \
  || die "cannot reach the API server of context '$CONTEXT'"

if [[ "$ROLE" == auto ]]; then
  if kc get namespace observability-hub >/dev/null 2>&1; then ROLE=hub; else ROLE=edge; fi
fi
echo "Smoke test of context '$CONTEXT' (role: $ROLE, rollout timeout: $TIMEOUT)" >&2

NAMESPACES=(observability)
if [[ "$ROLE" == hub ]]; then
  NAMESPACES+=(monitoring observability-hub)
fi

# 1. Namespaces.
present=()
for ns in "${NAMESPACES[@]}"; do
  if kc get namespace "$ns" >/dev/null 2>&1; then
    record ok "namespace/$ns" "exists"
    present+=("$ns")
  else
    record fail "namespace/$ns" "missing"
  fi
done

# 2. Rollouts.
for ns in ${present[@]+"${present[@]}"}; do
  workloads=$(kc -n "$ns" get deployments,statefulsets,daemonsets -o name 2>/dev/null) || {
    record fail "workloads/$ns" "cannot list workloads"
    continue
  }
  if [[ -z "$workloads" ]]; then
    record fail "workloads/$ns" "no Deployment, StatefulSet or DaemonSet found"
    continue
  fi
  while IFS= read -r w; do
    [[ -n "$w" ]] || continue
    if out=$(kc -n "$ns" rollout status "$w" --timeout="$TIMEOUT" 2>&1); then
      record ok "$ns/$w" "rolled out"
    else
      record fail "$ns/$w" "$(tail -n 1 <<<"$out")"
    fi
  done <<<"$workloads"
done

# 3. One ready agent per Linux node.
if kc -n observability get daemonset otel-agent >/dev/null 2>&1; then
  node_names=$(kc get nodes -l kubernetes.io/os=linux -o name 2>/dev/null) || node_names=""
  nodes=$(grep -c . <<<"$node_names" || true)
  ready=$(kc -n observability get daemonset otel-agent -o jsonpath='{.status.numberReady}' 2>/dev/null) || ready=0
  ready=${ready:-0}
  if [[ "$nodes" -gt 0 && "$ready" -eq "$nodes" ]]; then
    record ok "observability/otel-agent" "$ready ready agent(s) on $nodes node(s)"
  else
    # Name the nodes without a ready agent.
    missing=$(comm -23 \
      <(kc get nodes -l kubernetes.io/os=linux -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort) \
      <(kc -n observability get pods -l app.kubernetes.io/name=otel-agent \
          -o jsonpath='{range .items[?(@.status.containerStatuses[0].ready==true)]}{.spec.nodeName}{"\n"}{end}' | sort) \
      | paste -sd, -)
    record fail "observability/otel-agent" "$ready ready agent(s) on $nodes node(s); missing on: ${missing:-?}"
  fi
else
  record fail "observability/otel-agent" "DaemonSet not found"
fi

echo
echo "Summary for $CONTEXT ($ROLE): $PASSED passed, $FAILED failed"
for line in "${RESULTS[@]}"; do
  echo "  $line"
done

[[ "$FAILED" -eq 0 ]]
