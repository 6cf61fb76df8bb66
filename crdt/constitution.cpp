#include "crdt/constitution.h"

#include <algorithm>
#include <set>

#include "crdt/limits.h"

namespace anwang {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool is_identifier(const std::string& text) {
  return !text.empty() && text.size() <= limits::identifier_bytes_max &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
         });
}

Status check_identifiers(const std::string& what, const std::vector<std::string>& ids) {
  if (ids.size() > limits::constitution_list_max)
    return Status::invalid(what + " has more than " + std::to_string(limits::constitution_list_max) + " entries");
  std::set<std::string> seen;
  for (const std::string& id : ids) {
    if (!is_identifier(id)) return Status::invalid(what + " entry '" + id + "' must be lower-case letters, digits, '_' or '.'");
    if (!seen.insert(id).second) return Status::invalid(what + " names '" + id + "' twice");
  }
  return Status::ok();
}

Status check_role(const Constitution& constitution, const RoleDef& role) {
  std::string where = "role '" + role.id + "'";
  if (role.name_zh.empty() || role.name_en.empty() || role.name_zh.size() > limits::name_bytes_max ||
      role.name_en.size() > limits::name_bytes_max)
    return Status::invalid(where + " needs a Chinese and an English name of at most 256 bytes");
  if (role.levels.empty()) return Status::invalid(where + " must be held at one level at least");
  for (const std::string& level : role.levels)
    if (level != "county" && level != "township" && level != "village" && level != "grid")
      return Status::invalid(where + " names level '" + level + "'; levels are county, township, village, grid");
  if (Status s = check_identifiers(where + " levels", role.levels); !s) return s;
  if (Status s = check_identifiers(where + " capabilities", role.capabilities); !s) return s;
  if (Status s = check_identifiers(where + " may_delegate", role.may_delegate); !s) return s;
  for (const std::string& delegated : role.may_delegate) {
    const RoleDef* target = constitution.role(delegated);
    if (target == nullptr) return Status::invalid(where + " may delegate '" + delegated + "', which is no role");
    for (const std::string& cap : target->capabilities)
      if (!role.has_capability(cap))
        return Status::invalid(where + " may delegate '" + delegated + "', which holds capability '" + cap +
                               "' that " + where + " lacks: a delegation can only narrow");
  }
  return Status::ok();
}

}  // namespace

bool RoleDef::has_capability(const std::string& capability) const { return contains(capabilities, capability); }
bool RoleDef::may_delegate_role(const std::string& role) const { return contains(may_delegate, role); }
bool RoleDef::held_at(ScopeLevel level) const { return contains(levels, scope_level_name(level)); }

const RoleDef* Constitution::role(const std::string& id) const {
  for (const RoleDef& role : roles)
    if (role.id == id) return &role;
  return nullptr;
}

const CategoryDef* Constitution::category(const std::string& id) const {
  for (const CategoryDef& category : categories)
    if (category.id == id) return &category;
  return nullptr;
}

std::int64_t Constitution::setting(const std::string& name, std::int64_t fallback) const {
  for (const Setting& setting : settings)
    if (setting.name == name) return setting.value;
  return fallback;
}

Status check_constitution(const Constitution& constitution) {
  std::vector<std::string> role_ids, category_ids, setting_names;
  for (const RoleDef& role : constitution.roles) role_ids.push_back(role.id);
  for (const CategoryDef& category : constitution.categories) category_ids.push_back(category.id);
  for (const Setting& setting : constitution.settings) setting_names.push_back(setting.name);
  if (Status s = check_identifiers("constitution roles", role_ids); !s) return s;
  if (Status s = check_identifiers("constitution categories", category_ids); !s) return s;
  if (Status s = check_identifiers("constitution settings", setting_names); !s) return s;
  const RoleDef* root = constitution.role(kRootRole);
  if (root == nullptr || !root->held_at(ScopeLevel::kCounty))
    return Status::invalid("the constitution must define role 'county_admin' held at the county level");
  for (const RoleDef& role : constitution.roles)
    if (Status s = check_role(constitution, role); !s) return s;
  for (const CategoryDef& category : constitution.categories)
    if (category.name_zh.empty() || category.name_en.empty() || category.department.empty())
      return Status::invalid("category '" + category.id + "' needs a Chinese name, an English name and a department");
  return Status::ok();
}

}  // namespace anwang
