// linkemu — a user-space TCP link emulator for multi-process tests (the kernel here has no
// `tc netem`). It listens on 127.0.0.1:LISTEN and forwards every accepted connection to
// 127.0.0.1:TARGET, making the link look like a bad rural one to the programs at both ends.
//
// Each direction of each connection is emulated on its own:
//   - rate: bytes leave one after another at --rate-bps (a segment of n bytes occupies the link
//     for n * 8 / rate seconds);
//   - delay: each segment arrives --delay-ms after it has left (one-way propagation);
//   - loss, as TCP shows it to the application: for every KiB forwarded, with probability
//     --loss-per-kb, either the connection is reset (both programs see ECONNRESET) or, for the
//     other loss events, the direction stalls for a few seconds (TCP retransmitting behind the
//     scenes); --reset-share sets the fraction of loss events that are resets;
//   - a bounded queue (--queue-bytes): beyond it linkemu stops reading, so the sender feels
//     back-pressure as it would from a slow link.
// The link as a whole flaps: up for --up-s seconds, down for --down-s seconds; going down resets
// every open connection, and a connection accepted while down is reset at once. The first up
// period is drawn from the seed (between 1 s and --up-s) so links started together do not flap
// in step.
//
// Every random draw comes from --seed. Only loopback addresses are used. On SIGTERM or SIGINT it
// prints one line of key=value statistics to stdout and exits 0.
//
// One thread, one Asio event loop; each connection is two sockets and two Pipes.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

struct Options {
  std::uint16_t listen_port = 0;
  std::uint16_t target_port = 0;
  std::uint64_t rate_bps = 0;       // 0: no rate limit
  int delay_ms = 0;                 // one-way
  double loss_per_kb = 0.0;         // probability of a loss event per KiB forwarded
  double reset_share = 0.5;         // fraction of loss events that reset the connection
  int stall_ms_min = 2000;          // a stall lasts between these two
  int stall_ms_max = 6000;
  int up_s = 0;                     // 0: the link never goes down
  int down_s = 0;
  std::size_t queue_bytes = 64 * 1024;
  std::uint64_t seed = 1;
};

struct Stats {
  std::uint64_t connections = 0;
  std::uint64_t refused = 0;           // accepted while the link was down, reset at once
  std::uint64_t bytes_to_target = 0;   // delivered client -> target
  std::uint64_t bytes_to_client = 0;   // delivered target -> client
  std::uint64_t resets = 0;            // loss events that reset a connection
  std::uint64_t stalls = 0;            // loss events that stalled a direction
  std::uint64_t flaps = 0;             // times the link went down
  std::uint64_t flap_resets = 0;       // connections reset because the link went down
};

// Segments are at most this big: the unit of rate accounting and of loss draws.
constexpr std::size_t kSegmentBytes = 1024;

// What the whole link shares: options, randomness, statistics.
struct LinkState {
  Options options;
  std::mt19937_64 random;
  Stats stats;
  bool up = true;

  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(random); }
  int stall_ms() {
    return std::uniform_int_distribution<int>(options.stall_ms_min, std::max(options.stall_ms_min, options.stall_ms_max))(random);
  }
};

