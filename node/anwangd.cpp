// anwangd — the anwang node daemon. Thin: parse arguments, open the node home, run the event
// loop until SIGTERM/SIGINT. Sync with neighbours arrives with the sync work (issue 5); today the
// daemon opens and checks the store, logs the node's state and shuts down cleanly.
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <cstdlib>

#include "node/home.h"

int main(int argc, char** argv) {
  CLI::App app{"anwangd: the anwang (安网) node daemon"};
  std::string home_dir;
  std::string listen;
  app.add_option("--home", home_dir, "Node home directory (default: $ANWANG_HOME, else ~/.anwang)");
  app.add_option("--config", home_dir, "Alias of --home: the node home holding anwang.toml");
  app.add_option("--listen", listen, "HOST:PORT to listen on (overrides anwang.toml)");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("anwangd");
  spdlog::set_default_logger(logger);
  if (sodium_init() < 0) {
    spdlog::critical("libsodium failed to initialise");
    return 1;
  }
  if (home_dir.empty()) {
    const char* env = std::getenv("ANWANG_HOME");
    const char* user_home = std::getenv("HOME");
    home_dir = env != nullptr && *env != '\0' ? env : std::string(user_home != nullptr ? user_home : ".") + "/.anwang";
  }
  auto home = anwang::node::NodeHome::open(home_dir);
  if (!home) {
    spdlog::critical("{}", home.status().message());
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(home->config().log_level));
  auto store = home->open_store();
  if (!store) {
    spdlog::critical("{}", store.status().message());
    return 1;
  }
  auto stats = (*store)->stats();
  if (!stats) {
    spdlog::critical("{}", stats.status().message());
    return 1;
  }
  if ((*store)->stale_readers_cleared() > 0)
    spdlog::warn("cleared {} stale store readers left by crashed processes", (*store)->stale_readers_cleared());
  spdlog::info("node {} ready: home {}, network {}, {} ops, {} pending", home->node_key().short_hex(),
               home->dir().string(), stats->network_id ? stats->network_id->short_hex() : "(none)", stats->ops,
               stats->pending);
  if (!listen.empty() || !home->config().listen.empty())
    spdlog::warn("listening for peers is not built yet; ignoring listen address {}",
                 listen.empty() ? home->config().listen : listen);

  asio::io_context io;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const std::error_code&, int signal) {
    spdlog::info("signal {} received: shutting down", signal);
    io.stop();
  });
  io.run();
  spdlog::info("stopped cleanly");
  return 0;
}
