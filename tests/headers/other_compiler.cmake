# headers.clang / headers.gcc: configures the project with the other compiler
# in BINARY_DIR (kept between runs), builds the header checks with its
# warnings as errors and runs the two-TU program.
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DCOMPILER=clang++ -DGENERATOR=Ninja -P other_compiler.cmake

foreach(var SOURCE_DIR BINARY_DIR GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "other_compiler.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT COMPILER)
  # The project's scripts install clang and g++; a bare machine may lack one.
  message("-- SKIPPED: the other compiler was not found when the tests were configured")
  return()
endif()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "${what} failed (${rc}): ${command}")
  endif()
endfunction()

message("-- ${COMPILER}: configuring ${BINARY_DIR}")
run("configure" "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BINARY_DIR}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${COMPILER}" -DCMAKE_BUILD_TYPE=
    -DMQTT_CLIENT_BUILD_TESTS=ON -DMQTT_CLIENT_BUILD_EXAMPLES=OFF -DMQTT_CLIENT_INSTALL=OFF)
message("-- ${COMPILER}: building mqtt_header_link_check")
# Keep going after the first failure, so that one run names every bad header.
set(keep_going)
if(GENERATOR MATCHES "Ninja")
  set(keep_going -- -k 0)
elseif(GENERATOR MATCHES "Makefiles")
  set(keep_going -- -k)
endif()
run("build" "${CMAKE_COMMAND}" --build "${BINARY_DIR}" --target mqtt_header_link_check ${keep_going})
run("mqtt_header_link_check" "${BINARY_DIR}/tests/headers/mqtt_header_link_check")
