# Finds standalone Asio (header-only, no Boost) and provides Asio::asio.
# Standalone Asio ships no CMake package, so this module is installed
# alongside mqtt_client's own package configuration.
#
# Hints: ASIO_ROOT or Asio_ROOT (a prefix holding include/asio.hpp).
# Result: Asio_FOUND, Asio_INCLUDE_DIR, Asio_VERSION, target Asio::asio.

find_path(Asio_INCLUDE_DIR NAMES asio.hpp
  HINTS ${ASIO_ROOT} ${Asio_ROOT} ENV ASIO_ROOT
  PATH_SUFFIXES include asio/include)

if(Asio_INCLUDE_DIR AND EXISTS "${Asio_INCLUDE_DIR}/asio/version.hpp")
  file(STRINGS "${Asio_INCLUDE_DIR}/asio/version.hpp" _asio_version_line REGEX "#define ASIO_VERSION ")
  string(REGEX REPLACE ".*ASIO_VERSION ([0-9]+).*" "\\1" _asio_version_number "${_asio_version_line}")
  math(EXPR _asio_major "${_asio_version_number} / 100000")
  math(EXPR _asio_minor "${_asio_version_number} / 100 % 1000")
  math(EXPR _asio_patch "${_asio_version_number} % 100")
  set(Asio_VERSION "${_asio_major}.${_asio_minor}.${_asio_patch}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Asio
  REQUIRED_VARS Asio_INCLUDE_DIR
  VERSION_VAR Asio_VERSION
  FAIL_MESSAGE "Standalone Asio (asio.hpp) not found. Install it (Debian/Ubuntu: apt-get install libasio-dev) or set ASIO_ROOT.")

if(Asio_FOUND AND NOT TARGET Asio::asio)
  find_package(Threads REQUIRED)
  add_library(Asio::asio INTERFACE IMPORTED)
  set_target_properties(Asio::asio PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${Asio_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
mark_as_advanced(Asio_INCLUDE_DIR)
