#!/usr/bin/env bash
# Real processes over a bad link: a county office, township stations and their villages, each an
# `anwangd` process with its own home, where every link — each village to its township, each
# township to the county — goes through its own `linkemu` (tests/linkemu/) at emulated 2G:
# 80 kbit/s, 650 ms one way, 1 % loss per KiB shown as connection resets and multi-second
# stalls, and the link flapping (up 20 s, down 5 s; a link going down resets its connections).
#
# Workload: in every village the grid member reports hazards with a small photo, adds a business
# unit to the ledger and records a patrol of it; hazards are fixed on site, or escalated and acted
# on by the village's township (received, assigned) and by the county (received, assigned, handled,
# then re-inspected and archived in the village).
#
# Checks, once everything has settled:
#   - convergence: every hazard reaches the county in its expected state, every node that holds a
#     hazard shows it in the same state, and no node misses an attachment;
#   - scope: every node holds exactly the ops its scope allows — the county's authority graph plus
#     the records of its own subtree — so village two never holds village one's records (and, with
#     several townships, township two none of township one's);
#   - photos: each hazard's photo fetched from the county is byte-identical to the original;
#   - every store passes `anwang verify`;
#   - memory: no anwangd's VmRSS exceeds ANWANG_2G_RSS_KIB_MAX (default 64 MiB: an idle node
#     takes ~6 MiB and these stores are well under 1 MiB, so anything near the bound is a leak —
#     e.g. buffers kept per reset connection).
# Prints the time from links up to convergence, each node's memory and each link's statistics.
#
# Optionally, once everything has converged (ANWANG_2G_NEW_HAZARDS=N, on by default with several
# townships): N times in turn, a grid member reports one new hazard with a photo in a village and
# the script polls the county every 0.2 s until it shows the hazard, then until it holds the photo,
# and waits for every node to converge again; it prints how long each hazard took to reach the county.
#
# Bounded (CI, about 2-3 minutes): 1 township, 3 villages, 3 hazards each. ANWANG_LONG=1: 8
# villages, 9 hazards each, two units each, links down for longer (up 20 s / down 10 s).
# ANWANG_2G_TOWNSHIPS=T and ANWANG_2G_VILLAGES_PER_TOWNSHIP=V set the topology (1 county, T
# townships, T×V villages; the deadline grows to 100 s per village). Run from the repository root
# after building: BUILD_DIR=build tests/multiprocess/emulated_2g.sh
# The convergence figure of issue 7 (1 county, 3 townships, 12 villages), by hand:
#   ANWANG_2G_TOWNSHIPS=3 ANWANG_2G_VILLAGES_PER_TOWNSHIP=4 ANWANG_2G_PORT=29400 \
#     BUILD_DIR=build tests/multiprocess/emulated_2g.sh
set -euo pipefail

build=$(cd "${BUILD_DIR:-build}" && pwd)
anwang="$build/cli/anwang"
anwangd="$build/node/anwangd"
linkemu="$build/tests/linkemu/linkemu"
base_port=${ANWANG_2G_PORT:-28400}
rss_kib_max=${ANWANG_2G_RSS_KIB_MAX:-65536}
seed=${ANWANG_2G_SEED:-$RANDOM}
if [[ "${ANWANG_LONG:-0}" == 1 ]]; then
  villages_per_township=8 hazards_per_village=9 units_per_village=2 up_s=20 down_s=10 deadline_s=1500
else
  villages_per_township=3 hazards_per_village=3 units_per_village=1 up_s=20 down_s=5 deadline_s=300
fi
townships=${ANWANG_2G_TOWNSHIPS:-1}
villages_per_township=${ANWANG_2G_VILLAGES_PER_TOWNSHIP:-$villages_per_township}
villages=$((townships * villages_per_township))
# Each township's ports and link seeds lie 100 and 1000 apart (see "Ports" below).
((townships >= 1 && villages_per_township >= 2 && villages_per_township <= 97)) ||
  { echo "ANWANG_2G_TOWNSHIPS must be at least 1 and ANWANG_2G_VILLAGES_PER_TOWNSHIP 2 to 97" >&2; exit 2; }
