#!/usr/bin/env bash
# The packaging tests (tests/cmake/CMakeLists.txt registers them with CTest,
# label "packaging"):
#
#   run_consumer.sh KIND WORK_DIR
#
#   install           configures the source tree on its own, `cmake --install`s
#                     it to WORK_DIR/prefix and checks the installed files, the
#                     package's version rules and its target
#   find_package      consumer project against a copy of that prefix at another
#                     path (the package is relocatable)
#   fetch_content     consumer project fetching a file:// archive of the library
#   add_subdirectory  consumer project with the library vendored in third_party/;
#                     then checks that it installs nothing unless
#                     MQTT_CLIENT_INSTALL=ON
#   separate_compilation  vendored like add_subdirectory, linking
#                     mqtt::client_compiled (MQTT_CLIENT_SEPARATE_COMPILATION)
#   plain_include     the hand-written compile line, -I to a copy of include/
#   pkg_config        the compile line from pkg-config, installed mqtt_client.pc
#
# Each consumer copies tests/cmake/KIND/CMakeLists.txt (the README snippet)
# and tests/cmake/main.cpp into a fresh source dir, is configured and built
# from scratch at -O0, and runs against a throwaway Mosquitto on a free
# 127.0.0.1 port: it must receive the message it published.
#
# WORK_DIR is wiped first and kept afterwards (logs, build trees). The
# environment, set by CTest: MQTT_TEST_CXX (the compiler), MQTT_TEST_GENERATOR,
# MQTT_TEST_MAKE_PROGRAM, MQTT_TEST_VERSION (x.y.z), MQTT_TEST_INSTALLED (the
# install test's prefix, for find_package and pkg_config).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

