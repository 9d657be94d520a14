# Sets MQTT_CLIENT_HAVE_COROUTINES when the compiler has C++20 coroutines:
# the coroutine example and tests are C++20 files; the library stays C++17.
include(CheckCXXSourceCompiles)
if("cxx_std_20" IN_LIST CMAKE_CXX_COMPILE_FEATURES)
  set(_mqtt_saved_required_flags "${CMAKE_REQUIRED_FLAGS}")
  set(CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS} ${CMAKE_CXX20_STANDARD_COMPILE_OPTION}")
  check_cxx_source_compiles([=[
#include <coroutine>
#if !defined(__cpp_impl_coroutine)
#error no coroutines
#endif
int main() { return 0; }
]=] MQTT_CLIENT_HAVE_COROUTINES)
  set(CMAKE_REQUIRED_FLAGS "${_mqtt_saved_required_flags}")
endif()
