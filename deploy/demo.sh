#!/usr/bin/env bash
# The main job: a county on four nodes on this machine — the county office (150430), one township
# station (新惠镇 150430100) and two villages (一村, 二村) — each an `anwangd` process with its own
# home, syncing over loopback. A hazard found in village one goes up to the township and the
# county, is assigned to the fire department and handled, and comes back down to be re-inspected
# and archived in the village. After each step the demo prints what every node holds. Village two
# never holds village one's records. Run from the repository root after building.
set -euo pipefail

build=$(cd "${BUILD_DIR:-build}" && pwd)
anwang="$build/cli/anwang"
anwangd="$build/node/anwangd"
base_port=${ANWANG_DEMO_PORT:-17400}
demo=$(mktemp -d "${TMPDIR:-/tmp}/anwang-demo-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT

county=$demo/county township=$demo/township village_a=$demo/village-a village_b=$demo/village-b
on() { local home=$1; shift; "$anwang" --home "$home" "$@"; }
step() { printf '\n== %s\n' "$*"; }
key_of() { on "$1" key list --json | python3 -c "import json,sys; print([k['public_key'] for k in json.load(sys.stdin) if k['name']=='$2'][0])"; }
node_key() { on "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_key"])'; }
holdings() {
  for node in county township village-a village-b; do
    printf '  %-10s ' "$node"
    on "$demo/$node" hazard list --json | python3 -c '
import json,sys
hazards=json.load(sys.stdin)
print(", ".join(h["id"][:8]+" "+h["state"]+"@"+h["level"] for h in hazards) or "(no hazards)")'
  done
}
# Waits until NODE shows hazard ID in STATE, at LEVEL when one is given (the daemons sync on every
# local write). The level matters: a hazard the village escalated to the township is "escalated"
# too, and a county that received it then would receive it before the township's escalation to
# the county, which would leave the hazard awaiting the county's receipt (签收) after all.
wait_for() {
  local node=$1 id=$2 state=$3 level=${4:-}
  for _ in $(seq 1 120); do
    if on "$demo/$node" hazard show "$id" --json 2>/dev/null | python3 -c '
import json, sys
hazard = json.load(sys.stdin)
sys.exit(0 if hazard["state"] == sys.argv[1] and sys.argv[2] in ("", hazard["level"]) else 1)' "$state" "$level" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "timed out waiting for $node to see hazard $id as $state${level:+ at the $level level}" >&2
  exit 1
}

step "Four node homes 节点: county, township, two villages"
for home in "$county" "$township" "$village_a" "$village_b"; do on "$home" init >/dev/null; done
on "$county" key new county-root --no-passphrase >/dev/null
on "$county" key new fire-dept --no-passphrase >/dev/null
on "$township" key new station --no-passphrase >/dev/null
on "$village_a" key new village-head --no-passphrase >/dev/null
on "$village_a" key new grid-member --no-passphrase >/dev/null
on "$village_b" key new village-head-b --no-passphrase >/dev/null

step "The county network 创世 and appointments 委任 (each key lives on the node of its holder)"
on "$county" --as county-root genesis --county 150430 --name 敖汉旗 --root county-root >/dev/null
on "$county" --as county-root region add 150430100 --name 新惠镇 >/dev/null
on "$county" --as county-root region add 150430100201 --name 一村 >/dev/null
on "$county" --as county-root region add 150430100202 --name 二村 >/dev/null
on "$county" --as county-root delegate --to "$(key_of "$township" station)" --role township_station --scope 150430100 >/dev/null
on "$county" --as county-root delegate --to fire-dept --role department --scope 150430 --category fire >/dev/null
on "$county" --as county-root node enroll "$(node_key "$township")" --scope 150430100 >/dev/null
on "$county" bundle export "$demo/township.bundle" --for "$(node_key "$township")" >/dev/null
on "$township" bundle import "$demo/township.bundle"
on "$township" --as station delegate --to "$(key_of "$village_a" village-head)" --role village_head --scope 150430100201 >/dev/null
on "$township" --as station delegate --to "$(key_of "$village_b" village-head-b)" --role village_head --scope 150430100202 >/dev/null
on "$township" --as station node enroll "$(node_key "$village_a")" --scope 150430100201 >/dev/null
on "$township" --as station node enroll "$(node_key "$village_b")" --scope 150430100202 >/dev/null
on "$township" bundle export "$demo/a.bundle" --for "$(node_key "$village_a")" >/dev/null
on "$township" bundle export "$demo/b.bundle" --for "$(node_key "$village_b")" >/dev/null
on "$village_a" bundle import "$demo/a.bundle"
on "$village_b" bundle import "$demo/b.bundle"
on "$village_a" --as village-head delegate --to grid-member --role grid_member --scope 150430100201-03 >/dev/null

