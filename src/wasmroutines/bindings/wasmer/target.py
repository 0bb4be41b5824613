"""`wasmer.target`: target triples, CPU features and targets, as data.

wasmer used these to cross-compile; an interpreter has no code generator, so
they are accepted and reported, never needed. Parsing follows Rust's
target-lexicon (which wasmer used) closely enough for the names users write.

>>> from wasmroutines.wasmer import target
>>> t = target.Triple("x86_64-apple-darwin")
>>> t.architecture, t.vendor, t.operating_system, t.binary_format, t.environment
('x86_64', 'apple', 'darwin', 'macho', 'unknown')
>>> t.endianness, t.pointer_width, t.default_calling_convention
('little', 8, 'system_v')
"""

from __future__ import annotations

import platform
import sys

__all__ = ["CpuFeatures", "Target", "Triple"]

_ARCH_64 = {
    "x86_64", "x86_64h", "aarch64", "aarch64_be", "arm64", "riscv64", "riscv64gc", "riscv64imac", "wasm64",
    "powerpc64", "powerpc64le", "s390x", "mips64", "mips64el", "mipsisa64r6", "mipsisa64r6el", "sparc64",
    "sparcv9", "nvptx64", "loongarch64", "bpfel", "bpfeb",
}  # fmt: skip
_ARCH_32 = {
    "i386", "i586", "i686", "x86", "arm", "armeb", "armv4t", "armv5te", "armv6", "armv7", "armv7a", "armv7r",
    "armv7s", "armv7k", "armebv7r", "thumbv6m", "thumbv7em", "thumbv7m", "thumbv7neon", "thumbv8m.base",
    "thumbv8m.main", "riscv32", "riscv32i", "riscv32imac", "riscv32imc", "wasm32", "powerpc", "mips", "mipsel",
    "sparc", "asmjs", "hexagon", "m68k", "csky",
}  # fmt: skip
_ARCH_16 = {"msp430", "avr"}
_BIG_ENDIAN = {
    "aarch64_be", "armeb", "armebv7r", "powerpc", "powerpc64", "s390x", "mips", "mips64", "mipsisa64r6", "sparc",
    "sparc64", "sparcv9", "bpfeb", "m68k",
}  # fmt: skip
_VENDORS = {
    "unknown", "pc", "apple", "amd", "nvidia", "sun", "wrs", "uwp", "fortanix", "espressif", "ibm", "kmc",
    "nintendo", "sony", "experimental", "esp", "openwrt", "unikraft",
}  # fmt: skip
_OSES = {
    "unknown", "none", "linux", "darwin", "ios", "tvos", "watchos", "macosx", "windows", "freebsd", "netbsd",
    "openbsd", "dragonfly", "bitrig", "cloudabi", "wasi", "emscripten", "solaris", "illumos", "fuchsia", "redox",
    "haiku", "hermit", "l4re", "cuda", "uefi", "aix", "horizon", "espidf", "vxworks", "nebulet", "amdhsa",
    "psp", "xous", "android",
}  # fmt: skip
_ENVS = {
    "unknown", "gnu", "gnuabi64", "gnueabi", "gnueabihf", "gnuspe", "gnux32", "gnu_ilp32", "musl", "musleabi",
    "musleabihf", "muslabi64", "msvc", "android", "androideabi", "eabi", "eabihf", "sgx", "uclibc", "uclibceabi",
    "uclibceabihf", "newlib", "macabi", "sim", "kernel", "softfloat", "spe", "threads",
}  # fmt: skip
_BINFMTS = {"elf", "coff", "macho", "wasm", "xcoff", "unknown"}
_APPLE_OSES = {"darwin", "ios", "tvos", "watchos", "macosx"}
_SYSTEM_V_OSES = {
    "bitrig", "cloudabi", "dragonfly", "freebsd", "fuchsia", "haiku", "hermit", "l4re", "linux", "netbsd",
    "openbsd", "redox", "solaris", "illumos", "android",
}  # fmt: skip


def _arch_known(arch: str) -> bool:
    return arch in _ARCH_64 or arch in _ARCH_32 or arch in _ARCH_16


