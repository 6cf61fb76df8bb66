#include "node/constitution.h"

#include <algorithm>
#include <cassert>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

namespace anwang::node {

namespace {

Result<std::vector<std::string>> strings_of(const toml::node_view<const toml::node>& node, const std::string& where) {
  std::vector<std::string> out;
  if (!node) return out;
  const toml::array* array = node.as_array();
  if (array == nullptr) return Status::invalid(where + " must be a list of strings");
  for (const toml::node& item : *array) {
    auto text = item.value<std::string>();
    if (!text) return Status::invalid(where + " must be a list of strings");
    out.push_back(*text);
  }
  return out;
}

Result<std::string> string_of(const toml::node_view<const toml::node>& node, const std::string& where) {
  auto text = node.value<std::string>();
  if (!text) return Status::invalid(where + " must be a string");
  return *text;
}

Result<RoleDef> role_of(const toml::table& table, const std::string& source, std::size_t n) {
  std::string where = source + ": role " + std::to_string(n + 1);
  toml::node_view<const toml::node> view(table);
  RoleDef role;
  auto id = string_of(view["id"], where + " id");
  if (!id) return id.status();
  role.id = *id;
  where = source + ": role '" + role.id + "'";
  auto zh = string_of(view["zh"], where + " zh");
  auto en = string_of(view["en"], where + " en");
  if (!zh) return zh.status();
  if (!en) return en.status();
  role.name_zh = *zh;
  role.name_en = *en;
  auto levels = strings_of(view["levels"], where + " levels");
  auto capabilities = strings_of(view["capabilities"], where + " capabilities");
  auto delegate = strings_of(view["may_delegate"], where + " may_delegate");
  if (!levels) return levels.status();
  if (!capabilities) return capabilities.status();
  if (!delegate) return delegate.status();
  role.levels = *levels;
  role.capabilities = *capabilities;
  role.may_delegate = *delegate;
  auto rank = view["rank"].value<std::int64_t>();
  if (!rank || *rank < 0 || *rank > 65535) return Status::invalid(where + " rank must be a whole number from 0 to 65535");
  role.rank = static_cast<std::uint16_t>(*rank);
  role.category_bound = view["category_bound"].value_or(false);
  return role;
}

}  // namespace

Result<Constitution> parse_constitution(std::string_view toml_text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return Status::invalid(source + " is not valid TOML at " + where.str() + ": " + std::string(e.description()));
  }
  Constitution constitution;
  if (const toml::array* roles = table["role"].as_array()) {
    for (std::size_t i = 0; i < roles->size(); ++i) {
      const toml::table* role_table = (*roles)[i].as_table();
      if (role_table == nullptr) return Status::invalid(source + ": [[role]] entries must be tables");
      auto role = role_of(*role_table, source, i);
      if (!role) return role.status();
      constitution.roles.push_back(std::move(*role));
    }
  }
  if (const toml::array* categories = table["category"].as_array()) {
    for (const toml::node& node : *categories) {
      const toml::table* c = node.as_table();
      if (c == nullptr) return Status::invalid(source + ": [[category]] entries must be tables");
      toml::node_view<const toml::node> view(*c);
      CategoryDef category{view["id"].value_or(std::string()), view["zh"].value_or(std::string()),
                           view["en"].value_or(std::string()), view["department"].value_or(std::string())};
      constitution.categories.push_back(std::move(category));
    }
  }
  if (const toml::table* settings = table["settings"].as_table()) {
    for (const auto& [name, value] : *settings) {
      auto number = value.value<std::int64_t>();
      if (!number) return Status::invalid(source + ": setting '" + std::string(name.str()) + "' must be a whole number");
      constitution.settings.push_back(Setting{std::string(name.str()), *number});
    }
    std::sort(constitution.settings.begin(), constitution.settings.end(),
              [](const Setting& a, const Setting& b) { return a.name < b.name; });
  }
  if (Status s = check_constitution(constitution); !s) return Status::invalid(source + ": " + s.message());
  return constitution;
}

Result<Constitution> load_constitution_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot read constitution file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_constitution(text.str(), path);
}

const Constitution& default_constitution() {
  static const Constitution kDefault = [] {
    auto parsed = parse_constitution(default_constitution_text(), "node/constitution.toml");
    assert(parsed.is_ok() && "the built-in constitution must be valid");
    return std::move(*parsed);
  }();
  return kDefault;
}

}  // namespace anwang::node
