// records.h — what the record commands (cli/commands_records.cpp) share with the people commands
// (cli/commands_people.cpp): one record step as a command gives it, and a record id from a prefix.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/context.h"

namespace anwang::cli {

struct Step {
  std::string kind, action, scope, target;  // target: existing record id (empty to create)
  std::map<std::string, std::string> fields;
  std::vector<std::string> photos;
  std::vector<Hash32> refs;
};

// Writes one record step by the acting key and prints the record's id.
void write_step(Context& ctx, Step step);

// A record id of `kind`: 64 hex digits or a unique prefix of at least 8.
Result<Hash32> resolve_record(const node::Store& store, const std::string& kind, const std::string& text);

// `anwang KIND list` and `anwang KIND show ID` under `parent`.
void add_list_and_show(CLI::App* parent, Context& ctx, const std::string& kind);

}  // namespace anwang::cli
