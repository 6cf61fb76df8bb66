#!/usr/bin/env bash
# The main job: a county node on the embedded store. Creates a node home, the county's keys and
# genesis, a township and two villages, a note, then prints the log, the status and a full
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

step "A note on village one 备注"
"$anwang" --as county-root-2 note add --scope 150430100201 --text "网格员巡查: 仓库消防通道堵塞"

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