// Closes a socket so that the peer sees a reset (RST), not an orderly end.
void reset_socket(tcp::socket& socket) {
  std::error_code ignored;
  if (!socket.is_open()) return;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

class Connection;

// One direction of a connection: reads from `from`, holds segments until the emulated link has
// carried them, writes them to `to`.
class Pipe {
 public:
  Pipe(Connection& connection, LinkState& link, tcp::socket& from, tcp::socket& to, std::uint64_t& delivered_total)
      : connection_(connection), link_(link), from_(from), to_(to), delivered_total_(delivered_total),
        timer_(from.get_executor()) {}

  void start() { read(); }
  void cancel() { timer_.cancel(); }
  bool finished() const { return source_ended_ && queue_.empty() && !writing_; }
  std::uint64_t delivered() const { return delivered_; }

 private:
  struct Segment {
    std::vector<std::uint8_t> bytes;
    Clock::time_point arrives;
  };

  void read();
  void on_read(std::size_t n);
  void schedule_delivery();
  void deliver();

  Connection& connection_;
  LinkState& link_;
  tcp::socket& from_;
  tcp::socket& to_;
  std::uint64_t& delivered_total_;  // the link's, over every connection
  std::uint64_t delivered_ = 0;     // this pipe's
  asio::steady_timer timer_;
  std::vector<std::uint8_t> read_buffer_ = std::vector<std::uint8_t>(16 * 1024);
  std::deque<Segment> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t bytes_since_draw_ = 0;
  Clock::time_point link_free_ = Clock::now();  // when the emulated link can start the next segment
  std::vector<std::uint8_t> write_buffer_;
  bool reading_ = false;
  bool writing_ = false;
  bool timer_set_ = false;
  bool source_ended_ = false;
};

// One forwarded connection: the accepted client socket and the socket to the target.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(LinkState& link, std::set<std::shared_ptr<Connection>>& open, tcp::socket client, std::uint64_t number)
      : link_(link),
        number_(number),
        open_(open),
        client_(std::move(client)),
        target_(client_.get_executor()),
        to_target_(*this, link, client_, target_, link.stats.bytes_to_target),
        to_client_(*this, link, target_, client_, link.stats.bytes_to_client) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    tcp::endpoint target(asio::ip::address_v4::loopback(), link_.options.target_port);
    target_.async_connect(target, [self = shared_from_this()](const std::error_code& ec) {
      if (self->closed_) return;
      if (ec) return self->reset("the target refused");
      self->to_target_.start();
      self->to_client_.start();
    });
  }

  // Both programs see the connection reset; `why` goes to the log.
  void reset(const char* why) {
    if (closed_) return;
    auto keep_alive = shared_from_this();  // the set may hold the last reference
    closed_ = true;
    log_end(why);
    to_target_.cancel();
    to_client_.cancel();
    reset_socket(client_);
    reset_socket(target_);
    open_.erase(keep_alive);
  }

  // Called when a direction has delivered everything after its source ended.
  void on_direction_finished() {
    if (closed_ || !to_target_.finished() || !to_client_.finished()) return;
    auto keep_alive = shared_from_this();
    closed_ = true;
    log_end("closed by the programs");
    std::error_code ignored;
    client_.close(ignored);
    target_.close(ignored);
    open_.erase(keep_alive);
  }

  bool closed() const { return closed_; }
  std::shared_ptr<Connection> self() { return shared_from_this(); }

 private:
  // One line per connection on stderr, to line up with the programs' logs when a test fails.
  void log_end(const char* why) const {
    auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - opened_).count();
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    std::time_t now_s = static_cast<std::time_t>(now_ms / 1000);
    std::tm local{};
    localtime_r(&now_s, &local);
    std::fprintf(stderr, "[%02d:%02d:%02d.%03d] ", local.tm_hour, local.tm_min, local.tm_sec,
                 static_cast<int>(now_ms % 1000));
    std::fprintf(stderr, "linkemu %u: connection %llu ended after %lld ms (%s), %llu B to target, %llu B to client\n",
                 unsigned{link_.options.listen_port}, static_cast<unsigned long long>(number_),
                 static_cast<long long>(lasted), why, static_cast<unsigned long long>(to_target_.delivered()),
                 static_cast<unsigned long long>(to_client_.delivered()));
  }

  LinkState& link_;
  std::uint64_t number_;
  Clock::time_point opened_ = Clock::now();

  std::set<std::shared_ptr<Connection>>& open_;
  tcp::socket client_;
  tcp::socket target_;
  Pipe to_target_;
  Pipe to_client_;
  bool closed_ = false;
};

void Pipe::read() {
  if (reading_ || source_ended_ || connection_.closed() || queued_bytes_ >= link_.options.queue_bytes) return;
  reading_ = true;
  from_.async_read_some(asio::buffer(read_buffer_),
                        [this, self = connection_.self()](const std::error_code& ec, std::size_t n) {
                          reading_ = false;
                          if (self->closed()) return;
                          if (ec == asio::error::eof) {
                            source_ended_ = true;
                            if (queue_.empty() && !writing_) {
                              std::error_code ignored;
                              to_.shutdown(tcp::socket::shutdown_send, ignored);
                              self->on_direction_finished();
                            }
                            return;
                          }
                          if (ec) return self->reset("a program reset it");
                          on_read(n);
                        });
}