class Triple:
    """A target triple such as `x86_64-unknown-linux-gnu`.

    Unknown architectures raise ValueError. Properties give its parts and the
    facts that follow from them.

    >>> from wasmroutines.wasmer import target
    >>> t = target.Triple("x86_64-pc-windows-msvc")
    >>> t.operating_system, t.binary_format, t.environment, t.default_calling_convention
    ('windows', 'coff', 'msvc', 'windows_fastcall')
    >>> w = target.Triple("wasm32-unknown-unknown")
    >>> w.binary_format, w.pointer_width, w.default_calling_convention, str(w)
    ('wasm', 4, 'wasm_basic_c_abi', 'wasm32-unknown-unknown')
    >>> target.Triple("garbage")
    Traceback (most recent call last):
    ...
    ValueError: Unrecognized architecture: garbage
    """

    __slots__ = ("_arch", "_binfmt", "_env", "_explicit_binfmt", "_os", "_vendor")

    def __init__(self, triple: str) -> None:
        if not isinstance(triple, str):
            raise TypeError(f"'{type(triple).__name__}' object cannot be converted to 'PyString'")
        parts = triple.split("-")
        arch = parts.pop(0)
        if not _arch_known(arch):
            raise ValueError(f"Unrecognized architecture: {arch}")
        vendor = os = env = "unknown"
        binfmt: str | None = None
        if parts and (parts[0] not in _OSES or parts[0] in _VENDORS):  # "unknown" is both
            vendor = parts.pop(0)
        if parts:
            os = parts.pop(0)
            if os not in _OSES:
                raise ValueError(f"Unrecognized operating system: {os}")
        if parts and parts[0] in _ENVS:
            env = parts.pop(0)
        if parts and parts[0] in _BINFMTS:
            binfmt = parts.pop(0)
        if parts:
            raise ValueError(f"Unrecognized environment: {parts[0]}")
        self._arch = arch
        self._vendor = vendor
        self._os = os
        self._env = env
        self._explicit_binfmt = binfmt is not None
        self._binfmt = binfmt if binfmt is not None else self._default_binfmt()

    def _default_binfmt(self) -> str:
        if self._os == "none":
            return "elf" if self._env in ("eabi", "eabihf") else "unknown"
        if self._os == "aix":
            return "xcoff"
        if self._os in _APPLE_OSES:
            return "macho"
        if self._os == "windows":
            return "coff"
        if self._os in ("nebulet", "emscripten", "vxworks", "wasi", "unknown"):
            return "wasm" if self._arch in ("wasm32", "wasm64") else "unknown"
        return "elf"

    @staticmethod
    def host() -> Triple:
        """The triple of the machine running Python.

        >>> from wasmroutines.wasmer import target
        >>> target.Triple.host().pointer_width in (4, 8)
        True
        """
        machine = platform.machine().lower()
        arch = {"amd64": "x86_64", "arm64": "aarch64", "x86": "i686", "i386": "i686"}.get(machine, machine)
        if not _arch_known(arch):
            arch = "x86_64"  # pragma: no cover - an exotic host; the triple is report-only
        if sys.platform == "darwin":
            rest = "apple-darwin"
        elif sys.platform == "win32":
            rest = "pc-windows-msvc"
        else:
            rest = "unknown-linux-gnu"
        return Triple(f"{arch}-{rest}")

    @property
    def architecture(self) -> str:
        """The architecture, as written (`x86_64`, `aarch64`, `wasm32`)."""
        return self._arch

    @property
    def vendor(self) -> str:
        """The vendor (`unknown`, `pc`, `apple`)."""
        return self._vendor

    @property
    def operating_system(self) -> str:
        """The operating system (`linux`, `darwin`, `windows`, `unknown`)."""
        return self._os

    @property
    def environment(self) -> str:
        """The environment or ABI (`gnu`, `musl`, `msvc`, `unknown`)."""
        return self._env

    @property
    def binary_format(self) -> str:
        """The object file format (`elf`, `macho`, `coff`, `wasm`, `unknown`)."""
        return self._binfmt

    @property
    def endianness(self) -> str:
        """`'little'` or `'big'`."""
        return "big" if self._arch in _BIG_ENDIAN else "little"

    @property
    def pointer_width(self) -> int:
        """The width of a pointer, in bytes."""
        if self._arch in _ARCH_64:
            return 8
        return 2 if self._arch in _ARCH_16 else 4

    @property
    def default_calling_convention(self) -> str:
        """`'system_v'`, `'windows_fastcall'`, `'apple_aarch64'` or `'wasm_basic_c_abi'`.

        ValueError when the triple has none (e.g. `x86_64-unknown-unknown`).
        """
        if self._os in _APPLE_OSES:
            return "apple_aarch64" if self._arch in ("aarch64", "arm64") else "system_v"
        if self._os in _SYSTEM_V_OSES:
            return "system_v"
        if self._os == "windows":
            return "windows_fastcall"
        if self._os in ("nebulet", "emscripten", "wasi", "unknown") and self._arch in ("wasm32", "wasm64"):
            return "wasm_basic_c_abi"
        raise ValueError(f"no default calling convention for {self}")

    def __str__(self) -> str:
        text = f"{self._arch}-{self._vendor}-{self._os}"
        if self._env != "unknown":
            text += f"-{self._env}"
        if self._explicit_binfmt and self._binfmt != self._default_binfmt():
            text += f"-{self._binfmt}"
        return text

    def __repr__(self) -> str:
        return f"Triple({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Triple) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


