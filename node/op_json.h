// op_json.h — ops as JSON for `anwang log|show --json` and the local API. Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "crdt/op.h"

namespace anwang::node {

// {"id", "network", "author", "author_seq", "author_prev", "parents", "hlc", "time", "scope",
//  "object", "kind", "payload": {...}, "bytes"}
nlohmann::json op_to_json(const Op& op);
nlohmann::json constitution_to_json(const Constitution& constitution);
nlohmann::json attachments_to_json(const std::vector<Attachment>& attachments);
// One line for humans: "TIME  KIND  SCOPE  ID  AUTHOR  summary".
std::string op_summary(const Op& op);

}  // namespace anwang::node
