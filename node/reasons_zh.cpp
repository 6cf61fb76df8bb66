// reasons_zh.cpp — see reasons_zh.h.
#include "node/reasons_zh.h"

#include <map>
#include <regex>
#include <utility>
#include <vector>

namespace anwang::node {

namespace {

const std::map<std::string, std::string>& words() {
  static const std::map<std::string, std::string> zh = {
      // roles
      {"county_admin", "县安委办管理员"}, {"auditor", "考核审计员"}, {"department", "行业主管部门"},
      {"township_station", "乡镇安监站"}, {"village_head", "网格长"}, {"village_safety_officer", "村安全员"},
      {"grid_member", "网格员"}, {"group_liaison", "组级安全联络员"},
      // actions
      {"hazard.report", "上报隐患"}, {"hazard.fix", "现场整改"}, {"hazard.notice", "下达整改通知"},
      {"hazard.escalate", "上报上级"}, {"hazard.receive", "签收"}, {"hazard.assign", "交办"},
      {"hazard.handle", "办理"}, {"hazard.verify", "复查"}, {"hazard.reclassify", "改类别"},
      {"hazard.comment", "补充说明"}, {"hazard.signoff", "双签"}, {"hazard.list_supervision", "挂牌督办"},
      {"hazard.stop_work", "停产整改"}, {"hazard.close", "关闭"}, {"inspect", "巡查"}, {"tip.enter", "登记举报"},
      {"tip.verify", "核实举报"}, {"incident.report", "报告事故"}, {"notice.send", "发送文件"},
      {"notice.acknowledge", "签收文件"}, {"unit.edit", "登记台账"}, {"unit.confirm", "审核台账"},
      {"node.enroll", "登记节点"}, {"region.define", "划定区域"}, {"delegate", "任命"}, {"revoke", "撤销"},
      {"training.record", "登记培训"}, {"meeting.record", "登记例会"}, {"notebook.write", "写工作记录"},
      // hazard categories
      {"fire", "消防"}, {"traffic", "交通"}, {"construction", "建筑施工"}, {"chemicals", "危化品"},
      {"electrical", "用电"}, {"food", "食品"}, {"geological", "地质灾害"}, {"special_equipment", "特种设备"},
      {"other", "其他"},
      // levels and kinds
      {"grid", "网格"}, {"village", "村级"}, {"township", "乡镇级"}, {"county", "县级"},
      {"unit", "生产经营单位"}, {"inspection", "巡查记录"}, {"tip", "群众举报"}, {"incident", "事故"}, {"notice", "文件"},
      {"person", "人员信息"}, {"training", "培训"}, {"meeting", "例会"}, {"notebook", "工作记录"},
      // hazard states
      {"reported", "已上报"}, {"awaiting_signoff", "待双签"}, {"fixed_on_site", "现场整改"}, {"noticed", "限期整改"},
      {"escalated", "已上报上级"}, {"received", "已签收"}, {"assigned", "已交办"}, {"handled", "已办理"},
      {"rejected", "已驳回"}, {"archived", "办结归档"},
  };
  return zh;
}

// A word of the rules in Chinese, or the word itself.
std::string word(const std::string& w) {
  auto it = words().find(w);
  return it == words().end() ? w : it->second;
}

// One sentence pattern and its Chinese; {1}, {2}… are the pattern's groups, {w1} a group turned
// into its Chinese word.
struct Pattern {
  std::regex re;
  std::string zh;
};

const std::vector<Pattern>& patterns() {
  static const std::vector<Pattern> table = [] {
    std::vector<std::pair<const char*, const char*>> raw = {
        // the authority rules
        {R"(key (\S+) holds no role)", "密钥 {1} 没有任何职务。"},
        {R"(key (\S+): role '([a-z_]+)' does not allow '([a-z_.]+)')", "密钥 {1} 的职务（{w2}）不能进行“{w3}”。"},
        {R"(key (\S+): its role '([a-z_]+)' is held at (\S+), which does not contain (\S+))",
         "密钥 {1} 的职务（{w2}）在 {3}，管不到 {4}。"},
        {R"(key (\S+): its role '([a-z_]+)' covers categories (.+), not '([a-z_]+)')",
         "密钥 {1} 的职务（{w2}）不管“{w4}”类隐患。"},
        {R"(key (\S+): its role '([a-z_]+)' is held at (\S+), but this has reached the (\S+) level)",
         "密钥 {1} 的职务（{w2}）在 {3}，而此事已到{w4}。"},
        {R"(key (\S+) lost role '([a-z_]+)' at (\S+) to a revocation)", "密钥 {1} 在 {3} 的职务（{w2}）已被撤销。"},
        {R"(void: key (\S+) was revoked \((left|compromised)\) by op (\S+) and this op is after the revoker's frontier.*)",
         "无效：密钥 {1} 已被撤销（操作 {3}），此步骤在撤销时已知的最后一步之后。"},
        {R"(void: key (\S+) was itself revoked.*)", "无效：密钥 {1} 本身已被撤销，不能再撤销或确认他人。"},
        {R"(key (\S+) equivocated .*)", "密钥 {1} 出现了两条同号操作（可能被复制或盗用），其职权已暂停，待上级确认。"},
        {R"(its causal past holds no genesis of this network)", "此操作之前没有本县网络的创世记录。"},
        // a key of this node's keyring that may not sign yet (Store::key_standing)
        {R"(key (\S+) does not sign yet: this node was restored from a backup.*)",
         "密钥 {1} 暂不能签名：本节点刚从备份恢复，尚未与相邻节点完成一次同步，无法知道备份之后此密钥签过什么。请先同步（anwang sync 或启动 anwangd），再签名。"},
        {R"(key (\S+) has signed op number (\d+) on another node or before this node was restored, and this node holds only up to (\d+).*)",
         "密钥 {1} 已签到第 {2} 号操作，本节点只有到第 {3} 号。请先与相邻节点同步，取回这些操作后再签名。"},
        {R"(key (\S+) has signed op number (\d+) on another node, in a scope this node may not hold.*)",
         "密钥 {1} 已在其他节点签到第 {2} 号操作：密钥已迁移到别处，须在本节点重新接收后才能再签名。"},
        {R"(key (\S+) signed op number (\d+) twice.*)",
         "密钥 {1} 的第 {2} 号操作出现两份（本节点从旧的副本恢复，或同一密钥在两个节点上使用）。请先同步取回另一份，再签名。"},
        // the hazard loop
        {R"(this hazard was already reported)", "此隐患已经上报过。"},
        {R"(the constitution has no category '(.*)')", "没有“{1}”这个隐患类别。"},
        {R"(unknown hazard action '(.*)')", "没有“{1}”这一步骤。"},
        {R"(no effective report of this hazard is in its causal past)", "此步骤之前没有这条隐患的有效上报。"},
        {R"(a hazard's ops keep the scope of its report \((\S+)\))", "隐患的各步骤须在其上报地 {1}。"},
        {R"(the hazard is archived \(销号\); only comments and new evidence may follow)", "隐患已销号归档，只能补充说明或新证据。"},
        {R"(on-site fix \(现场整改\) is for general hazards only.*)", "只有一般隐患可以现场整改；重大隐患须下达限期整改通知。"},
        {R"(an on-site fix needs an after-photo.*)", "现场整改须附整改后照片。"},
        {R"(the deadline (\S+) is before the notice itself \((\S+)\))", "整改期限 {1} 早于通知本身（{2}）。"},
        {R"(the hazard is at the (\S+) level; it escalates to the (\S+) level)", "隐患在{w1}，只能上报到{w2}。"},
        {R"(a major hazard \(重大隐患\) leaves the village only with two sign-offs.*; it has (\d+))",
         "重大隐患须经两人双签（互不为任命关系）才能上报出村；现有 {1} 人签字。"},
        {R"(only a hazard escalated to this level and not yet received can be received \(签收\))", "只有已上报到本级且尚未签收的隐患才能签收。"},
        {R"(a hazard is assigned \(交办\) after its level has received it \(签收\))", "隐患须先由本级签收，才能交办。"},
        {R"(no department owns category '(.*)')", "没有主管“{w1}”类的部门。"},
        {R"(a hazard is marked handled \(已办理\) once it has a notice or an assignee)", "隐患须有整改通知或交办单位后，才能标记已办理。"},
        {R"(re-inspection \(复查\) comes after the hazard is handled or fixed on site; it is (\S+))",
         "复查须在已办理或现场整改之后；现在是“{w1}”。"},
        {R"(re-inspection \(复查\) is by someone other than who handled the hazard.*)", "复查须由办理人以外的人进行：上报人、验收人或到达层级的单位。"},
        {R"(only a major hazard \(重大隐患\) needs sign-offs)", "只有重大隐患需要双签。"},
        {R"(this person already signed off this version of the hazard.*)", "此人已对这一版本签过字，双签须由另一人完成。"},
        {R"(another report \((\S+)\).*)", "另一条上报（{1}）与此重复。"},
        // the other records
        {R"(this record already exists)", "此记录已存在。"},
        {R"(no effective creation of this record is in its causal past)", "此步骤之前没有这条记录的有效建立。"},
        {R"(this record is a (\S+), not a (\S+))", "此记录是{w1}，不是{w2}。"},
        {R"(a record's ops keep its scope \((\S+)\))", "记录的各步骤须在其所在地 {1}。"},
        {R"(a unit has no field '(.*)')", "生产经营单位没有“{1}”这一项。"},
        {R"(a new unit needs a name)", "新登记的单位须有名称。"},
        {R"(an inspection names the unit it patrolled)", "巡查记录须写明巡查的单位。"},
        {R"(a tip needs its text)", "举报须有内容。"},
        {R"(a dismissed tip needs a reason)", "不予采信的举报须写明理由。"},
        {R"(a tip that became a hazard names the hazard)", "转为隐患的举报须写明对应隐患。"},
        {R"(an incident report needs its text)", "事故报告须有内容。"},
        {R"(a notice needs a title and recipients)", "文件须有标题和接收单位。"},
        {R"(notice recipient '(.*)' is not a jurisdiction within (\S+))", "接收单位 {1} 不在 {2} 辖区内。"},
        {R"(this notice was not sent to (\S+).*)", "此文件没有发给 {1}。"},
        {R"(a (\S+) has no field '(.*)')", "{w1}没有“{2}”这一项。"},
        {R"(a (\S+) needs its date as YYYY-MM-DD)", "{w1}须填写日期（如 2026-12-07）。"},
        {R"(a training needs its topic)", "培训须写明主题。"},
        {R"(a training's hours are .*)", "培训学时须为大于 0、不超过 200 的数字，如 2 或 1.5。"},
        {R"(a (\S+) names its attendees)", "{w1}须写明参加人员。"},
        {R"(a meeting needs its minutes)", "例会须有会议记录。"},
        {R"(a notebook entry needs its text)", "工作记录须有内容。"},
        {R"(a person's profile needs a name)", "人员信息须有姓名。"},
        {R"(a person's name is 1 to 256 bytes)", "姓名须为 1 至 256 字节。"},
        {R"(a phone number is digits.*)", "电话号码只能由数字、空格、“+”和“-”组成，最多 32 个。"},
        {R"(an office is at most 256 bytes)", "职务最多 256 字节。"},
        {R"(a person's grid '(.*)' is not a jurisdiction within (\S+))", "网格 {1} 不在 {2} 辖区内。"},
        {R"(a person's holder is a key.*)", "绑定的密钥须为 64 位十六进制数字。"},
    };
    std::vector<Pattern> out;
    for (const auto& [re, zh] : raw) out.push_back({std::regex(re), zh});
    return out;
  }();
  return table;
}

}  // namespace

std::string reason_zh(std::string_view english) {
  std::string text(english);
  static const std::string kRefused = "refused, nothing written: ";
  if (text.rfind(kRefused, 0) == 0) text = text.substr(kRefused.size());
  for (const Pattern& p : patterns()) {
    std::smatch m;
    if (!std::regex_match(text, m, p.re)) continue;
    std::string out;
    for (std::size_t i = 0; i < p.zh.size(); ++i) {
      if (p.zh[i] == '{') {
        std::size_t close = p.zh.find('}', i);
        std::string slot = p.zh.substr(i + 1, close - i - 1);
        bool as_word = slot[0] == 'w';
        std::size_t group = static_cast<std::size_t>(std::stoi(as_word ? slot.substr(1) : slot));
        out += as_word ? word(m[group].str()) : m[group].str();
        i = close;
      } else {
        out += p.zh[i];
      }
    }
    return out;
  }
  return "";
}

}  // namespace anwang::node
