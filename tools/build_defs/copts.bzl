"""Compiler flags for poolkit's own code, in one place.

The language level (-std=c++17) is set once in .bazelrc; external code is
silenced there with --per_file_copt. These lists add poolkit's warnings.
"""

# Library code: every warning is an error.
POOLKIT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wnon-virtual-dtor",
    "-Wcast-align",
    "-Wformat=2",
]

# Tests and tools: the same, minus warnings that GoogleTest macros trip.
POOLKIT_TEST_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-sign-compare",
]
