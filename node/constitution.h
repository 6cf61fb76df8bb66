// constitution.h — reading a constitution from TOML, and the default one.
//
// The default constitution is node/constitution.toml, compiled into the binary so a node needs
// no file at run time. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "crdt/constitution.h"
#include "crdt/status.h"

namespace anwang::node {

// Parses and checks a constitution. `source` names the file in error messages.
Result<Constitution> parse_constitution(std::string_view toml_text, const std::string& source);
Result<Constitution> load_constitution_file(const std::string& path);

std::string_view default_constitution_text();
const Constitution& default_constitution();

}  // namespace anwang::node
