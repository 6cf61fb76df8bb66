// processes.h — real processes for multi-process tests: one-shot `anwang` commands and `anwangd`
// children that a test can start, kill with SIGKILL at any moment, reap and restart on the same
// port.
//
// DaemonProcess spawns anwangd with posix_spawn (so it is this process's child and can be reaped
// exactly), appends its output to a log file, and knows it is up when that log, from the point
// where this start began, says it listens. Used from one thread, except kill_now(), which only
// sends a signal and may be called from another thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "crdt/status.h"

namespace anwang::test {

struct CliRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// Runs `anwang --home HOME ARGS…`, stdin from /dev/null, and collects its exit code, stdout and
// stderr.
CliRun run_cli(const std::filesystem::path& home, const std::vector<std::string>& args);

// A loopback TCP port that was free a moment ago.
int free_loopback_port();

class DaemonProcess {
 public:
  DaemonProcess(std::filesystem::path home, std::filesystem::path log, int port);
  ~DaemonProcess();  // SIGTERM and reap, if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Spawns anwangd. REQUIRES: not running.
  Status spawn();
  // Waits until the log says "listening for peers" for this start (error if it exits first or
  // takes longer than `timeout_ms`).
  Status wait_listening(int timeout_ms = 10'000);
  Status start() {
    if (Status s = spawn(); !s) return s;
    return wait_listening();
  }
  // Sends SIGKILL now; safe from another thread. reap() afterwards.
  void kill_now() const;
  // Waits for the child to end; returns its wait status. REQUIRES: spawned.
  int reap();
  // SIGTERM, then reap. Ok when it exited with status 0.
  Status stop();
  // True while the child has not exited (never reaps a live child).
  bool alive();

  pid_t pid() const { return pid_.load(); }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // What this start has logged so far.
  std::string log_since_start() const;

 private:
  std::filesystem::path home_;
  std::filesystem::path log_;
  int port_;
  std::atomic<pid_t> pid_{0};
  std::uintmax_t log_offset_ = 0;
  int exit_status_ = 0;
  bool exited_ = false;
};

}  // namespace anwang::test
