#include "support/fault_proxy.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace mqtt_test {

namespace {
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr std::chrono::seconds control_timeout{10};
constexpr std::chrono::milliseconds accept_retry{10};
}  // namespace

// Everything but the counters lives on the proxy's thread: control calls are
// posted there, so no state needs a lock.
struct fault_proxy::impl {
  // One direction of one connection: read a chunk, (wait,) write it, repeat.
  struct pump {
    pump(asio::io_context& io, tcp::socket& f, tcp::socket& t, direction d)
        : from(f), to(t), dir(d), buf(buffer_size), timer(io) {}
    tcp::socket& from;
    tcp::socket& to;
    const direction dir;  // to_broker or to_client
    std::vector<std::uint8_t> buf;
    std::size_t begin = 0;  // [begin, end) read and not yet forwarded
    std::size_t end = 0;
    bool eof = false;      // the read ended (EOF or error): pass the close on after the data
    bool delayed = false;  // the current chunk has waited its delay
    bool parked = false;   // stalled; resume() continues it
    asio::steady_timer timer;
  };

  struct connection {
    explicit connection(asio::io_context& io)
        : client(io), upstream(io), up(io, client, upstream, direction::to_broker),
          down(io, upstream, client, direction::to_client) {}
    tcp::socket client;
    tcp::socket upstream;
    pump up;
    pump down;
    bool closed = false;
  };
  using connection_ptr = std::shared_ptr<connection>;

