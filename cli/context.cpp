#include "cli/context.h"

#include <fcntl.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
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
  if (!acting_key_name.empty()) return load_key(home, acting_key_name);
  auto keys = home.list_keys();
  if (!keys) return keys.status();
  if (keys->size() == 1) return load_key(home, keys->front().name);
  if (keys->empty()) return Status::not_found("this node's keyring is empty: create a key with 'anwang key new NAME'");
  return Status::invalid("the keyring holds several keys: choose who acts with --as KEYNAME");
}

namespace {

// The first line of `file`, without its line break, into `out` (a secret: read with read(2)
// straight into it, and what follows the line is wiped).
Status read_passphrase_file(const std::string& file, std::string& out) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::not_found("cannot read the passphrase file " + file + ": " + std::strerror(errno));
  out.resize(node::passphrase_bytes_max + 2);  // the longest passphrase and "\r\n"
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Status::not_found("cannot read the passphrase file " + file + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  std::size_t end = std::string_view(out.data(), got).find('\n');
  if (end == std::string_view::npos && got == out.size())
    return Status::invalid("the first line of the passphrase file " + file +
                           " is longer than a passphrase may be (" +
                           std::to_string(node::passphrase_bytes_max) + " bytes at most)");
  std::size_t length = end == std::string_view::npos ? got : end;
  if (length > 0 && out[length - 1] == '\r') --length;
  sodium_memzero(out.data() + length, out.size() - length);
  out.resize(length);
  return Status::ok();
}

// The terminal's settings while a passphrase is typed without echo, restored if the person
// presses Ctrl-C meanwhile.
termios terminal_before_prompt{};

extern "C" void restore_terminal_and_stop(int signal_number) {
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &terminal_before_prompt);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

// Asks for a passphrase on the terminal (stdin), without echo; the line typed goes into `out`
// (never more than passphrase_bytes_max + 1 bytes, so its buffer is never reallocated).
Status ask_on_terminal(const std::string& prompt, std::string& out) {
  if (tcgetattr(STDIN_FILENO, &terminal_before_prompt) != 0)
    return Status::io_error("cannot read a passphrase from the terminal: " + std::string(std::strerror(errno)));
  termios quiet = terminal_before_prompt;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  auto* previous = std::signal(SIGINT, restore_terminal_and_stop);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::cerr << prompt << std::flush;
  out.clear();
  out.reserve(node::passphrase_bytes_max + 1);
  char c = 0;
  while (true) {
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    if (out.size() <= node::passphrase_bytes_max) out.push_back(c);
  }
  c = 0;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &terminal_before_prompt);
  std::signal(SIGINT, previous);
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return Status::ok();
}

bool stdin_is_terminal() { return isatty(STDIN_FILENO) == 1; }

// The passphrase file named by --passphrase-file, else by ANWANG_PASSPHRASE_FILE; "" for none.
std::string passphrase_file_named(const Context& ctx) {
  if (!ctx.passphrase_file.empty()) return ctx.passphrase_file;
  const char* env = std::getenv(kPassphraseFileVariable);
  return env != nullptr ? env : "";
}

}  // namespace

Status Context::passphrase_to_unlock(const node::NodeHome& home, const std::string& name,
                                     Passphrase& out) const {
  auto info = home.key_info(name);
  if (!info || !info->is_protected) return Status::ok();  // load_key says what is wrong, if anything
  return passphrase_for("Passphrase of key " + name + " 密钥密码: ", false, out);
}

Status Context::passphrase_for(const std::string& prompt, bool is_new, Passphrase& out) const {
  if (std::string file = passphrase_file_named(*this); !file.empty()) {
    if (Status s = read_passphrase_file(file, out.secret.text); !s) return s;
    if (is_new)
      if (Status s = node::check_new_passphrase(out.secret.text); !s)
        return Status::invalid("the passphrase file " + file + ": " + s.message());
  } else if (stdin_is_terminal()) {
    if (Status s = ask_on_terminal(prompt, out.secret.text); !s) return s;
    if (is_new) {
      if (Status s = node::check_new_passphrase(out.secret.text); !s) return s;
      Passphrase again;
      if (Status s = ask_on_terminal("Again 再输入一次: ", again.secret.text); !s) return s;
      if (again.secret.text != out.secret.text)
        return Status::invalid("the two passphrases typed differ; nothing was written");
    }
  } else {
    return Status::ok();
  }
  out.given = true;
  return Status::ok();
}

