#include "cli/context.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "crdt/hlc.h"

namespace anwang::cli {

std::filesystem::path Context::home_dir() const {
  if (!home_flag.empty()) return home_flag;
  if (const char* env = std::getenv("ANWANG_HOME"); env != nullptr && *env != '\0') return env;
  const char* user_home = std::getenv("HOME");
  return std::filesystem::path(user_home != nullptr ? user_home : ".") / ".anwang";
}

Result<node::NodeHome> Context::open_home() const { return node::NodeHome::open(home_dir()); }

Result<KeyPair> Context::acting_key(const node::NodeHome& home) const {
  if (!acting_key_name.empty()) return home.load_key(acting_key_name);
  auto keys = home.list_keys();
  if (!keys) return keys.status();
  if (keys->size() == 1) return home.load_key(keys->front().name);
  if (keys->empty()) return Status::not_found("this node's keyring is empty: create a key with 'anwang key new NAME'");
  return Status::invalid("the keyring holds several keys: choose who acts with --as KEYNAME");
}

Result<Opened> open_all(const Context& ctx) {
  auto home = ctx.open_home();
  if (!home) return home.status();
  auto store = home->open_store(&ctx.clock);
  if (!store) return store.status();
  return Opened{std::move(*home), std::move(*store)};
}

namespace {
std::string media_type_of(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".webp") return "image/webp";
  if (ext == ".pdf") return "application/pdf";
  return "application/octet-stream";
}
}  // namespace

Result<std::vector<Attachment>> attach_files(node::Store& store, const std::vector<std::string>& files) {
  std::vector<Attachment> out;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::not_found("cannot read photo file " + file);
    Bytes data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto attachment = store.put_blob(data, media_type_of(file));
    if (!attachment) return attachment.status();
    out.push_back(*attachment);
  }
  return out;
}

Result<Op> author_op(Context& ctx, Opened& opened, const KeyPair& key, const node::OpDraft& draft) {
  if (!ctx.clock_warned) {
    auto state = opened.store->clock_state(ctx.clock);
    if (state)
      if (std::string warning = node::clock_warning(*state); !warning.empty()) {
        std::cerr << "anwang: warning: " << warning << "\n";
        ctx.clock_warned = true;
      }
  }
  auto op = opened.store->author(key, draft, ctx.clock);
  if (op) return op;
  // The store names a key by its short hex; people know it by its keyring name.
  std::string message = op.status().message();
  if (auto keys = opened.home.list_keys())
    for (const node::KeyInfo& info : *keys)
      if (info.public_key == key.public_key()) message = node::with_key_name(message, info.public_key, info.name);
  return Status::error(op.status().code(), message);
}

std::string refused_label(const node::IngestOutcome& refused) {
  if (!refused.id) return "(undecodable 无法解码)";
  bool undecodable = refused.reason == Refusal::kMalformed || refused.reason == Refusal::kTooLarge;
  return refused.id->short_hex() + (undecodable ? " (undecodable 无法解码)" : "");
}

nlohmann::json refusals_json(const std::vector<node::IngestOutcome>& refusals) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& refused : refusals)
    out.push_back({{"id", refused.id ? nlohmann::json(refused.id->hex()) : nlohmann::json(nullptr)},
                   {"reason", refusal_name(refused.reason)}, {"detail", refused.detail}});
  return out;
}

bool progress_to_terminal() { return isatty(STDERR_FILENO) == 1; }

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kInvalidArgument:
    case Status::Code::kAlreadyExists:
    case Status::Code::kUnavailable: return kExitInvalid;
    case Status::Code::kNotFound: return kExitNotFound;
    case Status::Code::kRefused: return kExitCheckFailed;
    case Status::Code::kCorruption:
    case Status::Code::kStoreFull:
    case Status::Code::kIoError: return kExitStore;
  }
  return kExitStore;
}

void Context::fail(const Status& status) {
  exit_code = exit_code_for(status);
  std::string message = status.message();
  // A full store: name this node's own configuration file, so the officer knows which to edit.
  if (std::size_t at = message.find("anwang.toml");
      status.code() == Status::Code::kStoreFull && at != std::string::npos)
    message.replace(at, std::string("anwang.toml").size(), (home_dir() / "anwang.toml").string());
  std::cerr << "anwang: " << message << "\n";
  if (json) print({{"error", message}, {"exit_code", exit_code}});
}

void Context::print(const nlohmann::json& value) const { std::cout << value.dump(2) << "\n"; }

}  // namespace anwang::cli
