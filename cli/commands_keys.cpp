// anwang init | key new | key protect | key list | key export | key import
#include <iostream>

#include "cli/context.h"

namespace anwang::cli {

namespace {

void run_init(Context& ctx) {
  node::SystemRandom random;
  auto home = node::NodeHome::init(ctx.home_dir(), random);
  if (!home) return ctx.fail(home.status());
  if (ctx.json) {
    ctx.print({{"home", home->dir().string()}, {"node_key", home->node_key().hex()}});
    return;
  }
  std::cout << "Node home 节点目录: " << home->dir().string() << "\n"
            << "Node key 节点公钥:  " << home->node_key().hex() << "\n"
            << "Fingerprint 指纹:   " << key_fingerprint(home->node_key()) << "\n";
}

// The sentence when a new passphrase is needed and there is no terminal to ask for it.
std::string no_passphrase_source(const std::string& command, bool plain_allowed) {
  std::string out = "'anwang " + command +
                    "' needs a passphrase for the key and stdin is not a terminal to ask for it: "
                    "give --passphrase-file FILE (the passphrase is its first line; or set " +
                    std::string(kPassphraseFileVariable) + ")";
  if (plain_allowed) out += ", or --no-passphrase to keep the key unencrypted on this node (for scripts and tests)";
  return out;
}

// A new key's passphrase, unless --no-passphrase: false when the command cannot go on (the
// failure is reported).
bool passphrase_for_new_key(Context& ctx, const std::string& command, const std::string& name,
                            bool no_passphrase, Passphrase& out) {
  if (no_passphrase) {
    if (!ctx.passphrase_file.empty()) {
      ctx.fail_usage("--no-passphrase and --passphrase-file contradict each other: give one");
      return false;
    }
    return true;
  }
  if (Status s = ctx.new_passphrase(name, out); !s) {
    ctx.fail(s);
    return false;
  }
  if (!out.given) {
    ctx.fail_usage(no_passphrase_source(command, true));
    return false;
  }
  return true;
}

void run_key_new(Context& ctx, const std::string& name, bool no_passphrase) {
  auto home = ctx.open_home();
  if (!home) return ctx.fail(home.status());
  // A bad or taken name is said before anyone types a passphrase.
  if (Status s = node::check_key_name(name); !s) return ctx.fail(s);
  if (home->key_info(name).status().code() != Status::Code::kNotFound)
    return ctx.fail(Status::error(Status::Code::kAlreadyExists, "a key named '" + name + "' already exists"));
  Passphrase passphrase;
  if (!passphrase_for_new_key(ctx, "key new", name, no_passphrase, passphrase)) return;
  node::SystemRandom random;
  auto key = home->new_key(name, random, passphrase.view());
  if (!key) return ctx.fail(key.status());
  if (ctx.json) {
    ctx.print({{"name", key->name}, {"public_key", key->public_key.hex()},
               {"fingerprint", key_fingerprint(key->public_key)}, {"protected", key->is_protected}});
    return;
  }
  std::cout << "New key 新密钥 '" << key->name << "': " << key->public_key.hex() << " ("
            << key_fingerprint(key->public_key) << ")"
            << (key->is_protected ? ", protected by its passphrase 已用密码保护" : ", not protected by a passphrase 未设密码")
            << "\n";
}

void run_key_protect(Context& ctx, const std::string& name) {
  auto home = ctx.open_home();
  if (!home) return ctx.fail(home.status());
  // A key that cannot be protected is said before anyone types a passphrase.
  auto info = home->key_info(name);
  if (!info) return ctx.fail(info.status());
  if (info->is_protected)
    return ctx.fail(Status::error(Status::Code::kAlreadyExists, "key " + name + " is protected by a passphrase already"));
  Passphrase passphrase;
  if (Status s = ctx.new_passphrase(name, passphrase); !s) return ctx.fail(s);
  if (!passphrase.given) return ctx.fail_usage(no_passphrase_source("key protect", false));
  node::SystemRandom random;
  auto key = home->protect_key(name, passphrase.secret.text, random);
  if (!key) return ctx.fail(key.status());
  if (ctx.json) {
    ctx.print({{"name", key->name}, {"public_key", key->public_key.hex()}, {"protected", true}});
    return;
  }
  std::cout << "Key 密钥 '" << key->name << "' is now protected by its passphrase 已用密码保护: "
            << "it signs only when the passphrase is given.\n";
}

// Where a key signs, as `key list` shows it.
std::string binding_text(const node::KeyInfo& key) {
  switch (key.binding) {
    case node::KeyBinding::kThisNode:
      return "this node 本节点";
    case node::KeyBinding::kUnbound:
      return "unbound 未绑定 (an earlier release's key file: bound to this node when it first "
             "signs here)";
    case node::KeyBinding::kMovedAway:
      return "moved away 已移出: to " + key.moved_to + " at " + key.moved_at;
    case node::KeyBinding::kOtherNode:
      return "bound to node 属于节点 " + key.node->hex() + " (does not sign here)";
  }
  return "";
}

nlohmann::json key_json(const node::KeyInfo& key) {
  nlohmann::json out = {
      {"name", key.name},
      {"public_key", key.public_key.hex()},
      {"fingerprint", key_fingerprint(key.public_key)},
      {"binding", node::key_binding_name(key.binding)},
      {"node", key.node ? nlohmann::json(key.node->hex()) : nlohmann::json(nullptr)},
      {"protected", key.is_protected}};
  if (key.binding == node::KeyBinding::kMovedAway) {
    out["moved_to"] = key.moved_to;
    out["moved_at"] = key.moved_at;
  }
  return out;
}

void run_key_list(Context& ctx) {
  auto home = ctx.open_home();
  if (!home) return ctx.fail(home.status());
  auto keys = home->list_keys();
  if (!keys) return ctx.fail(keys.status());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& key : *keys) out.push_back(key_json(key));
    ctx.print(out);
    return;
  }
  if (keys->empty()) std::cout << "The keyring is empty 密钥环为空. Create a key with 'anwang key new NAME'.\n";
  for (const auto& key : *keys)
    std::cout << key.name << "  " << key.public_key.hex() << "  " << key_fingerprint(key.public_key)
              << "  " << binding_text(key)
              << (key.is_protected ? "  protected by a passphrase 有密码" : "") << "\n";
}

