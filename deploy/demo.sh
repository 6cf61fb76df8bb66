#!/usr/bin/env bash
# The main job: a county node on the embedded store. Creates a node home, the county's keys and
# genesis, a township and two villages, appoints the people of the grid, keeps a ledger entry and
# a patrol, runs a hazard through the closed loop, then prints the log, the status and a full
# verification, and starts and stops anwangd once. Run from the repository root after building.
set -euo pipefail

build=${BUILD_DIR:-build}
anwang="$build/cli/anwang"
anwangd="$build/node/anwangd"
demo=$(mktemp -d "${TMPDIR:-/tmp}/anwang-demo-XXXXXX")
trap 'rm -rf "$demo"' EXIT
export ANWANG_HOME="$demo/county"

step() { printf '\n== %s\n' "$*"; }

step "Create the county node home 创建县级节点"
"$anwang" init
"$anwang" key new county-root-1 >/dev/null
"$anwang" key new county-root-2 >/dev/null
"$anwang" key new county-root-3 >/dev/null
"$anwang" key list

step "Create the county network 创世: 敖汉旗 150430, 2 of 3 root keys"
"$anwang" --as county-root-1 genesis --county 150430 --name 敖汉旗 \
  --root county-root-1,county-root-2,county-root-3 --threshold 2

step "Define jurisdictions 辖区: one township, two villages"
"$anwang" --as county-root-1 region add 150430100 --name 新惠镇
"$anwang" --as county-root-1 region add 150430100201 --name 新惠镇一村
"$anwang" --as county-root-1 region add 150430100202 --name 新惠镇二村

step "Appoint the people of the grid 委任: township station, village head, grid member, fire department"
for k in township village-head grid-member fire-dept; do "$anwang" key new "$k" >/dev/null; done
"$anwang" --as county-root-1 delegate --to township --role township_station --scope 150430100 >/dev/null
"$anwang" --as township delegate --to village-head --role village_head --scope 150430100201 >/dev/null
"$anwang" --as village-head delegate --to grid-member --role grid_member --scope 150430100201-03 >/dev/null
"$anwang" --as county-root-1 delegate --to fire-dept --role department --scope 150430 --category fire >/dev/null
"$anwang" who

step "The ledger 企业台账 and a patrol 巡查"
unit=$("$anwang" --as grid-member unit add --grid 150430100201-03 --name 红星仓库 --key true)
"$anwang" --as grid-member inspect "$unit" --item "消防通道:fail:堆放易燃物" --item "灭火器:pass" >/dev/null
"$anwang" patrol due

step "A hazard through the closed loop 隐患闭环: report → escalate → receive → assign → handled → verify"
hazard=$("$anwang" --as grid-member hazard report --grid 150430100201-03 --unit "$unit" --category fire \
  --severity general --text "仓库消防通道堵塞")
"$anwang" --as grid-member hazard escalate "$hazard" 2>&1 | sed 's/^/  (refused as expected) /' || true
"$anwang" --as village-head hazard escalate "$hazard" >/dev/null
"$anwang" --as township hazard receive "$hazard" >/dev/null
"$anwang" --as township hazard assign "$hazard" --department fire >/dev/null
"$anwang" --as fire-dept inbox
"$anwang" --as fire-dept hazard handled "$hazard" --text "已督促清理" >/dev/null
"$anwang" --as grid-member hazard verify "$hazard" --pass >/dev/null
"$anwang" hazard show "$hazard"

step "The log 日志"
"$anwang" log

step "Status 状态"
"$anwang" status

step "Verify every stored op 校验"
"$anwang" verify

step "anwangd starts on this home and stops cleanly on SIGTERM"
"$anwangd" --home "$ANWANG_HOME" &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
echo "demo finished"
