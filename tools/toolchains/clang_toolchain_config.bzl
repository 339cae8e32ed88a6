"""clang 14 for x86-64 Linux (Debian's clang-14), for the fuzzing build.

Picked by toolchain resolution for platforms with the //tools/platforms:clang
constraint (--config=fuzz); every other host build keeps the default gcc
toolchain. libFuzzer and the sanitizer runtimes come with libclang-rt-14-dev.
"""

load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "tool_path",
)
load("@rules_cc//cc:defs.bzl", "cc_common")
load(
    ":toolchain_common.bzl",
    _COMPILE_ACTIONS = "COMPILE_ACTIONS",
    _LINK_ACTIONS = "LINK_ACTIONS",
    _flags = "flags_for",
)

def _impl(ctx):
    tools = {
        "ar": "/usr/bin/llvm-ar-14",
        "cpp": "/usr/bin/clang-cpp-14",
        "gcc": "/usr/bin/clang-14",
        "gcov": "/usr/bin/llvm-cov-14",
        "ld": "/usr/bin/ld",
        "nm": "/usr/bin/llvm-nm-14",
        "objdump": "/usr/bin/llvm-objdump-14",
        "strip": "/usr/bin/strip",
    }
    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    "-no-canonical-prefixes",
                    "-fstack-protector",
                    "-fno-omit-frame-pointer",
                    # Debian's Abseil was built with gcc; clang reads the same
                    # headers. It warns on gcc-only attributes in them.
                    "-Wno-unknown-warning-option",
                ]),
            ],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [
                _flags(_LINK_ACTIONS, [
                    "-no-canonical-prefixes",
                    "-fuse-ld=bfd",
                    "-lstdc++",
                    "-lm",
                    "-pthread",
                ]),
            ],
        ),
        feature(
            name = "dbg",
            flag_sets = [_flags(_COMPILE_ACTIONS, ["-g", "-O0"])],
        ),
        feature(
            name = "opt",
            flag_sets = [_flags(_COMPILE_ACTIONS, ["-O2", "-DNDEBUG"])],
        ),
        feature(name = "supports_pic", enabled = True),
    ]
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = [
            "/usr/include/c++/12",
            "/usr/include/x86_64-linux-gnu/c++/12",
            "/usr/include/c++/12/backward",
            "/usr/lib/llvm-14/lib/clang/14.0.6/include",
            "/usr/lib/llvm-14/lib/clang/14.0.6/share",
            # The same directory as clang reports it (a symlink).
            "/usr/lib/clang/14.0.6/include",
            "/usr/lib/clang/14.0.6/share",
            "/usr/local/include",
            "/usr/include/x86_64-linux-gnu",
            "/usr/include",
        ],
        toolchain_identifier = "x86_64-clang-14",
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = "x86_64-unknown-linux-gnu",
        target_cpu = "k8",
        target_libc = "glibc",
        compiler = "clang",
        abi_version = "clang",
        abi_libc_version = "glibc",
        tool_paths = [tool_path(name = k, path = v) for k, v in tools.items()],
    )

x86_64_clang_toolchain_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
