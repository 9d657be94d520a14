#include "support/broker.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace mqtt_test {
namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto start_timeout = 10s;      // until the broker accepts TCP connections
constexpr auto rebind_timeout = 10s;     // until a restart can bind the old port
constexpr auto term_timeout = 10s;       // SIGTERM -> exit, before SIGKILL
constexpr auto helper_timeout = 10s;     // mosquitto_passwd
constexpr int start_attempts = 5;        // fresh ports tried at first start

std::string errno_text(int e) { return std::strerror(e); }

[[noreturn]] void throw_errno(const std::string& what, int e = errno) {
  throw std::runtime_error("mqtt_test::broker: " + what + ": " + errno_text(e));
}

// RAII for a file descriptor.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// Searches PATH, then the extra directories (sbin is often not in a user's PATH).
std::string find_executable(const std::string& name, const std::vector<std::string>& extra_dirs) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    std::size_t begin = 0;
    while (begin <= p.size()) {
      std::size_t end = p.find(':', begin);
      if (end == std::string::npos) end = p.size();
      dirs.push_back(end == begin ? std::string(".") : p.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const auto& dir : dirs) {
    std::string candidate = dir + "/" + name;
    if (is_executable_file(candidate)) return candidate;
  }
  return {};
}

std::string read_file_from(const std::string& path, std::size_t offset = 0) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::size_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<std::size_t>(st.st_size);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "status " + std::to_string(status);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Can we bind 127.0.0.1:port the way Mosquitto does (SO_REUSEADDR)?
bool port_bindable(std::uint16_t port) {
  fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) return false;
  int one = 1;
  ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(port);
  return ::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// A TCP connect to 127.0.0.1:port that gives up after `timeout`.
bool accepts_connections(std::uint16_t port, std::chrono::milliseconds timeout) {
  fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.fd < 0) return false;
  sockaddr_in addr = loopback(port);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{s.fd, POLLOUT, 0};
  int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n <= 0) return false;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return false;
  return err == 0;
}

// fork + exec with the child's stdout/stderr appended to `output_path`,
// stdin from /dev/null, no inherited descriptors, default signal handling, and
// PR_SET_PDEATHSIG so that the child dies with the test process. Only
// async-signal-safe calls between fork and exec (the test may be threaded).
pid_t spawn_process(const std::vector<std::string>& args, const std::string& output_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  fd_guard out(::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (out.fd < 0) throw_errno("cannot open " + output_path);
  fd_guard devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.fd < 0) throw_errno("cannot open /dev/null");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  fd_guard err_read(pipe_fds[0]);
  fd_guard err_write(pipe_fds[1]);

  rlimit rl{};
  int max_fd = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    max_fd = static_cast<int>(rl.rlim_cur < 65536 ? rl.rlim_cur : 65536);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2}) ::signal(sig, SIG_DFL);
    ::dup2(devnull.fd, STDIN_FILENO);
    ::dup2(out.fd, STDOUT_FILENO);
    ::dup2(out.fd, STDERR_FILENO);
    // Mark every other descriptor close-on-exec (sockets of the test, ...);
    // err_write stays open until a successful exec closes it.
    bool marked = false;
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
    marked = ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
#endif
    if (!marked)
      for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::execv(argv[0], argv.data());
    int e = errno;
    ssize_t ignored = ::write(err_write.fd, &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }

  err_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw std::runtime_error("mqtt_test::broker: cannot execute " + args[0] + ": " + errno_text(child_errno));
  }
  return pid;
}

// waitpid for `pid` for at most `timeout`; SIGKILL after that. Returns the status.
int wait_bounded(pid_t pid, std::chrono::milliseconds timeout, bool& timed_out) {
  timed_out = false;
  const auto deadline = clock_type::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // ECHILD: already reaped elsewhere
    if (clock_type::now() >= deadline) break;
    std::this_thread::sleep_for(5ms);
  }
  timed_out = true;
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

bool contains_since(const std::string& path, std::size_t offset, const char* needle) {
  return read_file_from(path, offset).find(needle) != std::string::npos;
}

}  // namespace

std::string find_mosquitto() {
  std::string path = find_executable("mosquitto", {"/usr/sbin", "/usr/local/sbin", "/sbin"});
  if (path.empty())
    throw std::runtime_error("mosquitto not found: install it (Debian/Ubuntu: apt-get install mosquitto)");
  return path;
}

std::uint16_t free_loopback_port() {
  fd_guard s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd < 0) throw_errno("socket");
  sockaddr_in addr = loopback(0);
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw_errno("bind 127.0.0.1:0");
  socklen_t len = sizeof addr;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
  return ntohs(addr.sin_port);
}