  impl(std::uint16_t upstream_port, std::string upstream_host)
      : upstream_host_(std::move(upstream_host)), acceptor_(io_), retry_timer_(io_) {
    std::error_code ec;
    const auto address = asio::ip::make_address(upstream_host_, ec);
    if (ec || !address.is_loopback())
      throw std::runtime_error("fault_proxy: upstream host must be a loopback address, got '" + upstream_host_ + "'");
    upstream_ = tcp::endpoint(address, upstream_port);
    const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(local.protocol(), ec);
    if (!ec) acceptor_.bind(local, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("fault_proxy: cannot listen on 127.0.0.1: " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~impl() {
    asio::post(io_, [this] {
      stopping_ = true;
      std::error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
      close_all(false);
      work_.reset();
    });
    thread_.join();
  }

  // Runs f on the proxy thread and waits for it (bounded).
  template <class F>
  void run_sync(F f) {
    if (io_.get_executor().running_in_this_thread()) {
      f();
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto result = done->get_future();
    asio::post(io_, [f = std::move(f), done]() mutable {
      f();
      done->set_value();
    });
    if (result.wait_for(control_timeout) != std::future_status::ready)
      throw std::runtime_error("fault_proxy: the proxy thread did not answer a control call within 10 s");
  }

  // ---- proxy thread only ------------------------------------------------

  void do_accept() {
    acceptor_.async_accept([this](std::error_code ec, tcp::socket socket) {
      if (stopping_ || ec == asio::error::operation_aborted) return;
      if (ec) {
        // EMFILE and the like: try again a little later instead of spinning.
        retry_timer_.expires_after(accept_retry);
        retry_timer_.async_wait([this](std::error_code tec) {
          if (!tec && !stopping_) do_accept();
        });
        return;
      }
      accepted_.fetch_add(1);
      if (clock_type::now() < refuse_until_ || connections_.size() >= max_connections) {
        refused_.fetch_add(1);
        std::error_code ignored;
        socket.close(ignored);
      } else {
        start_connection(std::move(socket));
      }
      do_accept();
    });
  }

  void start_connection(tcp::socket socket) {
    auto c = std::make_shared<connection>(io_);
    c->client = std::move(socket);
    connections_.push_back(c);
    open_.fetch_add(1);
    c->upstream.async_connect(upstream_, [this, c](std::error_code ec) {
      if (c->closed) return;
      if (ec) {
        upstream_failures_.fetch_add(1);
        return close(c);
      }
      std::error_code ignored;
      c->client.set_option(tcp::no_delay(true), ignored);
      c->upstream.set_option(tcp::no_delay(true), ignored);
      start_read(c, c->up);
      start_read(c, c->down);
    });
  }

  void start_read(const connection_ptr& c, pump& p) {
    p.begin = p.end = 0;
    p.delayed = false;
    p.from.async_read_some(asio::buffer(p.buf), [this, c, &p](std::error_code ec, std::size_t n) {
      if (c->closed) return;
      p.end = n;
      if (ec) p.eof = true;
      forward(c, p);
    });
  }

  void forward(const connection_ptr& c, pump& p) {
    if (c->closed) return;
    if (stalled_) {
      if (!p.parked) {
        p.parked = true;
        parked_.emplace_back(c, &p);
      }
      return;
    }
    const bool has_data = p.begin != p.end;
    if (!has_data && !p.eof) return start_read(c, p);
    if (delay_.count() > 0 && !p.delayed) {
      p.delayed = true;
      p.timer.expires_after(delay_);
      p.timer.async_wait([this, c, &p](std::error_code ec) {
        if (!ec) forward(c, p);
      });
      return;
    }
    if (!has_data) return close(c);  // the peer closed: so do we, on the other side too

    std::size_t chunk = p.end - p.begin;
    bool cut_after_write = false;
    if (cut_armed_ && (cut_dir_ == direction::both || cut_dir_ == p.dir)) {
      if (cut_budget_ == 0) return cut(c);
      if (cut_budget_ <= chunk) {
        chunk = cut_budget_;
        cut_budget_ = 0;
        cut_armed_ = false;
        cut_after_write = true;
      } else {
        cut_budget_ -= chunk;
      }
    }
    asio::async_write(p.to, asio::buffer(p.buf.data() + p.begin, chunk),
                      [this, c, &p, cut_after_write](std::error_code ec, std::size_t n) {
                        (p.dir == direction::to_broker ? bytes_to_broker_ : bytes_to_client_).fetch_add(n);
                        if (c->closed) return;
                        if (ec) return close(c);
                        p.begin += n;
                        if (cut_after_write) return cut(c);
                        forward(c, p);
                      });
  }

  // A cut fault fired on c.
  void cut(const connection_ptr& c) {
    cut_armed_ = false;
    if (!c->closed) cuts_.fetch_add(1);
    close(c);
    if (random_cuts_left_ > 0 && --random_cuts_left_ > 0) arm_random_cut();
  }

  void arm_random_cut() {
    std::uniform_int_distribution<std::size_t> pick(random_min_, random_max_);
    cut_budget_ = pick(rng_);
    cut_armed_ = true;
  }

  void close(const connection_ptr& c) {
    if (c->closed) return;
    c->closed = true;
    std::error_code ignored;
    c->client.shutdown(tcp::socket::shutdown_both, ignored);
    c->upstream.shutdown(tcp::socket::shutdown_both, ignored);
    c->client.close(ignored);
    c->upstream.close(ignored);
    c->up.timer.cancel();
    c->down.timer.cancel();
    connections_.erase(std::remove(connections_.begin(), connections_.end(), c), connections_.end());
    parked_.erase(std::remove_if(parked_.begin(), parked_.end(), [&](const auto& e) { return e.first == c; }),
                  parked_.end());
    open_.fetch_sub(1);
  }

  void close_all(bool count_as_cuts) {
    const auto all = connections_;
    for (const auto& c : all) {
      if (count_as_cuts) cuts_.fetch_add(1);
      close(c);
    }
  }

  void resume() {
    stalled_ = false;
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& [c, p] : parked) {
      p->parked = false;
      forward(c, *p);
    }
  }

  std::string upstream_host_;
  tcp::endpoint upstream_;
  std::uint16_t port_ = 0;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::thread thread_;

  // Proxy-thread state.
  bool stopping_ = false;
  std::vector<connection_ptr> connections_;  // at most max_connections
  std::vector<std::pair<connection_ptr, pump*>> parked_;
  bool stalled_ = false;
  std::chrono::milliseconds delay_{0};
  clock_type::time_point refuse_until_{};
  bool cut_armed_ = false;
  std::size_t cut_budget_ = 0;
  direction cut_dir_ = direction::both;
  std::size_t random_cuts_left_ = 0;  // > 0 while cut_randomly is active
  std::size_t random_min_ = 0;
  std::size_t random_max_ = 0;
  std::mt19937 rng_;

  // Counters.
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> refused_{0};
  std::atomic<std::size_t> upstream_failures_{0};
  std::atomic<std::size_t> cuts_{0};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::size_t> bytes_to_broker_{0};
  std::atomic<std::size_t> bytes_to_client_{0};
};

fault_proxy::fault_proxy(std::uint16_t upstream_port, std::string upstream_host)
    : impl_(std::make_unique<impl>(upstream_port, std::move(upstream_host))) {}

fault_proxy::~fault_proxy() = default;

std::uint16_t fault_proxy::port() const { return impl_->port_; }

const std::string& fault_proxy::host() const {
  static const std::string loopback = "127.0.0.1";
  return loopback;
}

void fault_proxy::cut_all() {
  impl_->run_sync([i = impl_.get()] { i->close_all(true); });
}

void fault_proxy::cut_after_bytes(std::size_t n, direction dir) {
  impl_->run_sync([i = impl_.get(), n, dir] {
    i->random_cuts_left_ = 0;
    i->cut_budget_ = n;
    i->cut_dir_ = dir;
    i->cut_armed_ = true;
  });
}

void fault_proxy::cut_randomly(std::uint32_t seed, std::size_t min_bytes, std::size_t max_bytes,
                               std::size_t max_cuts, direction dir) {
  if (max_bytes < min_bytes) throw std::invalid_argument("fault_proxy::cut_randomly: max_bytes < min_bytes");
  impl_->run_sync([i = impl_.get(), seed, min_bytes, max_bytes, max_cuts, dir] {
    i->rng_.seed(seed);
    i->random_min_ = min_bytes;
    i->random_max_ = max_bytes;
    i->cut_dir_ = dir;
    i->random_cuts_left_ = max_cuts;
    i->cut_armed_ = false;
    if (max_cuts > 0) i->arm_random_cut();
  });
}

void fault_proxy::stop_cutting() {
  impl_->run_sync([i = impl_.get()] {
    i->random_cuts_left_ = 0;
    i->cut_armed_ = false;
  });
}

void fault_proxy::stall() {
  impl_->run_sync([i = impl_.get()] { i->stalled_ = true; });
}

void fault_proxy::resume() {
  impl_->run_sync([i = impl_.get()] { i->resume(); });
}

void fault_proxy::delay(std::chrono::milliseconds d) {
  d = std::clamp(d, std::chrono::milliseconds(0), max_delay);
  impl_->run_sync([i = impl_.get(), d] { i->delay_ = d; });
}

void fault_proxy::refuse_for(std::chrono::milliseconds d) {
  d = std::clamp(d, std::chrono::milliseconds(0), max_refusal);
  impl_->run_sync([i = impl_.get(), d] { i->refuse_until_ = d.count() > 0 ? clock_type::now() + d : clock_type::time_point{}; });
}

void fault_proxy::clear_faults() {
  impl_->run_sync([i = impl_.get()] {
    i->random_cuts_left_ = 0;
    i->cut_armed_ = false;
    i->delay_ = std::chrono::milliseconds(0);
    i->refuse_until_ = clock_type::time_point{};
    i->resume();
  });
}

std::size_t fault_proxy::accepted() const { return impl_->accepted_.load(); }
std::size_t fault_proxy::refused() const { return impl_->refused_.load(); }
std::size_t fault_proxy::upstream_failures() const { return impl_->upstream_failures_.load(); }
std::size_t fault_proxy::cuts() const { return impl_->cuts_.load(); }
std::size_t fault_proxy::open_connections() const { return impl_->open_.load(); }
std::size_t fault_proxy::bytes_to_broker() const { return impl_->bytes_to_broker_.load(); }
std::size_t fault_proxy::bytes_to_client() const { return impl_->bytes_to_client_.load(); }

}  // namespace mqtt_test