step "Start the four anwangd processes on loopback (township dials the county, villages dial the township)"
for home in "$township" "$village_a" "$village_b"; do sed -i 's/^interval_s = 60$/interval_s = 2/' "$home/anwang.toml"; done
printf '[[neighbour]]\naddress = "127.0.0.1:%s"\n' "$base_port" >> "$township/anwang.toml"
for village in "$village_a" "$village_b"; do
  printf '[[neighbour]]\naddress = "127.0.0.1:%s"\n' $((base_port + 1)) >> "$village/anwang.toml"
done
# Each node serves its web UI (网页) on a loopback port the kernel picks (any fixed port may be
# taken on a shared machine); the addresses are printed below.
"$anwangd" --home "$county" --listen "127.0.0.1:$base_port" --web-listen 127.0.0.1:0 2>"$demo/county.log" & pids+=($!)
"$anwangd" --home "$township" --listen "127.0.0.1:$((base_port + 1))" --web-listen 127.0.0.1:0 \
  2>"$demo/township.log" & pids+=($!)
"$anwangd" --home "$village_a" --web-listen 127.0.0.1:0 2>"$demo/village-a.log" & pids+=($!)
"$anwangd" --home "$village_b" --web-listen 127.0.0.1:0 2>"$demo/village-b.log" & pids+=($!)
on "$county" who
step "The web UI 网页 of each node (open one in a browser while the demo runs; sign-in needs a key with a passphrase)"
for node in county township village-a village-b; do
  for _ in $(seq 1 100); do [ -s "$demo/$node/web-url" ] && break; sleep 0.1; done
  printf '  %-10s %s\n' "$node" "$(cat "$demo/$node/web-url" 2>/dev/null || echo '(not started: see its log)')"
done

step "Village one: a grid member reports a hazard 发现上报"
hazard=$(on "$village_a" --as grid-member hazard report --grid 150430100201-03 --category fire --severity general \
  --text "加油站消防通道堵塞")
wait_for county "$hazard" reported
holdings

step "Village one escalates to the township 上报; the township receives 签收 and escalates to the county"
on "$village_a" --as village-head hazard escalate "$hazard" --text "村级无法整改" >/dev/null
wait_for township "$hazard" escalated township
on "$township" --as station hazard receive "$hazard" >/dev/null
on "$township" --as station hazard escalate "$hazard" --to county >/dev/null
wait_for county "$hazard" escalated county
holdings

step "The county receives and assigns it to the fire department 交办; the department handles it 已办理"
on "$county" --as county-root hazard receive "$hazard" >/dev/null
on "$county" --as county-root hazard assign "$hazard" --department fire >/dev/null
on "$county" --as fire-dept hazard handled "$hazard" --text "已督促清理" >/dev/null
wait_for village-a "$hazard" handled
holdings

step "Back in village one, the reporter re-inspects 复查 and it is archived 销号 everywhere"
on "$village_a" --as grid-member hazard verify "$hazard" --pass >/dev/null
wait_for county "$hazard" archived
holdings
on "$village_a" hazard show "$hazard"

step "Village two never holds village one's records 分级授权"
if on "$village_b" hazard show "$hazard" >/dev/null 2>&1; then echo "village two holds village one's hazard" >&2; exit 1; fi
echo "  village two: no record of hazard ${hazard:0:8} (as it should be)"
on "$village_b" status

step "Verify every node's store 校验"
for node in county township village-a village-b; do printf '  %-10s ' "$node"; on "$demo/$node" verify; done
echo "demo finished"