// The latest op of `key` this node knows of: the newest it holds, or the head the key brought
// when it moved here, whichever is further.
Result<std::optional<node::KeyChainHead>> latest_head(const node::Store& store,
                                                      const PublicKey& key) {
  std::optional<node::KeyChainHead> head;
  auto held = store.author_head(key);
  if (!held) return held.status();
  if (*held) {
    auto op = store.get((*held)->id);
    if (!op) return op.status();
    if (!*op)
      return Status::corruption("the latest op of key " + key.short_hex() +
                                " is indexed but not stored");
    head = node::KeyChainHead{(*held)->seq, (*held)->id, (*op)->fields.hlc};
  }
  auto standing = store.key_standing(key);
  if (!standing) return standing.status();
  const auto& adopted = standing->adopted;
  if (adopted && adopted->id && (!head || adopted->seq > head->seq))
    head = node::KeyChainHead{adopted->seq, *adopted->id, adopted->hlc};
  return head;
}

void run_key_export(Context& ctx, const std::string& name, const std::string& file) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  Passphrase passphrase;  // a protected key is unlocked to be moved: the move file holds its seed
  if (Status s = ctx.passphrase_to_unlock(opened->home, name, passphrase); !s) return ctx.fail(s);
  auto key = opened->home.load_key(name, passphrase.view());  // refused when it does not sign here
  if (!key) return ctx.fail(key.status());
  auto head = latest_head(*opened->store, key->public_key());
  if (!head) return ctx.fail(head.status());
  node::SystemClock clock;
  auto moved = opened->home.export_key(name, file, *head, clock, passphrase.view());
  if (!moved) return ctx.fail(moved.status());
  if (ctx.json) {
    ctx.print({{"name", moved->name},
               {"public_key", moved->public_key.hex()},
               {"file", moved->moved_to},
               {"moved_at", moved->moved_at},
               {"head_seq", *head ? (*head)->seq : 0}});
    return;
  }
  std::cout << "Key 密钥 '" << name << "' moved out 已移出 to " << moved->moved_to << " ("
            << (*head ? "its latest op here is number " + std::to_string((*head)->seq)
                      : std::string("it never signed here"))
            << "). It no longer signs on this node.\n"
            << "That file holds the key's secret 含私钥 (readable only by you): carry it to the "
               "new node, run 'anwang key import FILE' there once, then delete it.\n";
}