void Pipe::on_read(std::size_t n) {
  const Options& options = link_.options;
  for (std::size_t offset = 0; offset < n; offset += kSegmentBytes) {
    std::size_t size = std::min(kSegmentBytes, n - offset);
    // Loss: one draw per whole KiB that has passed through this direction.
    bytes_since_draw_ += size;
    while (bytes_since_draw_ >= 1024) {
      bytes_since_draw_ -= 1024;
      if (link_.uniform() >= options.loss_per_kb) continue;
      if (link_.uniform() < options.reset_share) {
        ++link_.stats.resets;
        return connection_.reset("loss: reset");
      }
      ++link_.stats.stalls;
      link_free_ = std::max(link_free_, Clock::now()) + std::chrono::milliseconds(link_.stall_ms());
    }
    // Rate and delay: the segment leaves when the link is free, takes size*8/rate to send, and
    // arrives delay_ms after it has left.
    auto start = std::max(link_free_, Clock::now());
    auto sending = options.rate_bps == 0 ? Clock::duration::zero()
                                         : std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(
                                               size * 8 * 1'000'000 / options.rate_bps));
    link_free_ = start + sending;
    Segment segment{std::vector<std::uint8_t>(read_buffer_.begin() + static_cast<std::ptrdiff_t>(offset),
                                              read_buffer_.begin() + static_cast<std::ptrdiff_t>(offset + size)),
                    link_free_ + std::chrono::milliseconds(options.delay_ms)};
    queued_bytes_ += size;
    queue_.push_back(std::move(segment));
  }
  schedule_delivery();
  read();
}

void Pipe::schedule_delivery() {
  if (writing_ || timer_set_ || queue_.empty() || connection_.closed()) return;
  timer_set_ = true;
  timer_.expires_at(queue_.front().arrives);
  timer_.async_wait([this, self = connection_.self()](const std::error_code& ec) {
    timer_set_ = false;
    if (ec || self->closed()) return;
    deliver();
  });
}

void Pipe::deliver() {
  // Everything that has arrived by now goes out in one write.
  auto now = Clock::now();
  write_buffer_.clear();
  while (!queue_.empty() && queue_.front().arrives <= now) {
    auto& bytes = queue_.front().bytes;
    write_buffer_.insert(write_buffer_.end(), bytes.begin(), bytes.end());
    queue_.pop_front();
  }
  if (write_buffer_.empty()) return schedule_delivery();
  writing_ = true;
  asio::async_write(to_, asio::buffer(write_buffer_),
                    [this, self = connection_.self()](const std::error_code& ec, std::size_t n) {
                      writing_ = false;
                      if (self->closed()) return;
                      if (ec) return self->reset("a program reset it");
                      queued_bytes_ -= n;
                      delivered_ += n;
                      delivered_total_ += n;
                      if (source_ended_ && queue_.empty()) {
                        std::error_code ignored;
                        to_.shutdown(tcp::socket::shutdown_send, ignored);
                        return self->on_direction_finished();
                      }
                      schedule_delivery();
                      read();
                    });
}

// The listening side, the flapping schedule and the set of open connections.
class Link {
 public:
  Link(asio::io_context& io, const Options& options)
      : acceptor_(io), flap_timer_(io) {
    state_.options = options;
    state_.random.seed(options.seed);
  }

  std::error_code listen() {
    std::error_code ec;
    tcp::endpoint at(asio::ip::address_v4::loopback(), state_.options.listen_port);
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    accept();
    if (state_.options.up_s > 0) {
      int first_up_s = std::uniform_int_distribution<int>(1, state_.options.up_s)(state_.random);
      schedule_flap(std::chrono::seconds(first_up_s));
    }
    return {};
  }

  void stop() {
    std::error_code ignored;
    acceptor_.close(ignored);
    flap_timer_.cancel();
    auto open = open_;
    for (const auto& connection : open) connection->reset("linkemu stopped");
  }

