// reasons_zh.h — the rules' reasons in Chinese, for the people who read them in the web UI.
//
// The authority and record rules (crdt/) give each refusal and each void step one English
// sentence, which is stored in verdicts and shown by the CLI. The web UI is Chinese first, so this
// edge says the same sentence in Chinese: a table of the rules' sentence patterns, with role,
// action, level and place codes named as the seeds name them. A sentence the table does not know
// gets an empty answer, and the UI shows the English one: a new rule never shows nothing.
#pragma once

#include <string>
#include <string_view>

namespace anwang::node {

// The Chinese for one reason sentence of crdt/ (with or without the store's "refused, nothing
// written: " in front), or "" when the table does not know it.
std::string reason_zh(std::string_view english);

}  // namespace anwang::node