broker::broker(broker_options options) : options_(std::move(options)) {
  mosquitto_ = find_mosquitto();

  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mqtt-test-broker-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  dir_ = buf.data();
  config_path_ = dir_ + "/mosquitto.conf";
  log_path_ = dir_ + "/mosquitto.log";
  output_path_ = dir_ + "/mosquitto.out";

  try {
    if (!options_.users.empty()) make_password_file();
    for (int attempt = 1;; ++attempt) {
      port_ = free_loopback_port();
      write_config();
      if (try_start(attempt < start_attempts)) break;
    }
  } catch (...) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

broker::~broker() {
  try {
    stop();
  } catch (...) {
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  if (std::getenv("MQTT_TEST_KEEP_BROKER_DIR") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void broker::make_password_file() const {
  std::string passwd = find_executable("mosquitto_passwd", {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
  if (passwd.empty())
    throw std::runtime_error("mosquitto_passwd not found: install it (Debian/Ubuntu: apt-get install mosquitto)");
  const std::string file = dir_ + "/passwd";
  const std::string output = dir_ + "/mosquitto_passwd.out";
  {
    fd_guard f(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (f.fd < 0) throw_errno("cannot create " + file);
  }
  for (const auto& [user, password] : options_.users) {
    pid_t pid = spawn_process({passwd, "-b", file, user, password}, output);
    bool timed_out = false;
    int status = wait_bounded(pid, helper_timeout, timed_out);
    if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("mqtt_test::broker: `mosquitto_passwd -b " + file + " " + user + " ...` failed (" +
                               (timed_out ? std::string("timed out") : describe_status(status)) +
                               "): " + read_file_from(output));
  }
}

void broker::write_config() const {
  std::ofstream conf(config_path_, std::ios::trunc);
  if (!conf) throw std::runtime_error("mqtt_test::broker: cannot write " + config_path_);
  conf << "# generated by mqtt_test::broker\n";
  // Started as root, Mosquitto drops privileges to user `mosquitto`, which
  // cannot write our 0700 temp dir. Stay who we are.
  if (::geteuid() == 0) conf << "user root\n";
  conf << "listener " << port_ << " " << host_ << "\n";
  if (options_.users.empty()) {
    conf << "allow_anonymous true\n";
  } else {
    conf << "allow_anonymous false\n";
    conf << "password_file " << dir_ << "/passwd\n";
  }
  if (options_.persistence) {
    conf << "persistence true\n";
    conf << "persistence_location " << dir_ << "/\n";
  } else {
    conf << "persistence false\n";
  }
  conf << "log_dest file " << log_path_ << "\n";
  conf << "log_type all\n";
  conf << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n";
  for (const auto& line : options_.extra_config) conf << line << "\n";
  conf.flush();
  if (!conf) throw std::runtime_error("mqtt_test::broker: cannot write " + config_path_);
}

void broker::start() {
  if (running()) return;
  const auto deadline = clock_type::now() + rebind_timeout;
  while (!port_bindable(port_)) {
    if (clock_type::now() >= deadline)
      throw std::runtime_error("mqtt_test::broker: cannot restart: 127.0.0.1:" + std::to_string(port_) +
                               " still in use after " + std::to_string(rebind_timeout.count()) + " s");
    std::this_thread::sleep_for(20ms);
  }
  try_start(false);
}

bool broker::try_start(bool may_report_port_taken) {
  const std::size_t log_offset = file_size(log_path_);
  const std::size_t output_offset = file_size(output_path_);
  pid_ = spawn_process({mosquitto_, "-c", config_path_}, output_path_);
  exit_description_.clear();

  const auto deadline = clock_type::now() + start_timeout;
  for (;;) {
    if (reap(false)) {
      const bool port_taken = contains_since(log_path_, log_offset, "Address already in use") ||
                              contains_since(output_path_, output_offset, "Address already in use");
      if (port_taken && may_report_port_taken) return false;
      throw std::runtime_error("mqtt_test::broker: mosquitto (" + mosquitto_ + " -c " + config_path_ +
                               ") exited during start-up on 127.0.0.1:" + std::to_string(port_) + " (" +
                               exit_description_ + "); log:\n" + log());
    }
    // "running" is logged once the listeners are open: it tells our broker
    // from another process that may have grabbed the port.
    if (contains_since(log_path_, log_offset, " running") && accepts_connections(port_, 200ms)) return true;
    if (clock_type::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      reap(true);
      throw std::runtime_error("mqtt_test::broker: mosquitto did not accept connections on 127.0.0.1:" +
                               std::to_string(port_) + " within " + std::to_string(start_timeout.count()) +
                               " s; log:\n" + log());
    }
    std::this_thread::sleep_for(10ms);
  }
}

bool broker::reap(bool block) const {
  if (pid_ <= 0) return true;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
      exit_description_ = describe_status(status);
      pid_ = -1;
      return true;
    }
    if (r == 0) return false;
    if (errno == EINTR) continue;
    // ECHILD: reaped by someone else (SIGCHLD ignored?). It is gone either way.
    exit_description_ = "reaped elsewhere";
    pid_ = -1;
    return true;
  }
}

bool broker::running() const { return !reap(false); }

void broker::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = clock_type::now() + term_timeout;
  while (!reap(false)) {
    if (clock_type::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      reap(true);
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

void broker::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::string broker::log() const {
  std::string text = read_file_from(log_path_);
  std::string output = read_file_from(output_path_);
  if (!output.empty()) text += "--- mosquitto stdout/stderr ---\n" + output;
  if (text.empty()) text = "(empty)\n";
  return text;
}

}  // namespace mqtt_test
