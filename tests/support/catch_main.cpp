// Catch2 3.x brings its own main (Catch2::Catch2WithMain); 2.x needs this TU.
#if !__has_include(<catch2/catch_test_macros.hpp>)
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
