# install() and export of mqtt_client, included by the top-level CMakeLists
# when MQTT_CLIENT_INSTALL is ON (the default only when mqtt_client is the
# top-level project: add_subdirectory / FetchContent users install nothing
# unless they ask for it).
#
# Layout (GNUInstallDirs, all of it architecture-independent):
#   include/mqtt/...                                 the headers (*.hpp, impl/*.ipp)
#   share/cmake/mqtt_client/mqtt_clientConfig.cmake         find_package(mqtt_client CONFIG)
#   share/cmake/mqtt_client/mqtt_clientConfigVersion.cmake  SameMajorVersion
#   share/cmake/mqtt_client/mqtt_clientTargets.cmake        the target mqtt::client
#   share/cmake/mqtt_client/FindAsio.cmake                  standalone Asio has no CMake package
#   share/pkgconfig/mqtt_client.pc                          pkg-config
#   share/doc/mqtt_client/LICENSE
# Every file is relocatable: paths are relative to where the file ends up, so
# `cmake --install build --prefix DIR` and moving DIR afterwards both work.

include(CMakePackageConfigHelpers)

set(MQTT_CLIENT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/mqtt_client"
    CACHE STRING "Where mqtt_client's CMake package files go (relative to the prefix)")
set(MQTT_CLIENT_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_DATADIR}/pkgconfig"
    CACHE STRING "Where mqtt_client.pc goes (relative to the prefix)")
mark_as_advanced(MQTT_CLIENT_INSTALL_CMAKEDIR MQTT_CLIENT_INSTALL_PKGCONFIGDIR)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mqtt"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.ipp")

install(TARGETS mqtt_client EXPORT mqtt_clientTargets)
install(EXPORT mqtt_clientTargets
  NAMESPACE mqtt::
  FILE mqtt_clientTargets.cmake
  DESTINATION "${MQTT_CLIENT_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/mqtt_clientConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/mqtt_clientConfig.cmake"
  INSTALL_DESTINATION "${MQTT_CLIENT_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/mqtt_clientConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/mqtt_clientConfig.cmake"
  "${PROJECT_BINARY_DIR}/mqtt_clientConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/FindAsio.cmake"
  DESTINATION "${MQTT_CLIENT_INSTALL_CMAKEDIR}")

# pkg-config: the prefix is computed from the .pc file's own location
# (${pcfiledir}), so the file stays right under `cmake --install --prefix`.
function(_mqtt_client_write_pc)
  set(pc_dir "${MQTT_CLIENT_INSTALL_PKGCONFIGDIR}")
  if(IS_ABSOLUTE "${pc_dir}")
    set(pc_prefix "${CMAKE_INSTALL_PREFIX}")
  else()
    # "share/pkgconfig" -> "${pcfiledir}/../.."
    set(pc_prefix "\${pcfiledir}")
    string(REGEX REPLACE "/+$" "" pc_dir "${pc_dir}")
    string(REPLACE "/" ";" pc_parts "${pc_dir}")
    foreach(part IN LISTS pc_parts)
      if(NOT part STREQUAL "" AND NOT part STREQUAL ".")
        string(APPEND pc_prefix "/..")
      endif()
    endforeach()
  endif()
  if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
  else()
    set(pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
  endif()
  # Asio is header-only and ships no .pc file: add its directory only when it
  # is not one the compiler searches anyway.
  set(pc_asio_cflags "")
  if(Asio_INCLUDE_DIR AND NOT Asio_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    set(pc_asio_cflags " -I${Asio_INCLUDE_DIR}")
  endif()
  set(PC_PREFIX "${pc_prefix}")
  set(PC_INCLUDEDIR "${pc_includedir}")
  set(PC_ASIO_CFLAGS "${pc_asio_cflags}")
  configure_file("${PROJECT_SOURCE_DIR}/cmake/mqtt_client.pc.in" "${PROJECT_BINARY_DIR}/mqtt_client.pc" @ONLY)
endfunction()
_mqtt_client_write_pc()
install(FILES "${PROJECT_BINARY_DIR}/mqtt_client.pc" DESTINATION "${MQTT_CLIENT_INSTALL_PKGCONFIGDIR}")

install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DOCDIR}")