CPU_FEATURES = (
    "sse2", "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "bmi", "bmi2", "avx2", "avx512dq", "avx512vl",
    "lzcnt",
)  # fmt: skip


class CpuFeatures:
    """A set of x86 CPU features a target may assume.

    >>> from wasmroutines.wasmer import target
    >>> f = target.CpuFeatures()
    >>> f.add("sse2"); f.add("avx")
    >>> f
    CpuFeatures(['sse2', 'avx'])
    >>> f.add("bogus")
    Traceback (most recent call last):
    ...
    ValueError: CpuFeature bogus not recognized
    """

    __slots__ = ("_features",)

    def __init__(self) -> None:
        self._features: list[str] = []

    def add(self, feature: str) -> None:
        """Add one feature by name (`sse2` ... `lzcnt`)."""
        if not isinstance(feature, str):
            raise TypeError(f"'{type(feature).__name__}' object cannot be converted to 'PyString'")
        if feature not in CPU_FEATURES:
            raise ValueError(f"CpuFeature {feature} not recognized")
        if feature not in self._features:
            self._features.append(feature)

    def __repr__(self) -> str:
        return f"CpuFeatures({self._features!r})"


class Target:
    """A triple and the CPU features to compile for: accepted by engines, reported, never needed.

    >>> from wasmroutines.wasmer import target
    >>> t = target.Target(target.Triple("aarch64-unknown-linux-gnu"))
    >>> str(t.triple), t.triple.binary_format, t.triple.environment
    ('aarch64-unknown-linux-gnu', 'elf', 'gnu')
    """

    __slots__ = ("_cpu_features", "_triple")

    def __init__(self, triple: Triple, cpu_features: CpuFeatures | None = None) -> None:
        if not isinstance(triple, Triple):
            raise TypeError(f"'{type(triple).__name__}' object cannot be converted to 'Triple'")
        if cpu_features is not None and not isinstance(cpu_features, CpuFeatures):
            raise TypeError(f"'{type(cpu_features).__name__}' object cannot be converted to 'CpuFeatures'")
        self._triple = triple
        self._cpu_features = cpu_features

    @property
    def triple(self) -> Triple:
        """The target's triple (an addition to wasmer's API)."""
        return self._triple

    @property
    def cpu_features(self) -> CpuFeatures | None:
        """The target's CPU features, or None (an addition to wasmer's API)."""
        return self._cpu_features

    def __repr__(self) -> str:
        return f"Target({self._triple!r}, {self._cpu_features!r})"
