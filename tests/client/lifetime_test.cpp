// Destroying a client inside its own callback is refused with a clear
// message, never undefined behaviour. The refusal aborts, so it runs in a
// child process: this test binary again, with a hidden test case.

#include "client_test_helpers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

using namespace client_test;

extern char** environ;

TEST_CASE("child: a client deletes itself in on_connect_fail", "[.self_destroy_child]")
{
    std::signal(SIGABRT, SIG_DFL);  // not Catch's handler: the parent expects death by SIGABRT
    const auto port = mqtt_test::free_loopback_port();  // nothing listens there
    auto* c = new mqtt::client(unique_id("selfdel"));
    c->on_connect_fail = [c](mqtt::client&, std::error_code) { delete c; };
    REQUIRE_FALSE(c->loop_start());
    REQUIRE_FALSE(c->connect_async("127.0.0.1", port));
    std::this_thread::sleep_for(10s);  // the refusal aborts long before
}

TEST_CASE("destroying a client inside its own callback is refused with a message", "[client][lifetime]")
{
    char path[] = "/tmp/mqtt-selfdel-XXXXXX";
    const int err = ::mkstemp(path);
    REQUIRE(err >= 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::string self = "/proc/self/exe";
    std::string filter = "[.self_destroy_child]";
    char* argv[] = {self.data(), filter.data(), nullptr};
    pid_t child = -1;
    const int spawned = ::posix_spawn(&child, "/proc/self/exe", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(err);
    REQUIRE(spawned == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    ::unlink(path);
    INFO("the child's stderr:\n" << text.str());
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGABRT);
    CHECK(text.str().find("mqtt::client destroyed inside its own callback: refused") != std::string::npos);
}