(($# == 2)) || die "usage: run_consumer.sh KIND WORK_DIR"
readonly kind=$1
work=$2
readonly cxx=${MQTT_TEST_CXX:-c++}
readonly generator=${MQTT_TEST_GENERATOR:-}
readonly make_program=${MQTT_TEST_MAKE_PROGRAM:-}
readonly version=${MQTT_TEST_VERSION:?MQTT_TEST_VERSION is not set}
readonly here=$MQTT_ROOT/tests/cmake
readonly run_timeout=60 # seconds for the consumer program

case $work in
/*) ;;
*) work=$PWD/$work ;;
esac
readonly work
rm -rf "$work"
mkdir -p "$work"

# quiet NAME WHAT CMD...: runs CMD with its output in WORK_DIR/NAME.log,
# printed when it fails.
quiet() {
  local name=$1
  shift
  run_quiet "$work/$name.log" "$@"
}

# stage_library DEST: what a user vendors or a release archive holds (the
# top-level CMakeLists.txt, cmake/, include/, LICENSE). No tests/ nor
# examples/: a subproject must not need them.
stage_library() {
  local dest=$1
  mkdir -p "$dest"
  cp -R "$MQTT_ROOT/CMakeLists.txt" "$MQTT_ROOT/LICENSE" "$MQTT_ROOT/cmake" "$MQTT_ROOT/include" "$dest/"
}

# make_project NAME: WORK_DIR/src with the consumer's CMakeLists.txt (when
# NAME has one) and main.cpp.
make_project() {
  local name=$1
  mkdir -p "$work/src"
  if [[ -n $name ]]; then
    cp "$here/$name/CMakeLists.txt" "$work/src/CMakeLists.txt"
  fi
  cp "$here/main.cpp" "$work/src/main.cpp"
}

# cmake_configure SRC BUILD ARGS...: a fresh configure with the test's compiler.
cmake_configure() {
  local src=$1 bld=$2
  shift 2
  local -a args=(-S "$src" -B "$bld" "-DCMAKE_CXX_COMPILER=$cxx" -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS=-O0
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
  [[ -n $generator ]] && args+=(-G "$generator")
  [[ -n $make_program ]] && args+=("-DCMAKE_MAKE_PROGRAM=$make_program")
  step "configure $src"
  quiet "configure-$(basename "$bld")" "configuring $src" cmake "${args[@]}" "$@"
}

cmake_build() {
  step "build $1"
  quiet "build-$(basename "$1")" "building $1" cmake --build "$1"
}

# files_under DIR: the files under DIR, relative, sorted (nothing when DIR
# does not exist).
files_under() {
  [[ -d $1 ]] || return 0
  (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
}

# expect_nothing_installed PREFIX: a project using mqtt_client as a
# subproject installed nothing of it.
expect_nothing_installed() {
  local leaked
  leaked=$(files_under "$1")
  [[ -z $leaked ]] ||
    die "installing the consumer installed $(wc -l <<<"$leaked") files of mqtt_client, among them $(head -n 3 <<<"$leaked" | tr '\n' ' ')(MQTT_CLIENT_INSTALL must default to OFF in a subproject)"
}

# run_consumer EXE: runs the consumer against a throwaway broker and checks
# what it printed.
run_consumer() {
  local exe=$1 out status=0
  [[ -x $exe ]] || die "$exe was not built"
  start_mosquitto
  step "run $exe $MOSQUITTO_PORT (mosquitto on 127.0.0.1:$MOSQUITTO_PORT)"
  out=$(timeout -k 10 "$run_timeout" "$exe" "$MOSQUITTO_PORT" 2>&1) || status=$?
  printf '%s\n' "$out"
  if ((status != 0)); then
    printf -- '--- mosquitto log ---\n' >&2
    cat "$MOSQUITTO_DIR/mosquitto.log" >&2 || true
    ((status == 124)) && die "$exe did not finish within $run_timeout s"
    die "$exe exited with status $status"
  fi
  stop_mosquitto
  grep -qx "consumer: mqtt_client $version" <<<"$out" ||
    die "the consumer was built with headers of another version (expected $version)"
  grep -qx "consumer: ok" <<<"$out" || die "the consumer did not report success"
}

# installed_copy: a copy of the install test's prefix at another path.
installed_copy() {
  local installed=${MQTT_TEST_INSTALLED:?MQTT_TEST_INSTALLED is not set}
  [[ -f $installed/share/cmake/mqtt_client/mqtt_clientConfig.cmake ]] ||
    die "no installed package in $installed (the test package.install sets it up)"
  cp -a "$installed" "$work/moved-prefix"
  printf '%s\n' "$work/moved-prefix"
}

case $kind in
install)
  prefix=$work/prefix
  # The defaults of a top-level build: MQTT_CLIENT_INSTALL is ON.
  cmake_configure "$MQTT_ROOT" "$work/library-build" -DMQTT_CLIENT_BUILD_TESTS=OFF -DMQTT_CLIENT_BUILD_EXAMPLES=OFF
  cmake_build "$work/library-build"
  step "install to $prefix"
  quiet install "cmake --install" cmake --install "$work/library-build" --prefix "$prefix"

  {
    (cd "$MQTT_ROOT" && find include/mqtt -type f \( -name '*.hpp' -o -name '*.ipp' \))
    printf '%s\n' share/cmake/mqtt_client/FindAsio.cmake share/cmake/mqtt_client/mqtt_clientConfig.cmake \
      share/cmake/mqtt_client/mqtt_clientConfigVersion.cmake share/cmake/mqtt_client/mqtt_clientTargets.cmake \
      share/pkgconfig/mqtt_client.pc share/doc/mqtt_client/LICENSE
  } | LC_ALL=C sort >"$work/expected-files.txt"
  files_under "$prefix" >"$work/installed-files.txt"
  if ! diff -u "$work/expected-files.txt" "$work/installed-files.txt"; then
    die "the installed files differ from the expected ones (- expected, + installed)"
  fi
  while IFS= read -r f; do
    [[ $f == include/* ]] || continue
    cmp -s "$MQTT_ROOT/$f" "$prefix/$f" || die "installed $f differs from the source tree's"
  done <"$work/expected-files.txt"
  printf 'installed: %d files, as expected\n' "$(wc -l <"$work/installed-files.txt")"

  # find_package's version rules (SameMajorVersion), the imported target and
  # its dependencies, from the installed package alone.
  IFS=. read -r major minor _ <<<"$version"
  mkdir -p "$work/version-check"
  cat >"$work/version-check/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(version_check LANGUAGES CXX)
find_package(mqtt_client $version EXACT CONFIG REQUIRED)
if(NOT mqtt_client_VERSION STREQUAL "$version")
  message(FATAL_ERROR "mqtt_client_VERSION is '\${mqtt_client_VERSION}', expected $version")
endif()
if(NOT mqtt_client_DIR STREQUAL "$prefix/share/cmake/mqtt_client")
  message(FATAL_ERROR "found the package in \${mqtt_client_DIR}, not in $prefix")
endif()
foreach(target mqtt::client Asio::asio Threads::Threads)
  if(NOT TARGET \${target})
    message(FATAL_ERROR "find_package(mqtt_client) did not define \${target}")
  endif()
endforeach()
get_target_property(includes mqtt::client INTERFACE_INCLUDE_DIRECTORIES)
if(NOT includes STREQUAL "$prefix/include")
  message(FATAL_ERROR "mqtt::client's include directories are '\${includes}', expected $prefix/include")
endif()
get_target_property(links mqtt::client INTERFACE_LINK_LIBRARIES)
if(NOT links STREQUAL "Threads::Threads;Asio::asio")
  message(FATAL_ERROR "mqtt::client links '\${links}', expected Threads::Threads;Asio::asio")
endif()
find_package(mqtt_client $major.0 CONFIG REQUIRED)  # same major, older minor: compatible
find_package(mqtt_client $((major + 1)).0 CONFIG QUIET)
if(mqtt_client_FOUND)
  message(FATAL_ERROR "find_package(mqtt_client $((major + 1)).0) accepted version $version")
endif()
find_package(mqtt_client $major.$((minor + 1)) CONFIG QUIET)
if(mqtt_client_FOUND)
  message(FATAL_ERROR "find_package(mqtt_client $major.$((minor + 1))) accepted version $version")
endif()
# Header-only, so ARCH_INDEPENDENT: a 32-bit consumer takes it too.
set(saved_sizeof_void_p \${CMAKE_SIZEOF_VOID_P})
math(EXPR CMAKE_SIZEOF_VOID_P "12 - \${CMAKE_SIZEOF_VOID_P}")
find_package(mqtt_client $version CONFIG QUIET)
if(NOT mqtt_client_FOUND)
  message(FATAL_ERROR "a consumer with another pointer size (\${CMAKE_SIZEOF_VOID_P} bytes) rejects the package: not ARCH_INDEPENDENT")
endif()
set(CMAKE_SIZEOF_VOID_P \${saved_sizeof_void_p})
message(STATUS "version rules and imported target: ok")
EOF
  cmake_configure "$work/version-check" "$work/version-check/build" "-DCMAKE_PREFIX_PATH=$prefix"
  step "package.install: ok"
  ;;

find_package)
  moved=$(installed_copy)
  make_project find_package
  cmake_configure "$work/src" "$work/build" "-DCMAKE_PREFIX_PATH=$moved"
  found=$(sed -n 's/^mqtt_client_DIR:PATH=//p' "$work/build/CMakeCache.txt")
  [[ $found == "$moved/share/cmake/mqtt_client" ]] || die "find_package found mqtt_client in '$found', not in $moved"
  cmake_build "$work/build"
  grep -qF -- "$moved/include" "$work/build/compile_commands.json" ||
    die "the consumer was not compiled against $moved/include (see $work/build/compile_commands.json)"
  if grep -qF -- "$MQTT_ROOT/include" "$work/build/compile_commands.json"; then
    die "the consumer was compiled against the source tree's include/, not the installed one"
  fi
  run_consumer "$work/build/consumer"
  step "consumer.find_package: ok"
  ;;

fetch_content)
  archive_root=$work/archive
  stage_library "$archive_root/mqtt_client-$version"
  (cd "$archive_root" && cmake -E tar czf "$work/mqtt_client-$version.tar.gz" "mqtt_client-$version")
  make_project fetch_content
  cmake_configure "$work/src" "$work/build" "-DMQTT_CLIENT_ARCHIVE=file://$work/mqtt_client-$version.tar.gz"
  cmake_build "$work/build"
  run_consumer "$work/build/consumer"
  step "install the consumer: mqtt_client, a subproject, must install nothing"
  quiet install-consumer "cmake --install" cmake --install "$work/build" --prefix "$work/install"
  expect_nothing_installed "$work/install"
  step "consumer.fetch_content: ok"
  ;;

add_subdirectory)
  make_project add_subdirectory
  stage_library "$work/src/third_party/mqtt_client"
  cmake_configure "$work/src" "$work/build"
  cmake_build "$work/build"
  run_consumer "$work/build/consumer"

  step "install the consumer: mqtt_client, a subproject, must install nothing"
  quiet install-default "cmake --install" cmake --install "$work/build" --prefix "$work/install-default"
  expect_nothing_installed "$work/install-default"

  step "... unless MQTT_CLIENT_INSTALL=ON"
  quiet configure-install-on "reconfiguring with MQTT_CLIENT_INSTALL=ON" cmake "$work/build" -DMQTT_CLIENT_INSTALL=ON
  quiet install-on "cmake --install" cmake --install "$work/build" --prefix "$work/install-on"
  for f in include/mqtt/client.hpp share/cmake/mqtt_client/mqtt_clientConfig.cmake \
    share/cmake/mqtt_client/mqtt_clientTargets.cmake share/pkgconfig/mqtt_client.pc; do
    [[ -f $work/install-on/$f ]] || die "with MQTT_CLIENT_INSTALL=ON, $f was not installed"
  done
  step "consumer.add_subdirectory: ok"
  ;;

separate_compilation)
  make_project separate_compilation
  stage_library "$work/src/third_party/mqtt_client"
  cmake_configure "$work/src" "$work/build"
  cmake_build "$work/build"
  grep -q -- "-DMQTT_CLIENT_SEPARATE_COMPILATION" "$work/build/compile_commands.json" ||
    die "main.cpp was not compiled with MQTT_CLIENT_SEPARATE_COMPILATION (see $work/build/compile_commands.json)"
  [[ -n $(find "$work/build" -name 'libmqtt_client_compiled.a') ]] || die "no libmqtt_client_compiled.a was built"
  run_consumer "$work/build/consumer"
  step "consumer.separate_compilation: ok"
  ;;

plain_include)
  make_project ""
  mkdir -p "$work/src/third_party/mqtt_client"
  cp -R "$MQTT_ROOT/include" "$work/src/third_party/mqtt_client/"
  # The README's compile line, with the test's compiler and -O0.
  step "compile: $cxx -std=c++17 -O0 -I third_party/mqtt_client/include main.cpp -pthread -o consumer"
  (cd "$work/src" && quiet compile "the plain compile line" \
    "$cxx" -std=c++17 -O0 -I third_party/mqtt_client/include main.cpp -pthread -o consumer)
  run_consumer "$work/src/consumer"
  step "consumer.plain_include: ok"
  ;;

pkg_config)
  command -v pkg-config >/dev/null 2>&1 || die "pkg-config not found (Debian/Ubuntu: apt-get install pkg-config)"
  moved=$(installed_copy)
  make_project ""
  export PKG_CONFIG_PATH=$moved/share/pkgconfig
  pkg-config --exists --print-errors mqtt_client || die "pkg-config does not find mqtt_client in $PKG_CONFIG_PATH"
  got=$(pkg-config --modversion mqtt_client)
  [[ $got == "$version" ]] || die "pkg-config --modversion mqtt_client says $got, expected $version"
  cflags=$(pkg-config --cflags mqtt_client)
  libs=$(pkg-config --libs mqtt_client)
  printf 'cflags: %s\nlibs: %s\n' "$cflags" "$libs"
  includedir=$(pkg-config --variable=includedir mqtt_client)
  [[ $(cd "$includedir" && pwd -P) == $(cd "$moved/include" && pwd -P) ]] ||
    die "mqtt_client.pc's includedir $includedir is not the moved prefix's $moved/include"
  # The README's compile line, with the test's compiler and -O0.
  step "compile: $cxx -std=c++17 -O0 main.cpp \$(pkg-config --cflags --libs mqtt_client) -o consumer"
  # shellcheck disable=SC2046 # word splitting of pkg-config's output is the point
  (cd "$work/src" && quiet compile "the pkg-config compile line" \
    "$cxx" -std=c++17 -O0 main.cpp $(pkg-config --cflags --libs mqtt_client) -o consumer)
  run_consumer "$work/src/consumer"
  step "consumer.pkg_config: ok"
  ;;

*)
  die "unknown kind '$kind' (install, find_package, fetch_content, add_subdirectory, plain_include, pkg_config)"
  ;;
esac