Result<KeyPair> Context::load_key(const node::NodeHome& home, const std::string& name) const {
  Passphrase passphrase;
  if (Status s = passphrase_to_unlock(home, name, passphrase); !s) return s;
  return home.load_key(name, passphrase.view());
}

Status Context::new_passphrase(const std::string& name, Passphrase& out) const {
  return passphrase_for("New passphrase of key " + name + " 新密钥密码: ", true, out);
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

namespace {

// The first command to sign in a run says when this node's clock is off.
void warn_clock_once(Context& ctx, Opened& opened) {
  if (ctx.clock_warned) return;
  auto state = opened.store->clock_state(ctx.clock);
  if (state)
    if (std::string warning = node::clock_warning(*state); !warning.empty()) {
      std::cerr << "anwang: warning: " << warning << "\n";
      ctx.clock_warned = true;
    }
}

// The store names a key by its short hex; people know it by its keyring name.
Status with_keyring_name(const Opened& opened, const KeyPair& key, const Status& status) {
  std::string message = status.message();
  if (auto keys = opened.home.list_keys())
    for (const node::KeyInfo& info : *keys)
      if (info.public_key == key.public_key()) message = node::with_key_name(message, info.public_key, info.name);
  return Status::error(status.code(), message);
}

}  // namespace

Result<Op> author_op(Context& ctx, Opened& opened, const KeyPair& key, const node::OpDraft& draft) {
  warn_clock_once(ctx, opened);
  auto op = opened.store->author(key, draft, ctx.clock);
  if (op) return op;
  return with_keyring_name(opened, key, op.status());
}

Result<std::vector<Op>> author_ops(Context& ctx, Opened& opened, const KeyPair& key, std::span<const node::OpDraft> drafts) {
  warn_clock_once(ctx, opened);
  auto ops = opened.store->author_all(key, drafts, ctx.clock);
  if (ops) return ops;
  return with_keyring_name(opened, key, ops.status());
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

void Context::fail_usage(const std::string& message) {
  exit_code = kExitUsage;
  std::cerr << "anwang: " << message << "\n";
  if (json) print({{"error", message}, {"exit_code", exit_code}});
}

void Context::print(const nlohmann::json& value) const { std::cout << value.dump(2) << "\n"; }

std::string clip_to_columns(std::string_view text, std::size_t columns) {
  std::size_t used = 0, i = 0, fits = 0;  // fits: bytes that fit with room left for "…"
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
    if (i + length > text.size()) length = text.size() - i;  // a character cut short: kept as its bytes
    std::uint32_t code = lead;
    if (length > 1) {
      code = lead & (0x7F >> length);
      for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    const std::size_t width = code >= 0x1100 && (code <= 0x115F || code >= 0x2E80) ? 2 : 1;
    if (used + width > columns) return std::string(text.substr(0, fits)) + "…";
    used += width;
    i += length;
    if (used + 1 <= columns) fits = i;
  }
  return std::string(text);
}

}  // namespace anwang::cli

namespace anwang::cli {

Result<KeyLabels> KeyLabels::load(const Opened& opened) {
  auto people = node::People::load(*opened.store);
  if (!people) return people.status();
  KeyLabels labels;
  labels.people_ = std::move(*people);
  if (auto keys = opened.home.list_keys())
    for (const node::KeyInfo& key : *keys) labels.keyring_[key.public_key] = key.name;
  return labels;
}

std::string KeyLabels::name(const PublicKey& key) const { return people_.name_of(key); }

std::string KeyLabels::operator()(const PublicKey& key) const {
  std::string name = people_.name_of(key);
  if (!name.empty()) return name;
  auto local = keyring_.find(key);
  return local == keyring_.end() ? key.short_hex() : local->second;
}

std::optional<PublicKey> viewer_key(const Context& ctx, const node::NodeHome& home) {
  auto keys = home.list_keys();
  if (!keys) return std::nullopt;
  for (const node::KeyInfo& key : *keys)
    if (key.name == ctx.acting_key_name || (ctx.acting_key_name.empty() && keys->size() == 1)) return key.public_key;
  return std::nullopt;
}

}  // namespace anwang::cli
