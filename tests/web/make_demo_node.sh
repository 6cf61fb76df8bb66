#!/usr/bin/env bash
# make_demo_node.sh DIR — one village node (东井村 150430100201) with data for the web UI's screens,
# built with the real CLI as deploy/demo.sh does. Keys, all with the passphrase "passphrase-1"
# (DIR/passphrase.txt):
#   member  网格员 at grid 150430100201-03      head    网格长 of the village (appointed by station)
#   officer 村安全员 (appointed by the county)   station 乡镇安监站 新惠镇
#   fire    消防 department of the county        root    the county's root key
# The sample boundaries (docs/map/sample-regions.geojson: 新惠镇, its two villages and 东井村's three
# grids) imported for the map, every hazard and unit below with its location in grid 三组.
# Three units in the ledger, and hazards in most states: overdue under a notice, reported,
# fixed on site, awaiting sign-off (one of two), escalated, assigned, handled, rejected, archived.
# The other records: a patrol with a checklist (ten days ago: its unit is overdue again), a tip
# waiting to be verified and one dismissed, an incident reported and updated, and two notices from
# the township to 东井村 and 西井村 (one signed for by 东井村). Profiles (人员信息) name the keys'
# people, with phones; a training, a meeting and a notebook entry.
# The village syncs once with a township node (DIR/township), so the sync panel has a neighbour
# and some hazards show 已同步 while later ones show 待同步.
# Run from the repository root after building (BUILD_DIR, default build). Then:
#   build/node/anwangd --home DIR/village --web-listen 127.0.0.1:0
set -euo pipefail

dir=${1:?usage: make_demo_node.sh DIR}
build=$(cd "${BUILD_DIR:-build}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
anwang="$build/cli/anwang"
anwangd="$build/node/anwangd"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
home=$dir/village
township=$dir/township
pass=$dir/passphrase.txt
if [ -e "$home" ]; then echo "$home exists: give an empty directory" >&2; exit 2; fi
echo "passphrase-1" > "$pass"

an() { "$anwang" --home "$home" --passphrase-file "$pass" "$@"; }
# Ten days ago: the network, and a notice whose deadline has passed since.
past_ms=$((($(date +%s) - 10 * 86400) * 1000))
before() { ANWANG_FAKE_NOW_MS=$past_ms an "$@"; }
key_of() { an key list --json | python3 -c "import json,sys; print([k['public_key'] for k in json.load(sys.stdin) if k['name']=='$1'][0])"; }
node_key() { "$anwang" --home "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_key"])'; }