  void print_stats() const {
    const Stats& s = state_.stats;
    std::printf("linkemu 127.0.0.1:%u->127.0.0.1:%u connections=%llu refused=%llu bytes_to_target=%llu "
                "bytes_to_client=%llu resets=%llu stalls=%llu flaps=%llu flap_resets=%llu\n",
                unsigned{state_.options.listen_port}, unsigned{state_.options.target_port},
                static_cast<unsigned long long>(s.connections), static_cast<unsigned long long>(s.refused),
                static_cast<unsigned long long>(s.bytes_to_target), static_cast<unsigned long long>(s.bytes_to_client),
                static_cast<unsigned long long>(s.resets), static_cast<unsigned long long>(s.stalls),
                static_cast<unsigned long long>(s.flaps), static_cast<unsigned long long>(s.flap_resets));
    std::fflush(stdout);
  }

 private:
  void accept() {
    acceptor_.async_accept([this](const std::error_code& ec, tcp::socket client) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        ++state_.stats.connections;
        if (!state_.up) {
          ++state_.stats.refused;
          reset_socket(client);
        } else {
          auto connection = std::make_shared<Connection>(state_, open_, std::move(client), state_.stats.connections);
          open_.insert(connection);
          connection->start();
        }
      }
      accept();
    });
  }

  void schedule_flap(std::chrono::seconds after) {
    flap_timer_.expires_after(after);
    flap_timer_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      state_.up = !state_.up;
      if (!state_.up) {
        ++state_.stats.flaps;
        auto open = open_;
        state_.stats.flap_resets += open.size();
        for (const auto& connection : open) connection->reset("the link went down");
      }
      schedule_flap(std::chrono::seconds(state_.up ? state_.options.up_s : state_.options.down_s));
    });
  }

  LinkState state_;
  tcp::acceptor acceptor_;
  asio::steady_timer flap_timer_;
  std::set<std::shared_ptr<Connection>> open_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"linkemu: forwards 127.0.0.1:LISTEN to 127.0.0.1:TARGET over an emulated bad link "
               "(rate, delay, loss as resets and stalls, flapping); prints statistics on SIGTERM"};
  app.add_option("--listen", options.listen_port, "Port to listen on (127.0.0.1 only)")->required();
  app.add_option("--target", options.target_port, "Port to forward to (127.0.0.1 only)")->required();
  app.add_option("--rate-bps", options.rate_bps, "Rate limit each way in bits per second (0: none)");
  app.add_option("--delay-ms", options.delay_ms, "One-way delay each way in milliseconds")->check(CLI::NonNegativeNumber);
  app.add_option("--loss-per-kb", options.loss_per_kb, "Probability of a loss event per KiB forwarded")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--reset-share", options.reset_share, "Fraction of loss events that reset the connection (the rest stall)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--stall-ms-min", options.stall_ms_min, "Shortest stall")->check(CLI::NonNegativeNumber);
  app.add_option("--stall-ms-max", options.stall_ms_max, "Longest stall")->check(CLI::NonNegativeNumber);
  app.add_option("--up-s", options.up_s, "Link up this many seconds between outages (0: never down)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--down-s", options.down_s, "Link down this many seconds per outage")->check(CLI::NonNegativeNumber);
  app.add_option("--queue-bytes", options.queue_bytes, "Bytes held per direction before reading stops")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", options.seed, "Seed of every random draw");
  CLI11_PARSE(app, argc, argv);
  if (options.up_s > 0 && options.down_s <= 0) {
    std::fprintf(stderr, "linkemu: --up-s needs --down-s > 0\n");
    return 2;
  }

  asio::io_context io;
  Link link(io, options);
  if (auto ec = link.listen()) {
    std::fprintf(stderr, "linkemu: cannot listen on 127.0.0.1:%u: %s\n", unsigned{options.listen_port},
                 ec.message().c_str());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io, &link](const std::error_code&, int) {
    link.print_stats();
    link.stop();
    io.stop();
  });
  io.run();
  return 0;
}
