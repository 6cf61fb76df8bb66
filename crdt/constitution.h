// constitution.h — the county's constitution: roles, categories and settings.
//
// Carried in the genesis op and replaced by amendments signed by k of the n root keys. Every
// authority verdict reads the roles from here: what each role may do (capabilities), whom it may
// appoint (may_delegate), at which levels it is held, its rank among roles at one scope, and
// whether it acts only within hazard categories (departments). Pure value types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crdt/scope.h"
#include "crdt/status.h"

namespace anwang {

struct RoleDef {
  std::string id;
  std::string name_zh;
  std::string name_en;
  std::vector<std::string> levels;  // "county", "township", "village", "grid"
  std::uint16_t rank = 0;
  std::vector<std::string> capabilities;
  std::vector<std::string> may_delegate;
  bool category_bound = false;
  bool operator==(const RoleDef&) const = default;

  bool has_capability(const std::string& capability) const;
  bool may_delegate_role(const std::string& role) const;
  bool held_at(ScopeLevel level) const;
};

struct CategoryDef {
  std::string id;
  std::string name_zh;
  std::string name_en;
  std::string department;
  bool operator==(const CategoryDef&) const = default;
};

struct Setting {
  std::string name;
  std::int64_t value = 0;
  bool operator==(const Setting&) const = default;
};

struct Constitution {
  std::vector<RoleDef> roles;
  std::vector<CategoryDef> categories;
  std::vector<Setting> settings;
  bool operator==(const Constitution&) const = default;

  const RoleDef* role(const std::string& id) const;
  const CategoryDef* category(const std::string& id) const;
  std::int64_t setting(const std::string& name, std::int64_t fallback) const;
};

// Capabilities the authority rules know. Roles list them by these names.
namespace capability {
inline constexpr const char* kDelegate = "delegate";
inline constexpr const char* kRevoke = "revoke";
inline constexpr const char* kRegionDefine = "region.define";
inline constexpr const char* kNodeEnroll = "node.enroll";
inline constexpr const char* kNote = "note";
}  // namespace capability

inline constexpr const char* kRootRole = "county_admin";

// Ok, or invalid with one sentence naming the role, category or setting at fault.
Status check_constitution(const Constitution& constitution);

}  // namespace anwang