# Photos: small PNG scenes drawn without any image library.
photo() {  # photo FILE R G B — a coloured object on grey ground under a pale sky
  python3 - "$@" <<'EOF'
import struct, sys, zlib
path, r, g, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
w, h = 640, 480
rows = []
for y in range(h):
    if y < 200:
        row = bytes((170 + y // 8, 200 + y // 10, 235)) * w
    else:
        shade = 120 + (y - 200) // 6
        row = bytes((shade, shade - 6, shade - 14)) * w
    if 140 <= y < 420:
        row = row[:240 * 3] + bytes((r, g, b)) * 160 + row[400 * 3:]
    if 100 <= y < 140:
        row = row[:290 * 3] + bytes((40, 40, 40)) * 60 + row[350 * 3:]
    rows.append(b"\0" + row)
def chunk(kind, data):
    c = kind + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
    chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")
open(path, "wb").write(png)
EOF
}
mkdir -p "$dir/photos"
photo "$dir/photos/extinguisher.png" 200 30 30
photo "$dir/photos/box.png" 90 90 100
photo "$dir/photos/box-fixed.png" 60 140 70
photo "$dir/photos/slope.png" 150 110 60
photo "$dir/photos/scaffold.png" 210 160 40
photo "$dir/photos/cylinder.png" 230 120 20

an init >/dev/null
"$anwang" --home "$township" init >/dev/null
for k in root station head officer member fire; do an key new "$k" >/dev/null; done

# The network, ten days ago.
before --as root genesis --county 150430 --name 敖汉旗 --root root >/dev/null
before --as root region add 150430100 --name 新惠镇 >/dev/null
before --as root region add 150430100201 --name 东井村 >/dev/null
before --as root region add 150430100201-03 --name 东井村三组 >/dev/null
before --as root region add 150430100202 --name 西井村 >/dev/null
before --as root region import "$repo/docs/map/sample-regions.geojson" >/dev/null
before --as root delegate --to station --role township_station --scope 150430100 >/dev/null
before --as root delegate --to fire --role department --scope 150430 --category fire >/dev/null
before --as station delegate --to head --role village_head --scope 150430100201 >/dev/null
before --as root delegate --to officer --role village_safety_officer --scope 150430100201 >/dev/null
before --as head delegate --to member --role grid_member --scope 150430100201-03 >/dev/null
before --as root node enroll "$(node_key "$home")" --scope 150430100201 >/dev/null
before --as root node enroll "$(node_key "$township")" --scope 150430100 >/dev/null

unit() { before --as head unit add --grid 150430100201-03 "$@" | grep -oE '[0-9a-f]{64}' | head -1; }
station_id=$(unit --name 中石化东井加油站 --address "东井村村东 303 省道旁" --industry 成品油零售 --key true --location 119.9668,42.2443)
unit --name 东井村红砖厂 --address "东井村北沟" --industry 建材 --key true --location 119.9338,42.2452 >/dev/null
unit --name 幸福超市 --address "东井村中心街 12 号" --industry 零售 --three-small true --location 119.9455,42.2462 >/dev/null
before --as member unit confirm "$station_id" --by unit >/dev/null
before --as head unit confirm "$station_id" --by grid_leader >/dev/null

# A patrol ten days ago with its checklist; a key unit is patrolled weekly, so it is due again.
before --as member inspect "$station_id" --item "消防器材:pass" --item "安全出口/疏散通道:fail:后门堆放空油桶" \
  --item "用电线路:pass" --item "危化品存放:pass:油罐区有警示标志" --item "安全制度/台账:na" \
  --text "例行巡查，已要求站长当天清理后门" --photo "$dir/photos/cylinder.png" >/dev/null
# Notices from the township (文件送达), one already signed for (签收) by the village.
before --as station notice send --scope 150430100 --title "关于开展冬季防火安全检查的通知" \
  --text "各村于本月底前完成辖区内加油站、超市、砖厂的防火检查，并报送检查记录。" --to 150430100201,150430100202 >/dev/null
notice1=$(before --as station notice send --scope 150430100 --title "关于报送十一月隐患排查清单的通知" \
  --text "请于 5 日前报送上月隐患排查治理清单。" --to 150430100201 | grep -oE '[0-9a-f]{64}' | head -1)
before --as head notice ack "$notice1" --as-recipient 150430100201 >/dev/null

report() { "$@" | grep -oE '[0-9a-f]{64}' | head -1; }

# Noticed ten days ago with three days to act: overdue now.
scaffold=$(report before --as member hazard report --grid 150430100201-03 --category construction --severity general \
  --text "砖厂烟囱外脚手架松动，底部无防护网" --photo "$dir/photos/scaffold.png" --location 119.9318,42.2468)
before --as head hazard notice "$scaffold" --days 3 --responsible "红砖厂 王厂长" --measures "加固脚手架，底部挂设防护网" >/dev/null

# Archived: fixed on the spot, re-inspected (销号).
food=$(report an --as member hazard report --grid 150430100201-03 --category food --severity general --text "幸福超市冷柜内有过期酸奶" --location 119.9452,42.2455)
an --as member hazard fix "$food" --text "已下架销毁" --photo "$dir/photos/box-fixed.png" >/dev/null
an --as member hazard verify "$food" --pass >/dev/null

# Escalated to the township, awaiting receipt (签收).
chem=$(report an --as member hazard report --grid 150430100201-03 --category chemicals --severity general --text "农资店农药与食品混放" --location 119.9581,42.2475)
an --as head hazard escalate "$chem" --text "村级无法处理，请乡镇督办" >/dev/null

# The village syncs once with the township: what came before is 已同步.
"$anwang" --home "$home" bundle export "$dir/township.bundle" --for "$(node_key "$township")" >/dev/null
"$anwang" --home "$township" bundle import "$dir/township.bundle" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$anwangd" --home "$home" --listen "127.0.0.1:$port" --web-listen 127.0.0.1:0 2>"$dir/sync-once.log" &
daemon=$!
for _ in $(seq 1 100); do grep -q "listening\|web UI" "$dir/sync-once.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
"$anwang" --home "$township" sync "127.0.0.1:$port" >/dev/null || echo "warning: the sync with the township failed" >&2
sleep 0.5
kill -TERM "$daemon"
wait "$daemon" 2>/dev/null || true

# Reported, waiting for the village to escalate or act.
fire1=$(report an --as member hazard report --grid 150430100201-03 --category fire --severity general --unit "$station_id" \
  --text "加油站消防通道被货车堵塞，两具灭火器过期" --photo "$dir/photos/extinguisher.png" --location 119.9662,42.2438)

# Fixed on site by the grid member: awaits re-inspection.
box=$(report an --as member hazard report --grid 150430100201-03 --category electrical --severity general \
  --text "村委会配电箱门锁损坏，线路裸露" --photo "$dir/photos/box.png" --location 119.9402,42.2494)
an --as member hazard fix "$box" --text "已更换门锁并包扎线头" --photo "$dir/photos/box-fixed.png" >/dev/null

# Major: awaiting the second sign-off (双签).
slope=$(report an --as member hazard report --grid 150430100201-03 --category geological --severity major \
  --text "砖厂取土边坡出现裂缝，雨后有滑坡迹象" --photo "$dir/photos/slope.png" --location 119.9282,42.2425)
an --as head hazard signoff "$slope" --text "已到现场查看，情况属实" >/dev/null

# Assigned to a department that has no key here yet.
road=$(report an --as member hazard report --grid 150430100201-03 --category traffic --severity general --text "村口急弯处缺少警示标志和减速带" --location 119.9525,42.2410)
an --as head hazard escalate "$road" >/dev/null
an --as station hazard receive "$road" >/dev/null
an --as station hazard assign "$road" --department traffic >/dev/null

# Handled by the fire department: the reporter re-inspects.
bikes=$(report an --as member hazard report --grid 150430100201-03 --category fire --severity general --text "幸福超市店内给电动车充电" --location 119.9468,42.2478)
an --as head hazard escalate "$bikes" >/dev/null
an --as station hazard receive "$bikes" >/dev/null
an --as station hazard assign "$bikes" --department fire >/dev/null
an --as fire hazard handled "$bikes" --text "已督促店主将电动车移至室外充电棚" --photo "$dir/photos/box-fixed.png" >/dev/null

# Rejected at re-inspection (驳回), back to the department.
gas=$(report an --as member hazard report --grid 150430100201-03 --category fire --severity general \
  --text "饭店后厨液化气瓶未固定，软管老化" --photo "$dir/photos/cylinder.png" --location 119.9612,42.2508)
an --as head hazard escalate "$gas" >/dev/null
an --as station hazard receive "$gas" >/dev/null
an --as station hazard assign "$gas" --department fire >/dev/null
an --as fire hazard handled "$gas" --text "已要求更换软管" >/dev/null
an --as member hazard verify "$gas" --fail --text "复查时软管仍未更换" >/dev/null

# A tip from the public waiting to be verified (核查), and one dismissed after a visit.
an --as member tip enter --grid 150430100201-03 --text "有村民反映红砖厂夜间偷偷生产，没有照明" --source "电话，村民李某" >/dev/null
old_tip=$(report an --as member tip enter --grid 150430100201-03 --text "村西废弃厂房有人存放烟花爆竹" --source "来访")
an --as head tip verify "$old_tip" --dismiss "现场核查，厂房内只有废旧农机，没有烟花爆竹" >/dev/null

# An incident (事故), reported at once and then updated.
accident=$(report an --as head incident report --grid 150430100201 --text "红砖厂一名工人搬运时被倒塌砖垛砸伤左腿" \
  --deaths 0 --injuries 1 --status rescuing)
an --as head incident update "$accident" --status controlled --text "伤者已送旗医院，无生命危险；砖厂停工整顿" >/dev/null

# Who is who (人员信息): profiles bound to the demo's keys, and a group liaison with no key yet.
profile() { before --as "$1" person add --scope "$2" --name "$3" --office "$4" --phone "$5" ${6:+--key "$(key_of "$6")"} ${7:+--grid "$7"} >/dev/null; }
profile head 150430100201 张晓梅 网格员 13947100301 member 150430100201-03
profile station 150430100201 王建国 网格长 13947100302 head
profile root 150430100201 李秀兰 村安全员 13947100303 officer
profile root 150430100 赵志强 乡镇安监站站长 04767700100 station
profile root 150430 刘军 消防救援大队 04767700119 fire
profile head 150430100201 孙大山 组级安全联络员 13947100305 "" 150430100201-03
# A training (培训) and a weekly meeting (例会) with their attendees, and a notebook entry (工作记录).
before --as head training record --scope 150430100201 --date "$(date -u -d @$((past_ms / 1000)) +%F)" --topic "冬季防火与燃气安全" \
  --hours 2 --attendees "张晓梅,李秀兰,孙大山,村民代表 周某" --text "乡镇安监站赵站长授课，现场演示灭火器使用" 2>/dev/null >/dev/null
before --as officer meeting record --scope 150430100201 --date "$(date -u -d @$((past_ms / 1000)) +%F)" --topic "网格员周例会" \
  --attendees "张晓梅,孙大山,王建国" --minutes "通报本周巡查情况；砖厂脚手架限期三天整改；下周重点检查加油站和超市。" 2>/dev/null >/dev/null
an --as member notebook record --scope 150430100201-03 --date "$(date -u +%F)" \
  --text "上午巡查三组：加油站消防通道被堵，已上报；幸福超市冷柜过期酸奶当场下架。" >/dev/null

an hazard list
echo "demo node ready: $home (passphrase file $pass)"