# A larger topology takes longer to set up and to converge: 100 s per village, at least the above.
((deadline_s >= 100 * villages)) || deadline_s=$((100 * villages))
deadline_s=${ANWANG_2G_DEADLINE_S:-$deadline_s}
# New hazards timed after convergence (see above), each bounded by new_hazard_s_max seconds.
if ((townships > 1)); then new_hazards=${ANWANG_2G_NEW_HAZARDS:-1}; else new_hazards=${ANWANG_2G_NEW_HAZARDS:-0}; fi
new_hazard_s_max=${ANWANG_2G_NEW_HAZARD_S_MAX:-300}
# Emulated 2G (DESIGN.md §1: GPRS/EDGE, 650 ms latency, 1 % loss).
link_options=(--rate-bps 80000 --delay-ms 650 --loss-per-kb 0.01 --reset-share 0.5
              --stall-ms-min 2000 --stall-ms-max 6000 --up-s "$up_s" --down-s "$down_s")
# To look into a failure, ANWANG_2G_LINK replaces these (e.g. "--delay-ms 650": delay alone).
if [[ -n "${ANWANG_2G_LINK:-}" ]]; then read -r -a link_options <<<"$ANWANG_2G_LINK"; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/anwang-2g-XXXXXX")
daemon_pids=() link_pids=() link_names=()
cleanup() {
  for pid in "${daemon_pids[@]}" "${link_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ "${ANWANG_2G_KEEP:-0}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  echo "reproduce the link faults with: ANWANG_2G_SEED=$seed ANWANG_2G_TOWNSHIPS=$townships" \
       "ANWANG_2G_VILLAGES_PER_TOWNSHIP=$villages_per_township $0" >&2
  for log in "$work"/*.log; do echo "--- last lines of $log" >&2; tail -n 15 "$log" >&2; done
  explain_hazards >&2 || true
  exit 1
}
# After a failure: every hazard's state at each node that shows it, beside its expected final state.
explain_hazards() {
  [[ -s "$work/village-of" ]] || return 0
  for node in "${nodes[@]}"; do on "$work/$node" hazard list --json >"$work/explain-$node.json" 2>/dev/null || true; done
  echo "--- every hazard: its expected final state, then its state at each node that shows it"
  python3 - "$work" "${nodes[@]}" <<'EOF3'
import json, os, sys
work, nodes = sys.argv[1], sys.argv[2:]
def lines(name):
    path = f"{work}/{name}"
    return [l.split() for l in open(path)] if os.path.exists(path) else []
expected = {h: s for h, s in lines("expected")}
states = {}
for n in nodes:
    try: states[n] = {h["id"]: h["state"] for h in json.load(open(f"{work}/explain-{n}.json"))}
    except (OSError, ValueError): states[n] = {}
for h, v in lines("village-of"):
    print(f"{h[:12]} (village {v}, expected {expected.get(h, '?')}): " +
          " ".join(f"{n}={states[n][h]}" for n in nodes if h in states[n]))
EOF3
}

on() { local home=$1; shift; "$anwang" --home "$home" "$@"; }
step() { printf '\n== [%4ds] %s\n' "$SECONDS" "$*"; }
# The value of a string FIELD in the JSON on stdin (the CLI's own output; python3 starts slowly).
json_string() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" | head -n 1; }
node_key() { on "$1" --json status | json_string node_key; }
# Townships are numbered 1…T, villages 1…T×V across the county: village v belongs to township
# (v-1)/V+1. With one township the node is called "township", as before.
township_of() { echo $((($1 - 1) / villages_per_township + 1)); }
township_name() { if ((townships == 1)); then echo township; else echo "township-$1"; fi; }
township_code() { echo $((150430100 + $1 - 1)); }
village_code() { printf '%s%03d' "$(township_code "$(township_of "$1")")" $((200 + ($1 - 1) % villages_per_township + 1)); }
township_names_zh=(新惠镇 四家子镇 长胜镇 贝子府镇 大甸子镇 丰收乡 金厂沟梁镇 下洼镇 古鲁板蒿镇)
township_name_zh() { echo "${township_names_zh[$(($1 - 1))]:-第$1镇}"; }
# Waits until `check` (a shell command) succeeds, or fails the test after the deadline.
wait_until() {
  local what=$1; shift
  while ! "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline_s)) || fail "timed out after ${SECONDS}s waiting until $what"
    sleep 1
  done
}
# True when NODE shows every hazard in the file LIST (lines "ID STATE [LEVEL]") in its STATE and,
# where a line names one, at its LEVEL. A hazard the village escalated to its township and one
# the township escalated on to the county are both "escalated"; only the level tells them apart.
# Without it the county could act on a village's escalation before the township's reached it:
# its receive would then not have the township's escalation in its past, the hazard would stay
# escalated to the county (awaiting a second receive) and the villages would wait for ever.
shows_states() {
  local node=$1 list=$2 id state level shown
  while read -r id state level; do
    shown=$(on "$work/$node" --json hazard show "$id" 2>/dev/null) || return 1
    grep -q "\"state\": \"$state\"" <<<"$shown" || return 1
    [[ -z "$level" ]] || grep -q "\"level\": \"$level\"" <<<"$shown" || return 1
  done <"$list"
}

nodes=(county)
for t in $(seq 1 "$townships"); do nodes+=("$(township_name "$t")"); done
for v in $(seq 1 "$villages"); do nodes+=("village-$v"); done
scope_of() {
  case $1 in
    county) echo 150430 ;;
    township) township_code 1 ;;
    township-*) township_code "${1#township-}" ;;
    village-*) village_code "${1#village-}" ;;
  esac
}
for node in "${nodes[@]}"; do echo "$node $(scope_of "$node")"; done >"$work/scopes"

step "Node homes: county, $townships township(s), $villages villages (seed $seed)"
for node in "${nodes[@]}"; do on "$work/$node" init >/dev/null; done
county=$work/county
on "$county" key new county-root --no-passphrase >/dev/null
on "$county" key new fire-dept --no-passphrase >/dev/null
declare -A station_key head_key
for t in $(seq 1 "$townships"); do
  station_key[$t]=$(on "$work/$(township_name "$t")" --json key new station --no-passphrase | json_string public_key)
done
for v in $(seq 1 "$villages"); do
  head_key[$v]=$(on "$work/village-$v" --json key new head --no-passphrase | json_string public_key)
  on "$work/village-$v" key new member --no-passphrase >/dev/null
done

step "Genesis, appointments and enrolment by bundle (as in deploy/demo.sh)"
on "$county" --as county-root genesis --county 150430 --name 敖汉旗 --root county-root >/dev/null
for t in $(seq 1 "$townships"); do
  on "$county" --as county-root region add "$(township_code "$t")" --name "$(township_name_zh "$t")" >/dev/null
done
for v in $(seq 1 "$villages"); do on "$county" --as county-root region add "$(village_code "$v")" --name "${v}村" >/dev/null; done
for t in $(seq 1 "$townships"); do
  on "$county" --as county-root delegate --to "${station_key[$t]}" --role township_station --scope "$(township_code "$t")" >/dev/null
done
on "$county" --as county-root delegate --to fire-dept --role department --scope 150430 --category fire >/dev/null
for t in $(seq 1 "$townships"); do
  township=$work/$(township_name "$t")
  on "$county" --as county-root node enroll "$(node_key "$township")" --scope "$(township_code "$t")" >/dev/null
  on "$county" bundle export "$work/$(township_name "$t").bundle" --for "$(node_key "$township")" >/dev/null
  on "$township" bundle import "$work/$(township_name "$t").bundle" >/dev/null
done
for v in $(seq 1 "$villages"); do
  village=$work/village-$v township=$work/$(township_name "$(township_of "$v")")
  on "$township" --as station delegate --to "${head_key[$v]}" --role village_head --scope "$(village_code "$v")" >/dev/null
  on "$township" --as station node enroll "$(node_key "$village")" --scope "$(village_code "$v")" >/dev/null
  on "$township" bundle export "$work/village-$v.bundle" --for "$(node_key "$village")" >/dev/null
  on "$village" bundle import "$work/village-$v.bundle" >/dev/null
  on "$village" --as head delegate --to member --role grid_member --scope "$(village_code "$v")-01" >/dev/null
done

step "Start anwangd on every node and one linkemu per link (emulated 2G: ${link_options[*]})"
# Ports: county base; township t at base+100(t-1)+1, its link to the county at base+100(t-1)+2,
# and the link of its i-th village at base+100(t-1)+2+i (one township: village v's link at
# base+2+v). The daemons dial every 5 s and at once on local writes.
start_link() {
  local name=$1 listen=$2 target=$3 link_seed=$4
  "$linkemu" --listen "$listen" --target "$target" --seed "$link_seed" "${link_options[@]}" \
    >"$work/link-$name.stats" 2>"$work/link-$name.log" &
  link_pids+=($!) link_names+=("$name")
}
township_port() { echo $((base_port + 100 * ($1 - 1) + 1)); }
township_link_port() { echo $((base_port + 100 * ($1 - 1) + 2)); }
village_link_port() { echo $(($(township_link_port "$(township_of "$1")") + ($1 - 1) % villages_per_township + 1)); }
for t in $(seq 1 "$townships"); do
  start_link "$(township_name "$t")-county" "$(township_link_port "$t")" "$base_port" $((seed + 1000 * (t - 1)))
done
for v in $(seq 1 "$villages"); do
  start_link "village-$v-township" "$(village_link_port "$v")" "$(township_port "$(township_of "$v")")" $((seed + v))
done
for node in "${nodes[@]}"; do sed -i 's/^interval_s = 60$/interval_s = 5/' "$work/$node/anwang.toml"; done
for t in $(seq 1 "$townships"); do
  printf '[[neighbour]]\naddress = "127.0.0.1:%s"\n' "$(township_link_port "$t")" >>"$work/$(township_name "$t")/anwang.toml"
done
for v in $(seq 1 "$villages"); do
  printf '[[neighbour]]\naddress = "127.0.0.1:%s"\n' "$(village_link_port "$v")" >>"$work/village-$v/anwang.toml"
done
links_up=$SECONDS
"$anwangd" --home "$county" --listen "127.0.0.1:$base_port" 2>"$work/county.log" & daemon_pids+=($!)
for t in $(seq 1 "$townships"); do
  name=$(township_name "$t")
  "$anwangd" --home "$work/$name" --listen "127.0.0.1:$(township_port "$t")" 2>"$work/$name.log" & daemon_pids+=($!)
done
for v in $(seq 1 "$villages"); do "$anwangd" --home "$work/village-$v" 2>"$work/village-$v.log" & daemon_pids+=($!); done

# Hazard k of a village follows pattern k mod 3: 0 fixed on site and archived in the village;
# 1 escalated, received and assigned by the township; 2 escalated to the county, handled by the
# fire department, re-inspected and archived in the village.
step "Workload in every village: hazards with photos, ledger units, patrols"
workload_start=$SECONDS
: >"$work/expected" >"$work/to-county" >"$work/photos" >"$work/village-of"
for t in $(seq 1 "$townships"); do : >"$work/to-township-$t"; done
for v in $(seq 1 "$villages"); do
  village=$work/village-$v grid="$(village_code "$v")-01" to_township=$work/to-township-$(township_of "$v")
  : >"$work/handled-$v"
  for k in $(seq 0 $((hazards_per_village - 1))); do
    photo=$work/photo-$v-$k.jpg
    head -c $((1500 + RANDOM % 1500)) /dev/urandom >"$photo"
    id=$(on "$village" --as member hazard report --grid "$grid" --category fire --severity general \
      --text "${v}村 隐患 $k: 消防通道堵塞" --photo "$photo")
    echo "$id $photo" >>"$work/photos"
    echo "$id $v" >>"$work/village-of"
    case $((k % 3)) in
      0) head -c 1000 /dev/urandom >"$photo.after"
         on "$village" --as member hazard fix "$id" --text "已清理" --photo "$photo.after" >/dev/null
         on "$village" --as member hazard verify "$id" --pass >/dev/null
         echo "$id archived" >>"$work/expected" ;;
      1) on "$village" --as head hazard escalate "$id" --text "村级无法整改" >/dev/null
         echo "$id escalated township" >>"$to_township"; echo "$id assigned" >>"$work/expected" ;;
      2) on "$village" --as head hazard escalate "$id" --text "需县级处理" >/dev/null
         echo "$id escalated township" >>"$to_township"; echo "$id archived" >>"$work/expected" ;;
    esac
  done
  for u in $(seq 1 "$units_per_village"); do
    unit=$(on "$village" --as member unit add --grid "$grid" --name "${v}村 加油站 $u" --industry 加油站 --key true)
    on "$village" --as member inspect "$unit" --item "消防通道:pass" --item "灭火器:fail:过期" --text "月度巡查" >/dev/null
  done
done
echo "  $((villages * hazards_per_village)) hazards, $((villages * units_per_village)) units and patrols written in $((SECONDS - workload_start)) s"

step "Each township receives its villages' escalated hazards 签收, assigns some 交办 and escalates the rest to the county"
for t in $(seq 1 "$townships"); do
  name=$(township_name "$t") township=$work/$(township_name "$t")
  wait_until "$name holds every escalated hazard" shows_states "$name" "$work/to-township-$t"
  echo "  $name holds its villages' escalated hazards $((SECONDS - links_up)) s after the links came up"
  while read -r id _; do
    on "$township" --as station hazard receive "$id" >/dev/null
    if grep -q "^$id assigned" "$work/expected"; then
      on "$township" --as station hazard assign "$id" --department fire >/dev/null
    else
      on "$township" --as station hazard escalate "$id" --to county >/dev/null
      echo "$id escalated county" >>"$work/to-county"
      echo "$id handled" >>"$work/handled-$(awk -v id="$id" '$1 == id {print $2}' "$work/village-of")"
    fi
  done <"$work/to-township-$t"
done

step "The county receives them, assigns them to the fire department, which handles them 已办理"
wait_until "the county holds every hazard escalated to it" shows_states county "$work/to-county"
echo "  the county holds every hazard escalated to it $((SECONDS - links_up)) s after the links came up"
while read -r id _; do
  on "$county" --as county-root hazard receive "$id" >/dev/null
  on "$county" --as county-root hazard assign "$id" --department fire >/dev/null
  on "$county" --as fire-dept hazard handled "$id" --text "已督促整改" >/dev/null
done <"$work/to-county"

step "Back in the villages, the reporters re-inspect 复查 and archive 销号"
for v in $(seq 1 "$villages"); do
  wait_until "village $v holds its handled hazards" shows_states "village-$v" "$work/handled-$v"
  while read -r id _; do on "$work/village-$v" --as member hazard verify "$id" --pass >/dev/null; done <"$work/handled-$v"
done

step "Waiting for convergence: every hazard at the county, every node holding exactly its scope"
converged() {
  for node in "${nodes[@]}"; do on "$work/$node" log --json >"$work/log-$node.json" || return 1; done
  for node in "${nodes[@]}"; do on "$work/$node" hazard list --json >"$work/hazards-$node.json" || return 1; done
  for node in "${nodes[@]}"; do on "$work/$node" status --json >"$work/status-$node.json" || return 1; done
  python3 - "$work" "$work/expected" "${nodes[@]}" <<'EOF'
import json, sys
work, expected_file, nodes = sys.argv[1], sys.argv[2], sys.argv[3:]
scope = dict(line.split() for line in open(f"{work}/scopes"))
public_kinds = {"genesis", "region", "delegation", "revocation", "reaffirmation", "enrolment", "amendment"}
logs = {n: {op["id"]: op for op in json.load(open(f"{work}/log-{n}.json"))} for n in nodes}
problems = []
everything = {}
for n in nodes: everything.update(logs[n])
for n in nodes:
    may_hold = {i for i, op in everything.items()
                if op["kind"] in public_kinds or op["scope"].startswith(scope[n])}
    held = set(logs[n])
    if held - may_hold: problems.append(f"{n} holds {len(held - may_hold)} ops outside its scope")
    if may_hold - held: problems.append(f"{n} lacks {len(may_hold - held)} ops it may hold")
states = {n: {h["id"]: h["state"] for h in json.load(open(f"{work}/hazards-{n}.json"))} for n in nodes}
for line in open(expected_file):
    hazard, state = line.split()
    if states["county"].get(hazard) != state:
        problems.append(f"county shows hazard {hazard[:8]} as {states['county'].get(hazard)}, not {state}")
    for n in nodes:
        if hazard in states[n] and states[n][hazard] != state:
            problems.append(f"{n} shows hazard {hazard[:8]} as {states[n][hazard]}")
for n in nodes:
    status = json.load(open(f"{work}/status-{n}.json"))
    if status.get("blobs_missing", 0): problems.append(f"{n} misses {status['blobs_missing']} attachments")
    if status.get("pending", 0): problems.append(f"{n} has {status['pending']} pending ops")
if problems:
    print("; ".join(problems), file=sys.stderr)
    sys.exit(1)
with open(f"{work}/summary", "w") as out:
    print(f"{len(logs['county'])} ops at the county, " +
          ", ".join(f"{len(logs[n])} at {n}" for n in nodes if n != "county"), file=out)
EOF
}
# The same, remembering how long the last check took (it reads every node one after another).
converged_timed() { local started=$SECONDS; converged; local status=$?; check_s=$((SECONDS - started)); return $status; }
wait_until "every node has converged" converged_timed
convergence_s=$((SECONDS - links_up))
echo "  converged after ${convergence_s} s (from the links coming up; the workload and the steps above"
echo "  ran meanwhile; the check that found it took ${check_s} s): $(cat "$work/summary")"

# True when the log LOG (JSON) holds no record (anything but the public authority graph) of SCOPE.
holds_no_records_of() {
  python3 - "$1" "$2" "$3" <<'EOF2'
import json, sys
public_kinds = {"genesis", "region", "delegation", "revocation", "reaffirmation", "enrolment", "amendment"}
foreign = [op["id"] for op in json.load(open(sys.argv[1]))
           if op["scope"].startswith(sys.argv[2]) and op["kind"] not in public_kinds]
print(f"  {sys.argv[3]} holds {len(foreign)}")
sys.exit(1 if foreign else 0)
EOF2
}
step "Village two never holds village one's records 分级授权"
holds_no_records_of "$work/log-village-2.json" "$(village_code 1)" "village two: records of village one," ||
  fail "village two holds village one's records"
if on "$work/village-2" hazard show "$(head -n 1 "$work/photos" | cut -d' ' -f1)" >/dev/null 2>&1; then
  fail "village two shows village one's first hazard"
fi
if ((townships > 1)); then
  first_of_two=$((villages_per_township + 1))
  holds_no_records_of "$work/log-township-2.json" "$(township_code 1)" "township two: records of township one," ||
    fail "township two holds township one's records"
  holds_no_records_of "$work/log-village-$first_of_two.json" "$(township_code 1)" \
    "village $first_of_two (of township two): records of township one," ||
    fail "village $first_of_two holds township one's records"
fi

step "Every photo reached the county intact"
while read -r id photo; do
  hash=$(on "$county" --json hazard show "$id" | json_string hash)
  on "$county" blob get "$hash" "$work/fetched.jpg" >/dev/null
  cmp -s "$photo" "$work/fetched.jpg" || fail "the photo of hazard ${id:0:8} differs at the county"
done <"$work/photos"
echo "  $(wc -l <"$work/photos") photos byte-identical"

step "Verify every store 校验"
for node in "${nodes[@]}"; do printf '  %-10s ' "$node"; on "$work/$node" verify || fail "$node does not verify"; done

# One new hazard at a time, reported in a village once everything has converged: how long until
# the county shows it, and until it holds its photo. Villages are taken from the last one back.
# Times in milliseconds from bash's EPOCHREALTIME; the county is polled every 0.2 s.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
new_hazard_ms=()
for n in $(seq 1 "$new_hazards"); do
  v=$((villages - (n - 1) % villages))
  node=village-$v
  step "New hazard $n of $new_hazards: reported in village $v after convergence, polled at the county"
  photo=$work/photo-new-$n.jpg
  head -c $((1500 + RANDOM % 1500)) /dev/urandom >"$photo"
  started_ms=$(now_ms)
  id=$(on "$work/$node" --as member hazard report --grid "$(village_code "$v")-01" --category fire \
    --severity general --text "${v}村 新隐患 $n: 灭火器过期" --photo "$photo")
  echo "$id reported" >"$work/new-hazard"
  until shows_states county "$work/new-hazard" 2>/dev/null; do
    (($(now_ms) - started_ms < new_hazard_s_max * 1000)) ||
      fail "new hazard ${id:0:8} from village $v did not reach the county within ${new_hazard_s_max} s"
    sleep 0.2
  done
  shown_ms=$(($(now_ms) - started_ms))
  hash=$(on "$county" --json hazard show "$id" | json_string hash)
  until on "$county" blob get "$hash" "$work/fetched.jpg" >/dev/null 2>&1; do
    (($(now_ms) - started_ms < new_hazard_s_max * 1000)) ||
      fail "the photo of new hazard ${id:0:8} did not reach the county within ${new_hazard_s_max} s"
    sleep 0.2
  done
  photo_ms=$(($(now_ms) - started_ms))
  cmp -s "$photo" "$work/fetched.jpg" || fail "the photo of new hazard ${id:0:8} differs at the county"
  new_hazard_ms+=("$shown_ms")
  printf '  one new hazard reached the county after %d.%01d s (its photo, byte-identical, after %d.%01d s)\n' \
    $((shown_ms / 1000)) $((shown_ms % 1000 / 100)) $((photo_ms / 1000)) $((photo_ms % 1000 / 100))
  echo "$id reported" >>"$work/expected"
  deadline_s=$((SECONDS + new_hazard_s_max))  # the bound of wait_until, from now on
  wait_until "every node has converged again after new hazard $n" converged_timed
  echo "  every node converged again $((($(now_ms) - started_ms) / 1000)) s after the report"
done

step "Memory of every anwangd (bound ${rss_kib_max} KiB)"
memory_ok=1
for i in "${!nodes[@]}"; do
  pid=${daemon_pids[$i]}
  [[ -r /proc/$pid/status ]] || fail "anwangd of ${nodes[$i]} is gone"
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  printf '  %-10s VmRSS %6d KiB  VmHWM %6d KiB\n' "${nodes[$i]}" "$rss" "$hwm"
  ((rss <= rss_kib_max)) || memory_ok=0
done
((memory_ok)) || fail "an anwangd exceeds ${rss_kib_max} KiB"

step "Links (linkemu statistics) and sessions"
for i in "${!link_pids[@]}"; do kill -TERM "${link_pids[$i]}"; wait "${link_pids[$i]}" || true; done
link_pids=()
for name in "${link_names[@]}"; do printf '  %-20s %s\n' "$name" "$(cut -d' ' -f3- "$work/link-$name.stats")"; done
for node in "${nodes[@]}"; do
  printf '  %-10s sessions ok %3d, failed %3d\n' "$node" "$(grep -c 'synced with' "$work/$node.log" || true)" \
    "$(grep -c 'sync with .* failed' "$work/$node.log" || true)"
done

echo
echo "emulated 2G: 1 county, $townships township(s), $villages villages, $((villages * hazards_per_village)) hazards" \
     "converged in ${convergence_s} s (seed $seed)"
if ((new_hazards > 0)); then
  printf 'one new hazard reached the county after'
  for ms in "${new_hazard_ms[@]}"; do printf ' %d.%01d s' $((ms / 1000)) $((ms % 1000 / 100)); done
  echo
fi
