// poolkit's language level, checked where a build first meets poolkit.
//
// Every public header of arch/, debug/ and pool/ includes this one, so that a
// build below C++17 stops with the flag to add instead of an error deep in
// the library ("'aligned_alloc' is not a member of 'std'"). Bazel's default
// C++ toolchain compiles with -std=c++0x unless the workspace's .bazelrc says
// otherwise; README ("Depending on poolkit") shows the two lines it needs.
#ifndef POOLKIT_ARCH_CXX17_REQUIRED_H_
#define POOLKIT_ARCH_CXX17_REQUIRED_H_

// One line, so that the compiler prints the whole message.
// clang-format off
#if !defined(__cplusplus) || __cplusplus < 201703L
#error "poolkit needs C++17 or later. Bazel: add 'build --cxxopt=-std=c++17' and 'build --host_cxxopt=-std=c++17' to your .bazelrc (Bazel's default is -std=c++0x). Other builds: compile with -std=c++17."
#endif
// clang-format on

#endif  // POOLKIT_ARCH_CXX17_REQUIRED_H_
