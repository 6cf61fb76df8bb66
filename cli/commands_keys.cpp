// anwang init | key new | key list
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

void run_key_new(Context& ctx, const std::string& name) {
  auto home = ctx.open_home();
  if (!home) return ctx.fail(home.status());
  node::SystemRandom random;
  auto key = home->new_key(name, random);
  if (!key) return ctx.fail(key.status());
  if (ctx.json) {
    ctx.print({{"name", key->name}, {"public_key", key->public_key.hex()},
               {"fingerprint", key_fingerprint(key->public_key)}});
    return;
  }
  std::cout << "New key 新密钥 '" << key->name << "': " << key->public_key.hex() << " ("
            << key_fingerprint(key->public_key) << ")\n";
}

void run_key_list(Context& ctx) {
  auto home = ctx.open_home();
  if (!home) return ctx.fail(home.status());
  auto keys = home->list_keys();
  if (!keys) return ctx.fail(keys.status());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& key : *keys)
      out.push_back({{"name", key.name}, {"public_key", key.public_key.hex()},
                     {"fingerprint", key_fingerprint(key.public_key)}});
    ctx.print(out);
    return;
  }
  if (keys->empty()) std::cout << "The keyring is empty 密钥环为空. Create a key with 'anwang key new NAME'.\n";
  for (const auto& key : *keys)
    std::cout << key.name << "  " << key.public_key.hex() << "  " << key_fingerprint(key.public_key) << "\n";
}

}  // namespace

void add_key_commands(CLI::App& app, Context& ctx) {
  auto* init = app.add_subcommand("init", "Create a node home: directories, the node key, the store");
  init->callback([&ctx] { run_init(ctx); });

  auto* key = app.add_subcommand("key", "Person keys in this node's keyring (密钥)");
  key->require_subcommand(1);
  auto* key_new = key->add_subcommand("new", "Create a new Ed25519 key in the keyring");
  auto name = std::make_shared<std::string>();
  key_new->add_option("NAME", *name, "Name of the key (letters, digits, - _ .)")->required();
  key_new->callback([&ctx, name] { run_key_new(ctx, *name); });
  auto* key_list = key->add_subcommand("list", "List the keys: name, public key, fingerprint");
  key_list->callback([&ctx] { run_key_list(ctx); });
}

}  // namespace anwang::cli
