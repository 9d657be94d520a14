#pragma once

// A real Mosquitto broker for tests: started on a free loopback port with its
// own generated config in a fresh temp directory, stopped and cleaned up by the
// destructor, restartable on the same port (fault tests).
//
// POSIX only, no Asio (keeps this translation unit cheap to compile).
//
// Thread safety: one broker object is meant to be driven by one thread (the
// test's). PR_SET_PDEATHSIG ties the broker's life to the *thread* that started
// it, so create and start() it on a thread that outlives the broker (the test
// body's thread).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mqtt_test {

struct broker_options {
  // persistence true + persistence_location <tempdir>/ (kept across restarts).
  bool persistence = true;
  // user -> password. When non-empty: allow_anonymous false and a
  // password_file made with `mosquitto_passwd -b`.
  std::map<std::string, std::string> users;
  // Appended verbatim, one config line each, after the generated lines.
  std::vector<std::string> extra_config;
};

class broker {
public:
  // Starts the broker and waits until it accepts TCP connections. Throws
  // std::runtime_error naming the cause (mosquitto missing, exited at start
  // with its log, did not come up in time, ...).
  explicit broker(broker_options options = {});
  // Stops it (SIGTERM, then SIGKILL after a bound), reaps it, removes the
  // temp dir (kept when the environment variable MQTT_TEST_KEEP_BROKER_DIR is
  // set, for debugging).
  ~broker();

  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;
  broker(broker&&) = delete;
  broker& operator=(broker&&) = delete;

  std::uint16_t port() const { return port_; }
  const std::string& host() const { return host_; }  // "127.0.0.1"
  const std::string& directory() const { return dir_; }

  // Graceful: SIGTERM (Mosquitto saves its persistence file), waits for the
  // exit (bounded; SIGKILL after 10 s). No-op when not running.
  void stop();
  // SIGKILL, no persistence flush (simulates a crash). No-op when not running.
  void kill();
  // (Re)starts on the SAME port with the SAME config and persistence dir;
  // waits until the port is bindable again, then until the broker accepts TCP
  // connections (bounded, 10 s each). No-op when already running.
  void start();
  // True while the broker process is alive (reaps it if it died on its own).
  bool running() const;

  // The broker's log file, followed by its stdout/stderr when non-empty
  // (where start-up errors go before the log file is open).
  std::string log() const;

private:
  void write_config() const;
  void make_password_file() const;
  // One attempt: spawn, wait until ready. Returns false when the port was
  // taken (caller may retry with another port); throws on other failures.
  bool try_start(bool may_report_port_taken);
  void spawn();
  void wait_ready(std::size_t log_offset);
  bool reap(bool block) const;  // true when the process is gone

  broker_options options_;
  std::string host_ = "127.0.0.1";
  std::string mosquitto_;
  std::string dir_;
  std::string config_path_;
  std::string log_path_;
  std::string output_path_;
  std::uint16_t port_ = 0;
  mutable pid_t pid_ = -1;
  mutable std::string exit_description_;  // how the last process ended
};

// The path of the mosquitto executable (PATH, then /usr/sbin and
// /usr/local/sbin), or throws std::runtime_error with install instructions.
std::string find_mosquitto();

// A port that was free on 127.0.0.1 a moment ago (bind :0, getsockname, close).
std::uint16_t free_loopback_port();

}  // namespace mqtt_test