void run_key_import(Context& ctx, const std::string& file, const std::string& name_flag,
                    bool no_passphrase) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto move = node::read_move_file(file);
  if (!move) return ctx.fail(move.status());
  std::string name = name_flag.empty() ? move->name : name_flag;
  if (Status s = opened->home.check_import(*move, name); !s) return ctx.fail(s);
  // The passphrase before anything is written: the head is adopted only for a key that enters.
  Passphrase passphrase;
  if (!passphrase_for_new_key(ctx, "key import", name, no_passphrase, passphrase)) return;
  // The key's number first: once the key file is written, it may sign here.
  if (move->head)
    if (Status s = opened->store->adopt_key_head(move->key.public_key(), move->head->seq,
                                                 move->head->id, move->head->hlc);
        !s)
      return ctx.fail(s);
  node::SystemRandom random;
  auto imported = passphrase.given
                      ? opened->home.import_key(*move, name, passphrase.secret.text, random)
                      : opened->home.import_key(*move, name);
  if (!imported) return ctx.fail(imported.status());
  std::uint64_t next = move->head ? move->head->seq + 1 : 1;
  if (ctx.json) {
    ctx.print({{"name", imported->name},
               {"public_key", imported->public_key.hex()},
               {"fingerprint", key_fingerprint(imported->public_key)},
               {"from_node", move->from_node.hex()},
               {"next_seq", next},
               {"protected", imported->is_protected}});
    return;
  }
  std::cout << "Key 密钥 '" << name << "' moved in 已移入: " << imported->public_key.hex() << " ("
            << key_fingerprint(imported->public_key) << "), from node " << move->from_node.hex()
            << ", bound to this node"
            << (imported->is_protected ? " and protected by its passphrase 已用密码保护" : "")
            << "; its next op is number " << next << ".\n"
            << "Delete " << file << " now: it holds the key's secret 含私钥.\n";
}

}  // namespace

void add_key_commands(CLI::App& app, Context& ctx) {
  auto* init = app.add_subcommand("init", "Create a node home: directories, the node key, the store");
  init->callback([&ctx] { run_init(ctx); });

  auto* key = app.add_subcommand("key", "Person keys in this node's keyring (密钥)");
  key->require_subcommand(1);
  auto* key_new = key->add_subcommand(
      "new",
      "Create a new Ed25519 key in the keyring, protected by a passphrase (asked twice on the "
      "terminal, or --passphrase-file FILE)");
  auto name = std::make_shared<std::string>();
  auto new_plain = std::make_shared<bool>(false);
  key_new->add_option("NAME", *name, "Name of the key (letters, digits, - _ .)")->required();
  key_new->add_flag("--no-passphrase", *new_plain,
                    "Keep the key unencrypted on this node (for scripts and tests): anyone who "
                    "can read the file can sign as its holder");
  key_new->callback([&ctx, name, new_plain] { run_key_new(ctx, *name, *new_plain); });
  auto* key_protect = key->add_subcommand(
      "protect",
      "Protect an unencrypted key with a passphrase (asked twice on the terminal, or "
      "--passphrase-file FILE); from then on it signs only when the passphrase is given");
  auto protect_name = std::make_shared<std::string>();
  key_protect->add_option("NAME", *protect_name, "Name of the key in this keyring")->required();
  key_protect->callback([&ctx, protect_name] { run_key_protect(ctx, *protect_name); });
  auto* key_list = key->add_subcommand(
      "list", "List the keys: name, public key, fingerprint, where each signs, which are protected");
  key_list->callback([&ctx] { run_key_list(ctx); });
  auto* key_export = key->add_subcommand("export",
                                         "Move a key out of this node: write a move file (a "
                                         "secret) for 'anwang key import' on its new node");
  auto export_name = std::make_shared<std::string>();
  auto export_file = std::make_shared<std::string>();
  key_export->add_option("NAME", *export_name, "Name of the key in this keyring")->required();
  key_export
      ->add_option("FILE", *export_file,
                   "The move file to write (a new file, readable only by you)")
      ->required();
  key_export->callback(
      [&ctx, export_name, export_file] { run_key_export(ctx, *export_name, *export_file); });
  auto* key_import = key->add_subcommand(
      "import", "Move a key into this node from a move file written by 'anwang key export'");
  auto import_file = std::make_shared<std::string>();
  auto import_name = std::make_shared<std::string>();
  key_import->add_option("FILE", *import_file, "The move file")->required();
  auto import_plain = std::make_shared<bool>(false);
  key_import->add_option("--name", *import_name,
                         "Name of the key in this keyring (default: its name on the node it left)");
  key_import->add_flag("--no-passphrase", *import_plain,
                       "Keep the key unencrypted on this node (for scripts and tests); otherwise "
                       "it is protected by a passphrase (asked twice, or --passphrase-file FILE)");
  key_import->callback([&ctx, import_file, import_name, import_plain] {
    run_key_import(ctx, *import_file, *import_name, *import_plain);
  });
}

}  // namespace anwang::cli
