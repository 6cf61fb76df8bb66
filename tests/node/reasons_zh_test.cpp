// The rules' reasons said in Chinese for the web UI (node/reasons_zh.h): real sentences the rules
// give, each to its Chinese, and an unknown sentence to nothing.
#include <catch2/catch.hpp>

#include "node/reasons_zh.h"

using anwang::node::reason_zh;

TEST_CASE("the rules' reasons read in Chinese, and an unknown one gives nothing", "[web][reasons]") {
  CHECK(reason_zh("refused, nothing written: key 6436d83cfe16: role 'grid_member' does not allow 'hazard.escalate'") ==
        "密钥 6436d83cfe16 的职务（网格员）不能进行“上报上级”。");
  CHECK(reason_zh("key 6436d83cfe16: its role 'village_head' is held at 150430100201, which does not contain 150430100202") ==
        "密钥 6436d83cfe16 的职务（网格长）在 150430100201，管不到 150430100202。");
  CHECK(reason_zh("key a93c18ab0011: its role 'department' covers categories fire, not 'traffic'") ==
        "密钥 a93c18ab0011 的职务（行业主管部门）不管“交通”类隐患。");
  CHECK(reason_zh("the hazard is at the village level; it escalates to the township level") == "隐患在村级，只能上报到乡镇级。");
  CHECK(reason_zh("re-inspection (复查) comes after the hazard is handled or fixed on site; it is assigned") ==
        "复查须在已办理或现场整改之后；现在是“已交办”。");
  CHECK(reason_zh("a major hazard (重大隐患) leaves the village only with two sign-offs (双签) by two persons, neither "
                  "appointed by the other, over the same version; it has 1") ==
        "重大隐患须经两人双签（互不为任命关系）才能上报出村；现有 1 人签字。");
  CHECK(reason_zh("void: key 6436d83cfe16 was revoked (left) by op 0a1b2c3d4e5f and this op is after the revoker's "
                  "frontier (op number 12)") == "无效：密钥 6436d83cfe16 已被撤销（操作 0a1b2c3d4e5f），此步骤在撤销时已知的最后一步之后。");
  CHECK(reason_zh("this notice was not sent to 150430100202") == "此文件没有发给 150430100202。");
  CHECK(reason_zh("no department owns category 'fire'") == "没有主管“消防”类的部门。");
  // A key that may not sign yet (Store::key_standing), as the web API's 503 says it.
  CHECK(reason_zh("key 6436d83cfe16 does not sign yet: this node was restored from a backup and has not finished a sync "
                  "session with a neighbour since, so it cannot know what the key signed after the backup was taken; "
                  "sync with a neighbour (anwang sync HOST:PORT), then sign again") ==
        "密钥 6436d83cfe16 暂不能签名：本节点刚从备份恢复，尚未与相邻节点完成一次同步，无法知道备份之后此密钥签过什么。"
        "请先同步（anwang sync 或启动 anwangd），再签名。");
  CHECK(reason_zh("key 6436d83cfe16 has signed op number 3 on another node or before this node was restored, and this "
                  "node holds only up to 1: sync with a neighbour (anwang sync HOST:PORT) until it holds them, then sign "
                  "again") == "密钥 6436d83cfe16 已签到第 3 号操作，本节点只有到第 1 号。请先与相邻节点同步，取回这些操作后再签名。");
  CHECK(reason_zh("a sentence no rule gives").empty());
  CHECK(reason_zh("").empty());
}
