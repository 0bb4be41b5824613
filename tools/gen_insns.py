#!/usr/bin/env python3
"""Generate the instruction tables and dispatch cases from insns/*.def.

Every internal instruction is defined once, in src/wasmroutines/_native/insns/:

    insn i32_add 0x6A "i32.add" (i32 a, i32 b -> i32 r) {
        r = a + b;
    }

    insn NAME OPCODE ["wasm.name"] (INPUTS -> OUTPUTS) [IMMEDIATES] [FLAGS] {
    BODY
    }

NAME is the C name (the wasm name with '.' -> '_', so one grep finds the
definition and every use). OPCODE is `0x6A`, `0xFC:12` (prefix:subopcode) or
`-` for internal-only instructions. INPUTS and OUTPUTS are typed slot
operands: i32 i64 f32 f64 ref v128 (C types u32 u64 float double u64
wr_v128). IMMEDIATES are `[u32 name, i32 name, u64 name]` words after the
slots, or `memarg(N)` (a u32 `offset`, natural alignment N bytes; every
memarg instruction also gets an any-memory variant NAME__mx, see
mx_variant). FLAGS:

    control   the body sets pc itself (branches, calls); otherwise the
              generated code advances pc past the instruction
    memory    needs memory 0 (the validator checks it exists)
    noacc     the output may arrive after the instruction suspends (written into
              its slot by someone else), so it is not left in the accumulator
    commutative  the two inputs may be swapped (the translator does, to read
              the one just computed from the accumulator)
    manual    the translator handles this opcode by hand (its immediates or
              typing are not the generic kind), so it is left out of the
              wr_opinfo table

The body closes with `}` alone at the start of a line. Inside it, TRAP(NAME) traps
with a WR_TRAP_LIST name (TRAP_CODE(expr) with a code computed at run time), and the
interp's macros (wr_interp.c) are available.

Fused instructions (superinstructions) are declared, never written:

    fuse br_if_i32_lt_s = i32_lt_s + br_if

makes one instruction that runs the first body, feeds its output to the
second's first input, then runs the second body: inputs are the first's
inputs then the second's remaining ones, immediates the first's then the
second's. wr_fuse(first, second) (generated) tells the translator which
pairs exist.

Sequences are the other kind of superinstruction:

    seq i32_add + i32_load

names one op that runs the whole first instruction, then the whole second one,
with one dispatch for both (`seq a + b + c` runs three, and makes `a + b` too).
Its op word replaces the first's and the others keep their own words, op word
included, so nothing else changes: operands, branch offsets, the later
instructions as branch targets or places to resume after a suspension or to
report a trap at. All but the last must fall through (no `control`); any may
be an accumulator variant (`__acc`). The translator rewrites op words in a
final pass (wr_seq(sequence so far, next)).

Outputs:
    wr_insn_gen.h      enum wr_op, sizes, names, wasm opcode tables
    wr_insn_gen.c      the tables
    wr_interp_gen.inc  one TARGET(...) case per instruction

`--check` exits non-zero when the committed outputs are stale (CI runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

NATIVE = Path(__file__).resolve().parent.parent / "src" / "wasmroutines" / "_native"

SLOT_TYPES = {
    "i32": ("uint32_t", "WR_I32", "SLOT_I32", "SET_I32", 1),
    "i64": ("uint64_t", "WR_I64", "SLOT_I64", "SET_I64", 1),
    "f32": ("float", "WR_F32", "SLOT_F32", "SET_F32", 1),
    "f64": ("double", "WR_F64", "SLOT_F64", "SET_F64", 1),
    "ref": ("uint64_t", "0", "SLOT_I64", "SET_I64", 1),
    "v128": ("wr_v128", "WR_V128", "SLOT_V128", "SET_V128", 1),
}
IMM_TYPES = {"u32": "uint32_t", "i32": "int32_t", "u64": "uint64_t"}
PREFIXES = {"": 0, "0xFC": 1, "0xFD": 2, "0xFE": 3}

HEADER_RE = re.compile(
    r"^insn\s+(?P<name>\w+)\s+(?P<opcode>-|0x[0-9A-Fa-f]+(?::(?:0x)?[0-9A-Fa-f]+)?)"
    r'(?:\s+"(?P<wasm>[^"]+)")?\s*\((?P<ins>[^)]*?)\s*->\s*(?P<outs>[^)]*)\)'
    r"\s*(?P<rest>.*?)\{\s*$"
)


@dataclass
class Operand:
    type: str
    name: str


@dataclass
class Insn:
    name: str
    prefix: int | None  # None: internal only
    code: int
    wasm: str
    inputs: list[Operand]
    outputs: list[Operand]
    imms: list[Operand]
    memarg_align: int  # 0: no memarg
    lanes: int  # lane(N) immediate: a lane index below N; 0: none
    v128imm: bool  # a 16-byte immediate (v128imm): words imm_lo, imm_hi
    flags: set[str]
    body: list[str]
    source: str
    line: int
    fused: tuple[str, str] | None = None
    acc_of: str | None = None  # this is the accumulator variant of that instruction
    seq: list[Insn] | None = None  # runs these whole instructions in a row
    mx_of: str | None = None  # this is the any-memory variant of that memarg instruction
    number: int = 0
    size: int = field(init=False, default=0)


def parse_operands(text: str, where: str) -> list[Operand]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        bits = part.split()
        if len(bits) != 2 or bits[0] not in SLOT_TYPES:
            raise SystemExit(f"{where}: bad operand {part!r}")
        out.append(Operand(bits[0], bits[1]))
    return out


FUSE_RE = re.compile(r"^fuse\s+(\w+)\s*=\s*(\w+)\s*\+\s*(\w+)\s*$")
SEQ_RE = re.compile(r"^seq\s+(\w+(?:\s*\+\s*\w+)+)\s*$")


def parse_file(
    path: Path, fusions: list[tuple[str, str, str, str, int]], seqs: list[tuple[list[str], str, int]]
) -> list[Insn]:
    insns = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{path.name}:{i + 1}"
        if line.startswith("seq"):
            sm = SEQ_RE.match(line)
            if not sm:
                raise SystemExit(f"{where}: cannot parse {line!r}")
            seqs.append(([part.strip() for part in sm[1].split("+")], path.name, i + 1))
            i += 1
            continue
        if line.startswith("fuse"):
            fm = FUSE_RE.match(line)
            if not fm:
                raise SystemExit(f"{where}: cannot parse {line!r}")
            fusions.append((fm[1], fm[2], fm[3], path.name, i + 1))
            i += 1
            continue
        if not line.startswith("insn"):
            i += 1
            continue
        m = HEADER_RE.match(line)
        if not m:
            raise SystemExit(f"{where}: cannot parse {line!r}")
        opcode = m["opcode"]
        if opcode == "-":
            prefix, code = None, 0
        elif ":" in opcode:
            p, c = opcode.split(":")
            p = p.upper().replace("0X", "0x")
            if p not in PREFIXES:
                raise SystemExit(f"{where}: unknown opcode prefix {p} (known: 0xFC, 0xFD, 0xFE)")
            prefix, code = PREFIXES[p], int(c, 0)
        else:
            prefix, code = 0, int(opcode, 16)
        rest = m["rest"].strip()
        imms: list[Operand] = []
        memarg = 0
        im = re.search(r"\[([^\]]*)\]", rest)
        if im:
            for part in filter(None, (p.strip() for p in im[1].split(","))):
                bits = part.split()
                if len(bits) != 2 or bits[0] not in IMM_TYPES:
                    raise SystemExit(f"{where}: bad immediate {part!r}")
                imms.append(Operand(bits[0], bits[1]))
            rest = rest[: im.start()] + rest[im.end() :]
        mm = re.search(r"memarg\((\d+)\)", rest)
        if mm:
            memarg = int(mm[1])
            imms.insert(0, Operand("u32", "offset"))
            rest = rest[: mm.start()] + rest[mm.end() :]
        lanes = 0
        lm = re.search(r"lane\((\d+)\)", rest)
        if lm:
            lanes = int(lm[1])
            imms.append(Operand("u32", "lane"))
            rest = rest[: lm.start()] + rest[lm.end() :]
        v128imm = "v128imm" in rest.split()
        if v128imm:
            imms += [Operand("u64", "imm_lo"), Operand("u64", "imm_hi")]
            rest = " ".join(w for w in rest.split() if w != "v128imm")
        flags = set(rest.split())
        unknown = flags - {"control", "memory", "manual", "commutative", "noacc"}
        if unknown:
            raise SystemExit(f"{where}: unknown flags {unknown}")
        body = []
        i += 1
        while i < len(lines) and lines[i] != "}":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise SystemExit(f"{where}: body of {m['name']} never closes")
        insns.append(
            Insn(
                name=m["name"],
                prefix=prefix,
                code=code,
                wasm=m["wasm"] or m["name"],
                inputs=parse_operands(m["ins"], where),
                outputs=parse_operands(m["outs"], where),
                imms=imms,
                memarg_align=memarg,
                lanes=lanes,
                v128imm=v128imm,
                flags=flags,
                body=body,
                source=path.name,
                line=int(where.split(":")[1]),
            )
        )
        i += 1
    return insns


def fuse(name: str, first: Insn, second: Insn, source: str, line: int) -> Insn:
    where = f"{source}:{line}"
    if len(first.outputs) != 1 or not second.inputs:
        raise SystemExit(f"{where}: {first.name} must have one output and {second.name} an input")
    fed = second.inputs[0]
    if fed.type != first.outputs[0].type:
        raise SystemExit(f"{where}: {first.name} produces {first.outputs[0].type}, {second.name} takes {fed.type}")
    names = [o.name for o in first.inputs + first.outputs + first.imms]
    clash = set(names) & {o.name for o in second.inputs + second.outputs + second.imms}
    if clash:
        raise SystemExit(f"{where}: operand names {sorted(clash)} clash in {first.name} and {second.name}")
    ctype = SLOT_TYPES[fed.type][0]
    out = first.outputs[0]
    body = [f"    {SLOT_TYPES[out.type][0]} {out.name};", "    {", *first.body, "    }"]
    body += [f"    {ctype} {fed.name} = {out.name};", *second.body]
    return Insn(
        name=name,
        prefix=None,
        code=0,
        wasm=f"{first.wasm}+{second.wasm}",
        inputs=first.inputs + second.inputs[1:],
        outputs=second.outputs,
        imms=first.imms + second.imms,
        memarg_align=0,
        lanes=0,
        v128imm=False,
        flags=set(second.flags) - {"manual"},
        body=body,
        source=source,
        line=line,
        fused=(first.name, second.name),
    )


#: float ops whose inputs the translator may swap too (their .def files belong to the float semantics): the
#: result is the same either way, up to which input's NaN payload a NaN result carries, which wasm leaves open
FLOAT_COMMUTATIVE = {f"{t}_{op}" for t in ("f32", "f64") for op in ("add", "mul", "eq", "ne")}

ACC_TYPES = {"i32": "ACC_I32", "i64": "ACC_I64", "f32": "ACC_F32", "f64": "ACC_F64"}


def takes_acc(insn: Insn) -> bool:
    """Instructions that get an accumulator variant: plain and fused ops whose first input is a number.

    Not the splats (a number in, a vector out, nothing else): GCC hoists a splat of the accumulator
    into every handler, so the whole loop would pay two instructions per dispatch for them. Not the atomic
    accesses either: a locked access costs far more than the load a variant spares, and their 66 variants
    would grow the run loop past the size where GCC allocates its registers well (docs/interpreter.md)."""
    if insn.outputs and insn.outputs[0].type == "v128" and not insn.memarg_align and len(insn.inputs) == 1:
        return False
    if any(re.search(r"\bATOMIC_MEM\b", line) for line in insn.body):
        return False
    return bool(insn.inputs) and insn.inputs[0].type in ACC_TYPES and (generic(insn) or insn.fused is not None)


def acc_variant(insn: Insn) -> Insn:
    """The same instruction reading its first input from the accumulator register.

    Every instruction with a numeric output also leaves it in the accumulator, so when an
    instruction consumes the value its predecessor just computed (no label between them), the
    translator picks this variant and the value skips the round trip through the frame.
    """
    return Insn(
        name=f"{insn.name}__acc",
        prefix=None,
        code=0,
        wasm=insn.wasm,
        inputs=insn.inputs,
        outputs=insn.outputs,
        imms=insn.imms,
        memarg_align=insn.memarg_align,
        lanes=insn.lanes,
        v128imm=insn.v128imm,
        flags=set(insn.flags) - {"manual"},
        body=insn.body,
        source=insn.source,
        line=insn.line,
        acc_of=insn.name,
    )


#: What a memarg instruction's body names, and what its any-memory variant names instead (wr_interp.c).
MX_MACROS = {"MEM": "MEMX", "ATOMIC_MEM": "ATOMIC_MEMX", "MEM_OBJ": "MEM_OBJX"}


def mx_variant(insn: Insn) -> Insn:
    """The same memarg instruction on any memory: a memory index other than 0 or a 64-bit memory.

    The plain form keeps memory 0 of 32-bit addresses, its base and size cached in registers (one compare per
    access). This one takes a `memx` immediate (the memory index, WR_MEMX_64 when its addresses are i64),
    a 64-bit offset, an address read as 64 bits (or its low 32 for a 32-bit memory), and checks the access
    against the memory object with overflow-safe arithmetic. Its body is the plain one with MEM, ATOMIC_MEM
    and MEM_OBJ renamed to their any-memory forms, so the instruction is still written once.
    """
    body = [re.sub(r"\b(MEM|ATOMIC_MEM|MEM_OBJ)\b", lambda m: MX_MACROS[m[1]], line) for line in insn.body]
    imms = [Operand("u64", "offset")] + [o for o in insn.imms if o.name != "offset"] + [Operand("u32", "memx")]
    return Insn(
        name=f"{insn.name}__mx",
        prefix=None,
        code=0,
        wasm=insn.wasm,
        inputs=insn.inputs,
        outputs=insn.outputs,
        imms=imms,
        memarg_align=insn.memarg_align,
        lanes=insn.lanes,
        v128imm=insn.v128imm,
        flags=set(insn.flags) - {"manual"},
        body=body,
        source=insn.source,
        line=insn.line,
        mx_of=insn.name,
    )


def sequence(parts: list[Insn], source: str, line: int) -> Insn:
    """The superinstruction running `parts` in a row, each whole (see the module docstring)."""
    for part in parts[:-1]:
        if "control" in part.flags:
            raise SystemExit(f"{source}:{line}: {part.name} does not fall through, only the last in a seq may")
    return Insn(
        name="seq__" + "__".join(part.name for part in parts),
        prefix=None,
        code=0,
        wasm=";".join(part.wasm for part in parts),
        inputs=[],
        outputs=[],
        imms=[],
        memarg_align=0,
        lanes=0,
        v128imm=False,
        flags={"control"},
        body=[],
        source=source,
        line=line,
        seq=parts,
    )


def load(insn_dir: Path) -> list[Insn]:
    insns: list[Insn] = []
    fusions: list[tuple[str, str, str, str, int]] = []
    seqs: list[tuple[list[str], str, int]] = []
    for path in sorted(insn_dir.glob("*.def")):
        insns.extend(parse_file(path, fusions, seqs))
    by_name = {insn.name: insn for insn in insns}
    for name, a, b, source, line in fusions:
        if a not in by_name or b not in by_name:
            raise SystemExit(f"{source}:{line}: unknown instruction in fuse {name}")
        insns.append(fuse(name, by_name[a], by_name[b], source, line))
    insns += [acc_variant(insn) for insn in insns if takes_acc(insn)]
    insns += [mx_variant(insn) for insn in insns if insn.memarg_align and insn.prefix is not None]
    by_name = {insn.name: insn for insn in insns}
    for names, source, line in seqs:
        unknown = [name for name in names if name not in by_name or by_name[name].seq]
        if unknown:
            raise SystemExit(f"{source}:{line}: unknown instruction in seq: {', '.join(unknown)}")
        # Every prefix is an op too: the translator extends a sequence one instruction at a time.
        for n in range(2, len(names) + 1):
            seq = sequence([by_name[name] for name in names[:n]], source, line)
            if seq.name not in by_name:
                by_name[seq.name] = seq
                insns.append(seq)
    seen: dict[str, Insn] = {}
    opcodes: dict[tuple[int, int], Insn] = {}
    for n, insn in enumerate(insns, start=1):
        if insn.name in seen:
            raise SystemExit(f"{insn.source}:{insn.line}: {insn.name} defined twice")
        seen[insn.name] = insn
        if insn.prefix is not None:
            key = (insn.prefix, insn.code)
            if key in opcodes:
                raise SystemExit(f"{insn.source}:{insn.line}: opcode of {insn.name} taken by {opcodes[key].name}")
            opcodes[key] = insn
        insn.number = n
        insn.size = 1 + len(insn.inputs) + len(insn.outputs) + sum(2 if o.type == "u64" else 1 for o in insn.imms)
    for insn in insns:
        if insn.seq:
            insn.size = insn.seq[0].size  # the words it stands for; the other instructions' follow
    return insns


GEN_NOTE = "/* Generated by tools/gen_insns.py from insns/NAME.def. Do not edit. */\n"


def gen_header(insns: list[Insn]) -> str:
    out = [GEN_NOTE, "#ifndef WR_INSN_GEN_H", "#define WR_INSN_GEN_H", "", "#include <stdint.h>", ""]
    out.append("enum wr_op {")
    out.append("    WR_OP_invalid = 0,")
    for insn in insns:
        out.append(f"    WR_OP_{insn.name} = {insn.number},")
    out.append(f"    WR_OP_COUNT = {len(insns) + 1},")
    out.append("};")
    out.append("")
    out.append("/* Instruction size in words, op word included. */")
    out.append("extern const uint8_t wr_op_size[WR_OP_COUNT];")
    out.append("extern const char *const wr_op_name[WR_OP_COUNT];")
    out.append("")
    out.append("enum { WR_OPF_MEMORY = 1, WR_OPF_CONTROL = 2 };")
    out.append("")
    out.append("/* How a wasm opcode with only slot operands (and maybe a memarg) is")
    out.append(" * validated and translated; op == 0 where the translator handles the")
    out.append(" * opcode by hand or it does not exist. */")
    out.append("typedef struct wr_opinfo {")
    out.append("    uint16_t op;")
    out.append("    uint8_t nin, nout;")
    out.append("    uint8_t in[3];")
    out.append("    uint8_t out[1];")
    out.append("    uint8_t memarg_align; /* natural alignment in bytes, 0: no memarg */")
    out.append("    uint8_t lanes;        /* lane index immediate below this, 0: none */")
    out.append("    uint8_t v128imm;      /* a 16-byte immediate follows */")
    out.append("    uint8_t flags;")
    out.append("} wr_opinfo;")
    out.append("")
    out.append("/* Indexed by [prefix][opcode]: prefix 0 none, 1 0xFC, 2 0xFD, 3 0xFE. */")
    out.append("#define WR_OPINFO_PREFIXES 4")
    out.append("#define WR_OPINFO_CODES 512")
    out.append("extern const wr_opinfo wr_wasm_ops[WR_OPINFO_PREFIXES][WR_OPINFO_CODES];")
    out.append("")
    out.append("/* Accumulator variants (tools/gen_insns.py, acc_variant): the variant of op reading its")
    out.append(" * first input from the accumulator, or 0; the op a variant was made from, or the op")
    out.append(" * itself; the value type an op leaves in the accumulator, or 0; its first input's type. */")
    out.append("extern const uint16_t wr_op_acc[WR_OP_COUNT];")
    out.append("extern const uint16_t wr_op_acc_base[WR_OP_COUNT];")
    out.append("extern const uint8_t wr_op_acc_out[WR_OP_COUNT];")
    out.append("extern const uint8_t wr_op_in0[WR_OP_COUNT];")
    out.append("extern const uint8_t wr_op_commutative[WR_OP_COUNT];")
    out.append("/* The any-memory variant of a memarg op (tools/gen_insns.py, mx_variant), or 0. Its immediates: the")
    out.append(" * offset as two words (low first), the plain op's others, then memx: the memory index, | WR_MEMX_64")
    out.append(" * for a 64-bit memory. */")
    out.append("extern const uint16_t wr_op_mx[WR_OP_COUNT];")
    out.append("#define WR_MEMX_64 0x80000000u")
    out.append("#define WR_MEMX_INDEX 0x7FFFFFFFu")
    out.append("/* 1 for ops that always continue with the next instruction (not `control`). */")
    out.append("extern const uint8_t wr_op_falls_through[WR_OP_COUNT];")
    out.append("")
    out.append("/* The fused op running `first` then `second` (fuse lines in insns/), or 0. */")
    out.append("unsigned wr_fuse(unsigned first, unsigned second);")
    out.append("")
    out.append("/* The op running all of `first` then all of `second` (seq lines in insns/), or 0. */")
    out.append("unsigned wr_seq(unsigned first, unsigned second);")
    out.append("")
    out.append("/* Every op in wr_op order, for building dispatch tables. */")
    out.append("#define WR_OP_LIST(X) \\")
    out.append("    X(invalid) \\")
    for insn in insns:
        out.append(f"    X({insn.name}) \\")
    out.append("")
    out.append("#endif /* WR_INSN_GEN_H */")
    return "\n".join(out) + "\n"


def generic(insn: Insn) -> bool:
    return (
        insn.prefix is not None
        and "control" not in insn.flags
        and "manual" not in insn.flags
        and len(insn.inputs) <= 3
        and len(insn.outputs) <= 1
        and all(o.type != "ref" for o in insn.inputs + insn.outputs)
        and all(o.name in ("offset", "lane", "imm_lo", "imm_hi") for o in insn.imms)
    )


def pair_switch(func: str, pairs: list[tuple[str, str, str]]) -> list[str]:
    """A function mapping (first, second) op numbers to the op made of them, or 0."""
    out = [f"unsigned {func}(unsigned first, unsigned second)", "{", "    switch (first) {"]
    by_first: dict[str, list[tuple[str, str]]] = {}
    for first, second, name in pairs:
        by_first.setdefault(first, []).append((second, name))
    for first, seconds in by_first.items():
        out.append(f"    case WR_OP_{first}:")
        out.append("        switch (second) {")
        for second, name in seconds:
            out.append(f"        case WR_OP_{second}:")
            out.append(f"            return WR_OP_{name};")
        out.append("        default:")
        out.append("            return 0;")
        out.append("        }")
    out.append("    default:")
    out.append("        return 0;")
    out.append("    }")
    out.append("}")
    out.append("")
    return out


def gen_tables(insns: list[Insn]) -> str:
    out = [GEN_NOTE, '#include "wr_insn_gen.h"', '#include "wr_types.h"', ""]
    out.append("const uint8_t wr_op_size[WR_OP_COUNT] = {")
    out.append("    [WR_OP_invalid] = 1,")
    for insn in insns:
        out.append(f"    [WR_OP_{insn.name}] = {insn.size},")
    out.append("};")
    out.append("")
    out.append("const char *const wr_op_name[WR_OP_COUNT] = {")
    out.append('    [WR_OP_invalid] = "invalid",')
    for insn in insns:
        out.append(f'    [WR_OP_{insn.name}] = "{insn.wasm}",')
    out.append("};")
    out.append("")
    by_name = {insn.name: insn for insn in insns}
    out.append("const uint16_t wr_op_acc[WR_OP_COUNT] = {")
    for insn in insns:
        if insn.acc_of:
            out.append(f"    [WR_OP_{insn.acc_of}] = WR_OP_{insn.name},")
    out.append("};")
    out.append("")
    out.append("const uint16_t wr_op_acc_base[WR_OP_COUNT] = {")
    for insn in insns:
        base = insn.acc_of or insn.name
        out.append(f"    [WR_OP_{insn.name}] = WR_OP_{base},")
    out.append("};")
    out.append("")
    out.append("const uint8_t wr_op_acc_out[WR_OP_COUNT] = {")
    for insn in insns:
        if len(insn.outputs) == 1 and insn.outputs[0].type in ACC_TYPES and "noacc" not in insn.flags:
            out.append(f"    [WR_OP_{insn.name}] = {SLOT_TYPES[insn.outputs[0].type][1]},")
    out.append("};")
    out.append("")
    out.append("const uint8_t wr_op_in0[WR_OP_COUNT] = {")
    for insn in insns:
        if insn.inputs and insn.inputs[0].type in ACC_TYPES:
            out.append(f"    [WR_OP_{insn.name}] = {SLOT_TYPES[insn.inputs[0].type][1]},")
    out.append("};")
    out.append("")
    del by_name
    out.append("const uint8_t wr_op_commutative[WR_OP_COUNT] = {")
    for insn in insns:
        if "commutative" in insn.flags or insn.name in FLOAT_COMMUTATIVE:
            out.append(f"    [WR_OP_{insn.name}] = 1,")
    out.append("};")
    out.append("")
    out.append("const uint16_t wr_op_mx[WR_OP_COUNT] = {")
    for insn in insns:
        if insn.mx_of:
            out.append(f"    [WR_OP_{insn.mx_of}] = WR_OP_{insn.name},")
    out.append("};")
    out.append("")
    out.append("const uint8_t wr_op_falls_through[WR_OP_COUNT] = {")
    for insn in insns:
        if "control" not in insn.flags:
            out.append(f"    [WR_OP_{insn.name}] = 1,")
    out.append("};")
    out.append("")
    pairs = [(i.fused[0], i.fused[1], i.name) for i in insns if i.fused]
    out += pair_switch("wr_fuse", pairs)
    prefix = {tuple(p.name for p in i.seq): i.name for i in insns if i.seq}
    pairs = []
    for i in insns:
        if i.seq:
            head = i.seq[0].name if len(i.seq) == 2 else prefix[tuple(p.name for p in i.seq[:-1])]
            pairs.append((head, i.seq[-1].name, i.name))
    out += pair_switch("wr_seq", pairs)
    out.append("const wr_opinfo wr_wasm_ops[WR_OPINFO_PREFIXES][WR_OPINFO_CODES] = {")
    for insn in insns:
        if not generic(insn):
            continue
        ins = ", ".join(SLOT_TYPES[o.type][1] for o in insn.inputs) or "0"
        outs = ", ".join(SLOT_TYPES[o.type][1] for o in insn.outputs) or "0"
        flags = "WR_OPF_MEMORY" if "memory" in insn.flags or insn.memarg_align else "0"
        out.append(
            f"    [{insn.prefix}][0x{insn.code:02X}] = {{WR_OP_{insn.name}, {len(insn.inputs)}, "
            f"{len(insn.outputs)}, {{{ins}}}, {{{outs}}}, {insn.memarg_align}, {insn.lanes}, "
            f"{int(insn.v128imm)}, {flags}}}, /* {insn.wasm} */"
        )
    out.append("};")
    return "\n".join(out) + "\n"


def handler_lines(insn: Insn, dispatch: bool = True) -> list[str]:
    """The statements of one instruction's handler, `pc` at its op word; `dispatch`: end by dispatching the next
    one (instructions that set pc themselves always do)."""
    out = []
    w = 1
    for k, o in enumerate(insn.inputs):
        ctype, _, get, _, _ = SLOT_TYPES[o.type]
        if k == 0 and insn.acc_of:
            out.append(f"    {ctype} {o.name} = {ACC_TYPES[o.type]};")
        elif k == 0 and insn.mx_of:
            out.append(f"    uint64_t {o.name} = SLOT_I64(pc[{w}]);")
        else:
            out.append(f"    {ctype} {o.name} = {get}(pc[{w}]);")
        w += 1
    out_words = {}
    for o in insn.outputs:
        ctype = SLOT_TYPES[o.type][0]
        out.append(f"    {ctype} {o.name};")
        out_words[o.name] = w
        w += 1
    for o in insn.imms:
        ctype = IMM_TYPES[o.type]
        if o.type == "u64":
            out.append(f"    uint64_t {o.name} = (uint64_t)pc[{w}] | ((uint64_t)pc[{w + 1}] << 32);")
            w += 2
        else:
            out.append(f"    {ctype} {o.name} = ({ctype})pc[{w}];")
            w += 1
    if insn.mx_of:  # a 32-bit memory's address is the low half of its slot
        out.append(f"    if (!(memx & WR_MEMX_64)) {insn.inputs[0].name} = (uint32_t){insn.inputs[0].name};")
    out.append(f"    enum {{ insn_size = {insn.size} }};")
    for o in insn.inputs + insn.imms:
        out.append(f"    (void){o.name};")
    out.append("    {")
    out.extend(insn.body)
    out.append("    }")
    for o in insn.outputs:
        setter = SLOT_TYPES[o.type][3]
        out.append(f"    {setter}(pc[{out_words[o.name]}], {o.name});")
        if o.type in ACC_TYPES:
            out.append(f"    SET_{ACC_TYPES[o.type]}({o.name});")
    if "control" not in insn.flags:
        out.append("    pc += insn_size;")
        if dispatch:
            out.append("    NEXT();")
    return out


def gen_cases(insns: list[Insn]) -> str:
    out = [GEN_NOTE]
    out.append("/* Included by wr_interp.c inside the dispatch loop. */")
    out.append("")
    for insn in insns:
        out.append(f"/* {insn.wasm}  ({insn.source}:{insn.line}) */")
        out.append(f"TARGET({insn.name}) {{")
        if insn.seq:
            for k, part in enumerate(insn.seq):
                dispatch = k == len(insn.seq) - 1
                out.append("    {")
                out.extend("    " + line if line else line for line in handler_lines(part, dispatch))
                out.append("    }")
        else:
            out.extend(handler_lines(insn))
        out.append("}")
        out.append("")
    return "\n".join(out) + "\n"


def generate(insn_dir: Path) -> dict[str, str]:
    """The generated files, by name, from the .def files in `insn_dir` (a function so tests can run it on
    their own small .def files; malformed input raises SystemExit with file:line and what is wrong)."""
    insns = load(insn_dir)
    return {
        "wr_insn_gen.h": gen_header(insns),
        "wr_insn_gen.c": gen_tables(insns),
        "wr_interp_gen.inc": gen_cases(insns),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed outputs are stale")
    args = ap.parse_args()
    outputs = {NATIVE / name: text for name, text in generate(NATIVE / "insns").items()}
    stale = []
    for path, text in outputs.items():
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(path.name)
        else:
            path.write_text(text)
    if stale:
        print("stale generated files (run tools/gen_insns.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
