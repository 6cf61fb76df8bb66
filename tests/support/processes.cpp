// processes.cpp — see processes.h.
#include "support/processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace anwang::test {

namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_file_from(const fs::path& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CliRun run_cli(const fs::path& home, const std::vector<std::string>& args) {
  std::string command = quote(ANWANG_CLI_PATH) + " --home " + quote(home.string());
  for (const auto& arg : args) command += " " + quote(arg);
  fs::path err_file = home.parent_path() / ("stderr." + std::to_string(getpid()) + ".txt");
  command += " 2>" + quote(err_file.string()) + " </dev/null";  // never a terminal: nothing prompts
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) run.out.append(buffer, n);
  int status = pclose(pipe);
  run.err = read_file_from(err_file, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

DaemonProcess::DaemonProcess(fs::path home, fs::path log, int port)
    : home_(std::move(home)), log_(std::move(log)), port_(port) {}

DaemonProcess::~DaemonProcess() {
  if (pid_.load() > 0 && !exited_) (void)stop();
}

Status DaemonProcess::spawn() {
  std::error_code ec;
  log_offset_ = fs::exists(log_, ec) ? fs::file_size(log_, ec) : 0;
  std::string binary = ANWANGD_PATH;
  std::string home = home_.string();
  std::string listen = address();
  std::vector<char*> argv{binary.data(), const_cast<char*>("--home"), home.data(), const_cast<char*>("--listen"),
                          listen.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::io_error("cannot start anwangd: " + std::string(std::strerror(rc)));
  pid_ = pid;
  exited_ = false;
  return Status::ok();
}

Status DaemonProcess::wait_listening(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = log_since_start();
    if (log.find("listening for peers") != std::string::npos) return Status::ok();
    if (!alive()) return Status::io_error("anwangd exited before listening: " + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::io_error("anwangd did not listen within " + std::to_string(timeout_ms) + " ms: " + log_since_start());
}

void DaemonProcess::kill_now() const {
  if (pid_t pid = pid_.load(); pid > 0) ::kill(pid, SIGKILL);
}

int DaemonProcess::reap() {
  if (!exited_) {
    int status = 0;
    while (::waitpid(pid_.load(), &status, 0) < 0 && errno == EINTR) {
    }
    exit_status_ = status;
    exited_ = true;
  }
  return exit_status_;
}

bool DaemonProcess::alive() {
  if (exited_ || pid_.load() <= 0) return false;
  int status = 0;
  if (::waitpid(pid_.load(), &status, WNOHANG) == 0) return true;
  exit_status_ = status;
  exited_ = true;
  return false;
}

Status DaemonProcess::stop() {
  if (pid_.load() <= 0) return Status::ok();
  if (!exited_) ::kill(pid_.load(), SIGTERM);
  int status = reap();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  return Status::io_error("anwangd did not stop cleanly (wait status " + std::to_string(status) + ")");
}

std::string DaemonProcess::log_since_start() const { return read_file_from(log_, log_offset_); }

}  // namespace anwang::test
