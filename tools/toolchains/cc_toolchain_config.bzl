"""A gcc cross toolchain for aarch64 Linux (Debian's g++-aarch64-linux-gnu).

One rule serves both atomics flavours; each toolchain target passes its own
-march flags, so the platform (through toolchain resolution) decides between
LL/SC and LSE code generation for everything that is built, not only poolkit.
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

_PREFIX = "/usr/bin/aarch64-linux-gnu-"

def _impl(ctx):
    tool_paths = [
        tool_path(name = name, path = _PREFIX + tool)
        for name, tool in [
            ("gcc", "gcc"),
            ("ld", "ld"),
            ("ar", "ar"),
            ("cpp", "cpp"),
            ("gcov", "gcov"),
            ("nm", "nm"),
            ("objdump", "objdump"),
            ("strip", "strip"),
        ]
    ]

    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    # Without these, gcc reports system headers by resolved
                    # paths that Bazel's inclusion check does not recognise.
                    "-no-canonical-prefixes",
                    "-fno-canonical-system-headers",
                    "-fstack-protector",
                    "-fno-omit-frame-pointer",
                ] + ctx.attr.march_flags),
            ],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [
                _flags(_LINK_ACTIONS, [
                    "-no-canonical-prefixes",
                    "-lstdc++",
                    "-lm",
                    "-pthread",
                ] + ctx.attr.march_flags),
            ],
        ),
        feature(
            name = "dbg",
            flag_sets = [_flags(_COMPILE_ACTIONS, ["-g", "-O0"])],
        ),
        feature(
            name = "opt",
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    "-O2",
                    "-DNDEBUG",
                    "-ffunction-sections",
                    "-fdata-sections",
                ]),
                _flags(_LINK_ACTIONS, ["-Wl,--gc-sections"]),
            ],
        ),
        feature(name = "supports_pic", enabled = True),
    ]

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        cxx_builtin_include_directories = [
            "/usr/aarch64-linux-gnu/include",
            "/usr/aarch64-linux-gnu/include/c++/12",
            "/usr/aarch64-linux-gnu/include/c++/12/aarch64-linux-gnu",
            "/usr/aarch64-linux-gnu/include/c++/12/backward",
            "/usr/lib/gcc-cross/aarch64-linux-gnu/12/include",
            "/usr/lib/gcc-cross/aarch64-linux-gnu/12/include-fixed",
            "/usr/include",
        ],
        toolchain_identifier = ctx.attr.toolchain_identifier,
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = "aarch64-unknown-linux-gnu",
        target_cpu = "aarch64",
        target_libc = "glibc",
        compiler = "gcc",
        abi_version = "gcc",
        abi_libc_version = "glibc",
        tool_paths = tool_paths,
    )

aarch64_gcc_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        "march_flags": attr.string_list(mandatory = True),
        "toolchain_identifier": attr.string(mandatory = True),
    },
    provides = [CcToolchainConfigInfo],
)
